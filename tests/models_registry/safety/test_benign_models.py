"""Real, benign models must pass; reports must be serialisable."""

import dataclasses
import io
import json
import pickle

import joblib
import numpy as np
import pytest
import skops.io as sio

from models_registry.safety import ACCEPTED_FORMATS, ScanReport, scan_model_file

from . import payloads as p
from .test_archives_and_formats import mlflow_zip
from .test_pickle_payloads import scan


def assert_safe(report: ScanReport, fmt: str):
    assert report.verdict == "safe", report.to_dict()
    assert report.reasons == []
    assert report.detected_format == fmt


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("model", ["logistic_regression", "hgb_pipeline"])
def test_sklearn_models_pickled_with_protocols_2_to_5_pass(write, request, protocol, model):
    report = scan(write, "model.pkl", pickle.dumps(request.getfixturevalue(model), protocol=protocol))
    assert_safe(report, "pickle")
    assert any(g.startswith("sklearn.") for g in report.globals_seen)


@pytest.mark.parametrize("compress", [0, 3, ("lzma", 3), ("gzip", 3), ("bz2", 3)])
def test_pipeline_dumped_with_joblib_raw_and_compressed_passes(tmp_path, hgb_pipeline, compress):
    path = tmp_path / "upload"
    joblib.dump(hgb_pipeline, path, compress=compress)
    report = scan_model_file(path, "pipeline.joblib")
    assert_safe(report, "joblib")
    assert "sklearn.pipeline.Pipeline" in report.globals_seen
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in report.globals_seen


@pytest.mark.parametrize("compress", [0, 3])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(1000.0).reshape(10, 100),
        np.asfortranarray(np.ones((7, 3), dtype=np.int32)),
        np.array(["paris", "lyon"]),
        np.array([("a", 1.5)], dtype=[("k", "U3"), ("v", ">f8")]),
        np.zeros((0, 4)),
        np.array(["mixed", 3, None], dtype=object),
        np.float32(2.5),
    ],
)
def test_numpy_arrays_dumped_with_joblib_pass(tmp_path, compress, array):
    path = tmp_path / "upload"
    joblib.dump({"a": array, "b": [array, array]}, path, compress=compress)
    assert_safe(scan_model_file(path, "arrays.joblib"), "joblib")


def test_joblib_dump_saved_as_pkl_is_detected_as_joblib(tmp_path, logistic_regression):
    path = tmp_path / "upload"
    joblib.dump(logistic_regression, path)
    report = scan_model_file(path, "model.pkl")
    assert_safe(report, "joblib")
    assert "joblib_content" in [n.code for n in report.notes]


def test_skops_pipeline_passes_with_default_trusted_types(write, linear_pipeline):
    assert_safe(scan(write, "model.skops", sio.dumps(linear_pipeline)), "skops")


def test_skops_gradient_boosting_passes_because_its_tree_predictor_is_on_the_portal_allowlist(write, hgb_pipeline):
    data = sio.dumps(hgb_pipeline)
    name = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    assert name in sio.get_untrusted_types(data=data)  # skops itself does not trust it by default
    report = scan(write, "model.skops", data)
    assert_safe(report, "skops")
    assert name in report.globals_seen


@pytest.mark.parametrize("serialization", ["cloudpickle", "pickle"])
def test_mlflow_style_zip_with_a_sklearn_pickle_passes(write, hgb_pipeline, serialization):
    report = scan(write, "run-42.zip", mlflow_zip(pickle.dumps(hgb_pipeline), serialization=serialization))
    assert_safe(report, "mlflow")
    assert report.inner_artifact["path"] == "model/model.pkl"
    assert report.inner_artifact["flavor"] == "sklearn"


def test_mlflow_style_zip_with_a_skops_artifact_at_the_root_passes(write, logistic_regression):
    data = mlflow_zip(sio.dumps(logistic_regression), artifact="model.skops", serialization="skops", prefix="")
    assert_safe(scan(write, "model.zip", data), "mlflow")


def test_hand_made_onnx_model_passes_and_really_is_valid_onnx(write, tmp_path):
    data = p.onnx_identity_model()
    assert_safe(scan(write, "model.onnx", data), "onnx")
    import onnxruntime as ort  # only to validate our hand-made fixture, never in the scanner

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.ones((2, 3), dtype=np.float32)
    assert (sess.run(None, {"X": x})[0] == x).all()


def test_report_to_dict_is_json_serialisable_and_lists_tools(write, sentinel):
    report = scan(write, "model.pkl", pickle.dumps(p.OsSystem(sentinel)))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["verdict"] == "refused" and data["reasons"][0]["code"] == "unsafe_global"
    assert {"pickletools", "skops"} <= set(data["scanner"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.verdict = "safe"  # frozen


def test_accepted_formats_cover_the_issue_list():
    assert set(ACCEPTED_FORMATS) == {".skops", ".onnx", ".joblib", ".pkl", ".pickle", ".zip"}


def test_programmer_errors_raise_instead_of_returning_a_report(tmp_path):
    with pytest.raises(TypeError):
        scan_model_file(str(tmp_path), "model.pkl")
    with pytest.raises(TypeError):
        scan_model_file(tmp_path / "x", "model.pkl", allowlist_extra={"a.b"})


def test_missing_file_is_a_refusal_not_an_exception(tmp_path):
    assert scan_model_file(tmp_path / "nope", "model.pkl").codes == ["unreadable_file"]


def test_joblib_array_payload_is_never_mistaken_for_opcodes(tmp_path):
    # Raw float bytes that spell a GLOBAL os.system opcode sequence must be skipped, not parsed.
    evil_bytes = b"cos\nsystem\n(S'id'\ntR."
    arr = np.frombuffer(evil_bytes + b"\0" * (-len(evil_bytes) % 8), dtype=np.float64)
    path = tmp_path / "upload"
    joblib.dump(arr, path)
    assert_safe(scan_model_file(path, "a.joblib"), "joblib")
    assert io.BytesIO(path.read_bytes()).read().find(b"cos\nsystem") > 0
