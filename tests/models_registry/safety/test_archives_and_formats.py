"""Archive hygiene, MLflow zips, skops, ONNX and extension/content mismatches."""

import io
import pickle
import zipfile

import numpy as np
import pytest
import skops.io as sio

from models_registry.safety import ScanLimits

from . import payloads as p
from .test_pickle_payloads import assert_refused, scan


class CustomScorer:
    """A user-defined class: skops must not trust it by default."""

    def __init__(self, factor=2):
        self.factor = factor


def mlflow_zip(
    artifact_bytes, *, artifact="model.pkl", serialization="cloudpickle", prefix="model/", extra=None, mlmodel=None
):
    members = {
        f"{prefix}MLmodel": mlmodel or p.mlmodel_yaml(artifact, serialization),
        f"{prefix}{artifact}": artifact_bytes,
        f"{prefix}requirements.txt": b"scikit-learn==1.9.1\n",
        f"{prefix}python_env.yaml": b"python: 3.11.9\n",
    }
    members.update(extra or {})
    return p.zip_bytes(members)


def test_mlflow_zip_whose_sklearn_artifact_is_malicious_is_refused_and_names_the_artifact(write, sentinel):
    report = scan(write, "mlflow-model.zip", mlflow_zip(pickle.dumps(p.OsSystem(sentinel))))
    assert_refused(report, "unsafe_global", "model/model.pkl")
    assert report.detected_format == "mlflow"
    assert report.inner_artifact == {
        "path": "model/model.pkl",
        "flavor": "sklearn",
        "serialization_format": "cloudpickle",
        "format": "pickle",
    }


def test_mlflow_zip_with_a_path_traversal_member_is_refused(write, logistic_regression):
    data = mlflow_zip(pickle.dumps(logistic_regression), extra={"../../etc/cron.d/evil": b"* * * * * id"})
    assert_refused(scan(write, "model.zip", data), "path_traversal", "../../etc/cron.d/evil")


def test_mlflow_zip_with_an_absolute_member_path_is_refused(write, logistic_regression):
    data = mlflow_zip(pickle.dumps(logistic_regression), extra={"/tmp/evil.txt": b"x"})
    assert_refused(scan(write, "model.zip", data), "path_traversal")


def test_mlmodel_pointing_outside_the_model_folder_is_refused(write, logistic_regression):
    mlmodel = p.mlmodel_yaml("../../secret.pkl")
    data = mlflow_zip(pickle.dumps(logistic_regression), mlmodel=mlmodel)
    assert_refused(scan(write, "model.zip", data), "bad_mlflow_model")


def test_mlflow_model_with_custom_python_code_is_refused(write, logistic_regression):
    mlmodel = p.mlmodel_yaml(extra_pyfunc="    code: code\n")
    assert_refused(
        scan(write, "model.zip", mlflow_zip(pickle.dumps(logistic_regression), mlmodel=mlmodel)), "bad_mlflow_model"
    )


def test_zip_without_mlmodel_is_refused(write, logistic_regression):
    data = p.zip_bytes({"model.pkl": pickle.dumps(logistic_regression)})
    assert_refused(scan(write, "model.zip", data), "bad_mlflow_model")


def test_mlflow_pickle_artifact_holding_joblib_arrays_is_refused_as_format_mismatch(write, tmp_path):
    import joblib

    buf = io.BytesIO()
    joblib.dump(np.arange(10.0), buf)
    assert_refused(scan(write, "model.zip", mlflow_zip(buf.getvalue())), "format_mismatch")


def test_mlflow_zip_with_an_extra_executable_member_is_refused(write, logistic_regression):
    data = mlflow_zip(pickle.dumps(logistic_regression), extra={"model/code/loader.py": b"import os"})
    assert_refused(scan(write, "model.zip", data), "unexpected_archive_member", "loader.py")


def test_zip_with_a_symlink_member_is_refused(write, logistic_regression):
    data = p.zip_bytes(
        {"model/MLmodel": p.mlmodel_yaml(), "model/model.pkl": b"/etc/passwd"}, symlinks={"model/model.pkl"}
    )
    assert_refused(scan(write, "model.zip", data), "symlink_in_archive", "model/model.pkl")


def test_zip_bomb_member_with_huge_expansion_ratio_is_refused(write):
    data = p.zip_bytes({"model/MLmodel": p.mlmodel_yaml(), "model/model.pkl": b"\0" * (8 * 1024 * 1024)})
    assert len(data) < 100_000
    limits = ScanLimits(max_compression_ratio=100, ratio_check_min_size=1024 * 1024)
    assert_refused(scan(write, "model.zip", data, limits=limits), "zip_bomb", "model/model.pkl")


def test_zip_whose_total_expanded_size_exceeds_the_limit_is_refused(write):
    data = p.zip_bytes({f"model/f{i}.txt": b"a" * 2000 for i in range(5)} | {"model/MLmodel": p.mlmodel_yaml()})
    assert_refused(scan(write, "model.zip", data, limits=ScanLimits(max_decompressed_size=5000)), "zip_bomb")


def test_zip_with_too_many_members_is_refused(write):
    data = p.zip_bytes({f"model/f{i}.txt": b"a" for i in range(20)})
    assert_refused(scan(write, "model.zip", data, limits=ScanLimits(max_archive_members=10)), "zip_bomb")


def test_zip_with_duplicate_member_names_is_refused(write, logistic_regression):
    buf = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("model/MLmodel", p.mlmodel_yaml())
        zf.writestr("model/model.pkl", pickle.dumps(logistic_regression))
        zf.writestr("model/model.pkl", b"evil")
    assert_refused(scan(write, "model.zip", buf.getvalue()), "duplicate_member", "model/model.pkl")


def test_zip_with_encrypted_members_is_refused(write):
    data = p.zip_bytes({"model/MLmodel": p.mlmodel_yaml(), "model/model.pkl": b"xx"}, encrypted={"model/model.pkl"})
    assert_refused(scan(write, "model.zip", data), "encrypted_archive")


def test_empty_file_is_refused(write):
    assert_refused(scan(write, "model.pkl", b""), "empty_file")


@pytest.mark.parametrize("name", ["model.h5", "model.exe", "model", "model.pkl.exe", "model.pt"])
def test_unknown_extension_is_refused_with_the_list_of_accepted_formats(write, name):
    report = scan(write, name, b"\x80\x04N.")
    assert_refused(report, "unknown_format")
    assert report.detected_format == "unknown"
    assert ".skops" in report.reasons[0].message and ".onnx" in report.reasons[0].message


def test_onnx_file_that_is_really_a_pickle_is_refused(write, sentinel):
    report = scan(write, "model.onnx", pickle.dumps(p.OsSystem(sentinel), protocol=4))
    assert_refused(report, "format_mismatch")
    assert report.detected_format == "onnx"


def test_onnx_file_that_is_really_a_zip_is_refused(write):
    assert_refused(scan(write, "model.onnx", p.zip_bytes({"a.txt": b"a"})), "format_mismatch")


def test_pkl_file_that_is_really_a_csv_is_refused(write):
    assert_refused(scan(write, "model.pkl", b"age,income,city\n34,1200.5,paris\n51,990.0,lyon\n"), "format_mismatch")


def test_pkl_file_that_is_really_a_zip_is_refused(write):
    assert_refused(scan(write, "model.pkl", p.zip_bytes({"data.pkl": b"\x80\x04N."})), "format_mismatch")


def test_skops_file_with_an_untrusted_custom_type_is_refused(write):
    report = scan(write, "model.skops", sio.dumps({"scorer": CustomScorer()}))
    assert_refused(report, "untrusted_skops_type", "CustomScorer")


def test_skops_file_that_is_not_a_zip_is_refused(write, logistic_regression):
    assert_refused(scan(write, "model.skops", pickle.dumps(logistic_regression)), "format_mismatch")


def test_skops_zip_without_a_schema_is_refused(write):
    assert_refused(scan(write, "model.skops", p.zip_bytes({"a.npy": b"x"})), "format_mismatch")


def test_onnx_with_external_tensor_data_is_refused(write):
    assert_refused(scan(write, "model.onnx", p.onnx_identity_model(external_data=True)), "onnx_external_data")


def test_onnx_with_a_custom_domain_operator_is_refused(write):
    data = p.onnx_identity_model(op_type="Backdoor", domain="com.evil")
    assert_refused(scan(write, "model.onnx", data), "onnx_custom_operator", "com.evil::Backdoor")


@pytest.mark.parametrize("data", [b"\x0a\xff\xff\xff\xff\x0f", b"\x08\x08", b"\x07garbage", b"\xff" * 64])
def test_malformed_onnx_protobuf_is_refused(write, data):
    assert_refused(scan(write, "model.onnx", data), "invalid_onnx")
