"""Issue #11, hole 2: one decision of an artifact's format, shared by the scanner and the loader.

The scanner used to decide "this MLflow artifact is ONNX" from MLmodel while the worker's loader
decided "pickle/joblib" from the member's ``.pkl`` name and first bytes: a file that was valid
ONNX *and* a pickle ran its pickle.  Now ``formats.artifact_format`` decides, the report records
it (``inner_artifact["format"]``) and the loader refuses bytes that disagree with the record.
"""

import pickle
import zlib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from audits.engine.loading import ModelLoadError, load_model
from models_registry.safety.formats import artifact_format, mlflow_inner_format

from . import payloads as p
from .test_archives_and_formats import mlflow_zip
from .test_benign_models import assert_safe
from .test_pickle_payloads import assert_refused, scan


@pytest.mark.parametrize("proto_header", [False, True])
def test_positive_control_the_polyglot_really_is_both_onnx_and_a_live_pickle(tmp_path, proto_header):
    fired = tmp_path / "fired"
    data = p.onnx_pickle_polyglot(fired, proto_header=proto_header)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.ones((2, 3), dtype=np.float32)
    assert (session.run(None, {"X": x})[0] == x).all()
    pickle.loads(data)
    assert fired.exists()


def test_mlflow_zip_saying_onnx_with_a_polyglot_named_model_pkl_is_refused(write, sentinel):
    # The original hole: the sklearn flavour with serialization_format onnx and a .pkl artifact.
    polyglot = p.onnx_pickle_polyglot(sentinel)
    report = scan(write, "model.zip", mlflow_zip(polyglot, mlmodel=p.mlmodel_yaml("model.pkl", "onnx")))
    assert_refused(report, "mlflow_format_conflict", "sklearn: onnx")


def test_mlflow_onnx_flavour_pointing_at_a_polyglot_named_model_pkl_is_refused(write, sentinel):
    polyglot = p.onnx_pickle_polyglot(sentinel)
    report = scan(
        write, "model.zip", mlflow_zip(polyglot, artifact="model.pkl", mlmodel=p.mlmodel_onnx_yaml("model.pkl"))
    )
    assert_refused(report, "mlflow_format_conflict", "model/model.pkl")
    assert_refused(report, "polyglot_file")


@pytest.mark.parametrize("proto_header", [False, True])
def test_mlflow_onnx_flavour_whose_model_onnx_is_also_a_pickle_is_refused(write, sentinel, proto_header):
    polyglot = p.onnx_pickle_polyglot(sentinel, proto_header=proto_header)
    report = scan(write, "model.zip", mlflow_zip(polyglot, artifact="model.onnx", mlmodel=p.mlmodel_onnx_yaml()))
    assert_refused(report, "polyglot_file", "model/model.onnx")


@pytest.mark.parametrize("proto_header", [False, True])
def test_top_level_onnx_that_is_also_a_pickle_is_refused(write, sentinel, proto_header):
    report = scan(write, "model.onnx", p.onnx_pickle_polyglot(sentinel, proto_header=proto_header))
    assert_refused(report, "polyglot_file")


def test_pickle_that_is_also_a_whole_onnx_model_is_refused(write, sentinel):
    report = scan(write, "model.pkl", p.onnx_pickle_polyglot(sentinel))
    assert_refused(report, "polyglot_file")


def test_mlflow_model_declaring_two_flavours_is_refused(write):
    both = p.mlmodel_yaml("model.onnx", "cloudpickle").replace(
        b"  sklearn:\n", b"  onnx:\n    data: model.onnx\n  sklearn:\n"
    )
    report = scan(write, "model.zip", mlflow_zip(p.onnx_identity_model(), artifact="model.onnx", mlmodel=both))
    assert_refused(report, "mlflow_format_conflict", "sklearn, onnx")


def test_mlflow_pyfunc_loader_that_disagrees_with_the_flavour_is_refused(write, logistic_regression):
    mlmodel = p.mlmodel_yaml().replace(b"loader_module: mlflow.sklearn", b"loader_module: mlflow.onnx")
    report = scan(write, "model.zip", mlflow_zip(pickle.dumps(logistic_regression), mlmodel=mlmodel))
    assert_refused(report, "mlflow_format_conflict")


def test_genuine_mlflow_onnx_model_passes_and_records_its_format(write):
    report = scan(
        write, "model.zip", mlflow_zip(p.onnx_identity_model(), artifact="model.onnx", mlmodel=p.mlmodel_onnx_yaml())
    )
    assert_safe(report, "mlflow")
    assert report.inner_artifact == {
        "path": "model/model.onnx",
        "flavor": "onnx",
        "serialization_format": "onnx",
        "format": "onnx",
    }


@pytest.mark.parametrize(
    "flavor, serialization, expected",
    [
        ("sklearn", "cloudpickle", "pickle"),
        ("sklearn", "pickle", "pickle"),
        ("sklearn", "skops", "skops"),
        ("onnx", "onnx", "onnx"),
        ("onnx", None, "onnx"),
        ("sklearn", "onnx", None),
        ("onnx", "pickle", None),
        ("pytorch", "pickle", None),
    ],
)
def test_mlflow_inner_format_rule(flavor, serialization, expected):
    assert mlflow_inner_format(flavor, serialization) == expected


# -- the loader: the recorded decision, checked against the bytes --------------------------
def _zip_file(tmp_path, data, **kw):
    path = tmp_path / "model.zip"
    path.write_bytes(mlflow_zip(data, **kw))
    return str(path)


def test_loader_refuses_an_old_report_whose_mlmodel_says_onnx_for_a_pkl_artifact(tmp_path, sentinel):
    path = _zip_file(tmp_path, p.onnx_pickle_polyglot(sentinel), mlmodel=p.mlmodel_yaml("model.pkl", "onnx"))
    inner = {"path": "model/model.pkl", "flavor": "sklearn", "serialization_format": "onnx"}  # no "format"
    with pytest.raises(ModelLoadError, match="recorded artifact format"):
        load_model(path, "mlflow", inner)
    assert not sentinel.exists()


@pytest.mark.parametrize("recorded", ["onnx", "pickle"])
def test_loader_refuses_an_mlflow_artifact_whose_bytes_can_be_read_as_two_formats(tmp_path, sentinel, recorded):
    name = {"onnx": "model.onnx", "pickle": "model.pkl"}[recorded]
    path = _zip_file(tmp_path, p.onnx_pickle_polyglot(sentinel), artifact=name)
    inner = {
        "path": f"model/{name}",
        "flavor": "onnx" if recorded == "onnx" else "sklearn",
        "serialization_format": "onnx" if recorded == "onnx" else "cloudpickle",
        "format": recorded,
    }
    with pytest.raises(ModelLoadError, match="does not match its recorded format"):
        load_model(path, "mlflow", inner)
    assert not sentinel.exists()


def test_loader_refuses_a_recorded_format_that_contradicts_the_mlmodel_entries(tmp_path, sentinel):
    path = _zip_file(tmp_path, pickle.dumps(p.OsSystem(sentinel)))
    inner = {"path": "model/model.pkl", "flavor": "onnx", "serialization_format": "onnx", "format": "pickle"}
    with pytest.raises(ModelLoadError, match="contradicts"):
        load_model(path, "mlflow", inner)
    assert not sentinel.exists()


def test_loader_refuses_a_pickle_recorded_as_onnx(tmp_path, sentinel):
    path = tmp_path / "model.onnx"
    path.write_bytes(pickle.dumps(p.OsSystem(sentinel), protocol=4))
    with pytest.raises(ModelLoadError, match="recorded format"):
        load_model(str(path), "onnx")
    assert not sentinel.exists()


def test_loader_refuses_compressed_bytes_recorded_as_a_plain_pickle(tmp_path, sentinel):
    path = tmp_path / "model.pkl"
    path.write_bytes(zlib.compress(pickle.dumps(p.OsSystem(sentinel)), 3))
    with pytest.raises(ModelLoadError, match="recorded format"):
        load_model(str(path), "pickle")
    assert not sentinel.exists()


def test_loader_refuses_an_onnx_polyglot_recorded_as_onnx(tmp_path, sentinel):
    path = tmp_path / "model.onnx"
    path.write_bytes(p.onnx_pickle_polyglot(sentinel))
    with pytest.raises(ModelLoadError, match="two formats"):
        load_model(str(path), "onnx")
    assert not sentinel.exists()


def test_loader_loads_what_the_scanner_accepted_following_the_recorded_format(tmp_path, logistic_regression):
    from models_registry.safety import scan_model_file

    path = tmp_path / "model.zip"
    path.write_bytes(mlflow_zip(pickle.dumps(logistic_regression)))
    report = scan_model_file(path, "model.zip")
    assert report.is_safe and report.inner_artifact["format"] == "pickle"
    model = load_model(str(path), report.detected_format, report.inner_artifact)
    assert model.predict(np.zeros((1, 2))).shape == (1,)
    old_style = {k: v for k, v in report.inner_artifact.items() if k != "format"}  # reports before the fix
    assert load_model(str(path), "mlflow", old_style).predict(np.zeros((1, 2))).shape == (1,)

    onnx_zip = tmp_path / "onnx.zip"
    onnx_zip.write_bytes(mlflow_zip(p.onnx_identity_model(), artifact="model.onnx", mlmodel=p.mlmodel_onnx_yaml()))
    report = scan_model_file(onnx_zip, "onnx.zip")
    assert report.is_safe, report.to_dict()
    onnx_model = load_model(str(onnx_zip), "mlflow", report.inner_artifact)
    assert onnx_model.predict(np.ones((2, 3))).shape == (6,)


@pytest.mark.parametrize(
    "announced, data, expected",
    [
        ("pickle", pickle.dumps([1, 2]), "pickle"),
        ("joblib", pickle.dumps([1, 2]), "joblib"),
        ("pickle", zlib.compress(pickle.dumps([1, 2])), "joblib"),  # only joblib can load compressed data
        ("onnx", p.onnx_identity_model(), "onnx"),
    ],
)
def test_artifact_format_decisions(tmp_path, announced, data, expected):
    path = tmp_path / "f"
    path.write_bytes(data)
    decision = artifact_format(path, announced)
    assert decision.ok and decision.format == expected, decision


def test_the_web_process_never_imports_onnx_to_scan_an_onnx_file(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "m.onnx"
    path.write_bytes(p.onnx_identity_model())
    code = (
        "import sys; from pathlib import Path; from models_registry.safety import scan_model_file; "
        f"r = scan_model_file(Path({str(path)!r}), 'm.onnx'); "
        "print(r.verdict, 'onnx' in sys.modules, any(m.startswith('onnx.') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.split() == ["safe", "False", "False"], out.stderr


class PlantedOnLoad:
    """A type of the test's own: skops would build it and call its __setstate__ if trusted."""

    marker = ""

    def __setstate__(self, state):
        Path(PlantedOnLoad.marker).write_text("built")
        self.__dict__.update(state)


def test_loader_builds_only_allowlisted_skops_types_not_whatever_the_file_names(tmp_path, logistic_regression):
    import skops.io as sio

    PlantedOnLoad.marker = str(tmp_path / "built.txt")
    path = tmp_path / "planted.skops"
    sio.dump({"model": logistic_regression, "extra": PlantedOnLoad()}, path)
    assert any("PlantedOnLoad" in name for name in sio.get_untrusted_types(file=str(path)))
    with pytest.raises(ModelLoadError, match="not on the portal's allowlist.*PlantedOnLoad"):
        load_model(str(path), "skops")
    assert not (tmp_path / "built.txt").exists()

    genuine = tmp_path / "genuine.skops"
    sio.dump(logistic_regression, genuine)
    assert hasattr(load_model(str(genuine), "skops"), "predict_proba")
