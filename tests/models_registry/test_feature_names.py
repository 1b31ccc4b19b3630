"""The input columns a model declares are read from the file where it has them (skops schema, ONNX
inputs, MLflow signature) without loading it, and for pickles and joblib files only by the
validation engine's sandboxed child: the web process never unpickles a model to find them."""

import io
import pickle

import joblib
import pandas as pd
import pytest
from django.test import Client
from django.urls import reverse

from core.errors import PortalError
from models_registry.models import ModelVersion
from models_registry.services import model_version_feature_names_record, model_version_register
from tests.models_registry.conftest import model_args, uploaded
from tests.models_registry.safety import payloads

pytestmark = pytest.mark.django_db
COLUMNS = ["age", "income", "debt"]


def fitted_on_frame():
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"age": [20, 30, 40, 50, 60, 70], "income": [1, 2, 3, 4, 5, 6], "debt": [3, 1, 2, 6, 5, 4]})
    return LogisticRegression().fit(frame, [0, 1, 0, 1, 0, 1])


def skops_bytes(model) -> bytes:
    import skops.io as sio

    return sio.dumps(model)


def onnx_per_column_model(names: list[str]) -> bytes:
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in names]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, len(names)])
    graph = helper.make_graph([helper.make_node("Concat", names, ["y"], axis=1)], "g", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def mlflow_zip_with_signature(model, names: list[str]) -> bytes:
    import json

    columns = json.dumps([{"type": "double", "name": n, "required": True} for n in names])
    signature = f"signature:\n  inputs: '{columns}'\n  outputs: '[{{\"type\": \"long\"}}]'\n"
    return payloads.zip_bytes(
        {"MLmodel": payloads.mlmodel_yaml() + signature.encode(), "model.pkl": pickle.dumps(model, protocol=4)}
    )


def register(actor, system, name, data, **fields):
    return model_version_register(actor=actor, system=system, file=uploaded(name, data), **model_args(**fields))


def test_a_skops_models_feature_names_are_read_from_its_schema(ml_engineer, system, stored_files):
    version = register(ml_engineer, system, "credit.skops", skops_bytes(fitted_on_frame()), feature_columns=[])
    assert version.scan_verdict == "safe"
    assert version.model_feature_names == COLUMNS
    assert "skops" in version.model_feature_names_source


def test_an_onnx_models_feature_names_are_its_graph_inputs(ml_engineer, system, stored_files):
    version = register(
        ml_engineer, system, "credit.onnx", onnx_per_column_model(COLUMNS), framework="onnx", feature_columns=[]
    )
    assert version.scan_verdict == "safe", version.scan_report["reasons"]
    assert version.model_feature_names == COLUMNS
    assert "ONNX" in version.model_feature_names_source


def test_an_onnx_model_with_one_matrix_input_declares_no_column_names(ml_engineer, system, stored_files):
    version = register(
        ml_engineer, system, "identity.onnx", payloads.onnx_identity_model(), framework="onnx", feature_columns=[]
    )
    assert version.scan_verdict == "safe", version.scan_report["reasons"]
    assert version.model_feature_names == []


def test_an_mlflow_models_feature_names_are_its_signature_inputs(ml_engineer, system, stored_files):
    data = mlflow_zip_with_signature(fitted_on_frame(), ["age", "income", "debt"])
    version = register(ml_engineer, system, "credit.zip", data, feature_columns=[])
    assert version.scan_verdict == "safe", version.scan_report["reasons"]
    assert version.model_feature_names == COLUMNS
    assert "MLflow signature" in version.model_feature_names_source


def test_a_joblib_models_feature_names_are_not_read_at_upload(ml_engineer, system, stored_files):
    buffer = io.BytesIO()
    joblib.dump(fitted_on_frame(), buffer)
    version = register(ml_engineer, system, "credit.joblib", buffer.getvalue(), feature_columns=[])
    assert version.scan_verdict == "safe"
    assert version.model_feature_names == []


def test_the_engines_names_of_a_loaded_pickle_are_recorded_once(ml_engineer, system, stored_files):
    buffer = io.BytesIO()
    joblib.dump(fitted_on_frame(), buffer)
    version = register(ml_engineer, system, "credit.joblib", buffer.getvalue(), feature_columns=[])
    assert model_version_feature_names_record(version_id=version.pk, names=COLUMNS) is True
    assert model_version_feature_names_record(version_id=version.pk, names=["other"]) is False
    version.refresh_from_db()
    assert version.model_feature_names == COLUMNS
    assert "validation engine" in version.model_feature_names_source


@pytest.mark.parametrize("names", [["a", "a"], ["ok", 3], "age,income", [""], ["x" * 500]])
def test_malformed_names_from_the_engine_are_ignored(ml_engineer, system, stored_files, names):
    buffer = io.BytesIO()
    joblib.dump(fitted_on_frame(), buffer)
    version = register(ml_engineer, system, "credit.joblib", buffer.getvalue(), feature_columns=[])
    assert model_version_feature_names_record(version_id=version.pk, names=names) is False
    version.refresh_from_db()
    assert version.model_feature_names == []


def test_the_child_reads_feature_names_off_a_loaded_model():
    from audits.engine.child import _model_features

    assert _model_features(fitted_on_frame()) == COLUMNS
    assert _model_features(object()) == []


def test_the_version_page_shows_the_declared_features(ml_engineer, system, stored_files):
    version = register(ml_engineer, system, "credit.skops", skops_bytes(fitted_on_frame()), feature_columns=[])
    client = Client()
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("registry:version_detail", args=[version.pk])).content.decode()
    assert "age, income, debt" in page and "skops file" in page


def test_the_web_process_never_unpickles_a_model_to_find_its_features(
    ml_engineer, system, stored_files, tmp_path, monkeypatch
):
    """A hostile pickle whose unpickling would run a command: uploading it, and opening the pages
    that show feature names, never runs it (and nothing in the web process unpickles at all)."""
    sentinel = tmp_path / "fired"

    def refuse(*args, **kwargs):
        raise AssertionError("the web process unpickled a model")

    for target in ("pickle.load", "pickle.loads", "joblib.load"):
        monkeypatch.setattr(target, refuse)
    client = Client()
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    hostile = pickle.dumps(payloads.OsSystem(sentinel), protocol=2)
    with pytest.raises(PortalError):
        register(ml_engineer, system, "evil.pkl", hostile, version_label="evil", feature_columns=[])
    buffer = io.BytesIO()
    joblib.dump(fitted_on_frame(), buffer)
    version = register(ml_engineer, system, "credit.joblib", buffer.getvalue(), feature_columns=[])
    page = client.get(reverse("registry:version_detail", args=[version.pk]))
    form = client.get(reverse("audits:validation_create", args=[system.pk]))
    assert (page.status_code, form.status_code) == (200, 200)
    assert "only opened inside the validation engine" in page.content.decode()
    assert not sentinel.exists()
    assert ModelVersion.objects.filter(version_label="evil").count() == 0


def test_a_validation_run_records_a_joblib_models_feature_names_read_in_the_sandbox(ml_engineer):
    """End to end: the engine's child loads the joblib model and reports `feature_names_in_`; the
    version had none before its first run and has them after."""
    from audits.validation.services import validation_start
    from audits.validation.tasks import validation_run_execute
    from tests.audits.validation_support import FEATURES, register_credit_system

    credit = register_credit_system(ml_engineer)
    assert credit.version.model_feature_names == []
    run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")
    validation_run_execute.apply(args=[run.pk])
    credit.version.refresh_from_db()
    assert credit.version.model_feature_names == FEATURES
    assert "validation engine" in credit.version.model_feature_names_source


def test_every_source_of_feature_names_fits_its_column():
    from models_registry.models import ModelVersion
    from models_registry.services import FEATURE_NAME_SOURCES

    limit = ModelVersion._meta.get_field("model_feature_names_source").max_length
    assert all(len(words) <= limit for words in FEATURE_NAME_SOURCES.values()), FEATURE_NAME_SOURCES
