import hashlib
import io
import pickle
import threading
from pathlib import Path

import joblib
import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import Conflict, ValidationFailed
from core.models import AuditEvent
from core.services import api_token_create
from models_registry.models import Artifact, ModelVersion
from models_registry.selectors import version_diff
from models_registry.services import model_version_register
from tests.models_registry.conftest import joblib_variant, model_args, uploaded
from tests.models_registry.safety import payloads

pytestmark = pytest.mark.django_db


def test_a_benign_joblib_model_is_scanned_stored_by_hash_and_registered(
    system, ml_engineer, joblib_bytes, stored_files
):
    version = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("model.joblib", joblib_bytes), **model_args()
    )
    digest = hashlib.sha256(joblib_bytes).hexdigest()
    assert (version.scan_verdict, version.artifact.sha256, version.artifact.size) == ("safe", digest, len(joblib_bytes))
    assert version.artifact.detected_format == "joblib"
    assert stored_files() == [digest]
    event = AuditEvent.objects.get(verb="model_version.registered")
    assert event.after["sha256"] == digest and event.actor_id == ml_engineer.pk


def test_the_same_file_uploaded_twice_is_stored_once(system, ml_engineer, joblib_bytes, stored_files):
    model_version_register(actor=ml_engineer, system=system, file=uploaded("a.joblib", joblib_bytes), **model_args())
    model_version_register(
        actor=ml_engineer, system=system, file=uploaded("b.joblib", joblib_bytes), **model_args(version_label="1.0.1")
    )
    assert len(stored_files()) == 1 and Artifact.objects.count() == 1


def test_a_malicious_pickle_is_refused_recorded_and_leaves_no_file(system, ml_engineer, stored_files, tmp_path):
    sentinel = tmp_path / "pwned"
    data = pickle.dumps(payloads.OsSystem(sentinel), protocol=2)
    with pytest.raises(ValidationFailed) as refused:
        model_version_register(actor=ml_engineer, system=system, file=uploaded("model.pkl", data), **model_args())
    assert refused.value.code == "unsafe_global"
    assert any("system" in (r["detail"] or "") for r in refused.value.extra["reasons"])
    assert not sentinel.exists()
    assert stored_files() == [] and not ModelVersion.objects.exists()
    event = AuditEvent.objects.get(verb="model_version.upload_refused")
    assert event.after["code"] == "unsafe_global" and event.after["sha256"] == hashlib.sha256(data).hexdigest()
    from django.conf import settings

    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).glob("*.pkl")) == []


def test_an_existing_version_label_is_refused_before_anything_is_stored(
    system, ml_engineer, joblib_bytes, stored_files, fitted_model
):
    model_version_register(actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args())
    with pytest.raises(Conflict) as conflict:
        model_version_register(
            actor=ml_engineer,
            system=system,
            file=uploaded("m2.joblib", joblib_variant(fitted_model, 2)),
            **model_args(),
        )
    assert conflict.value.code == "duplicate_version_label" and len(stored_files()) == 1


def test_losing_a_race_for_the_same_label_answers_409_and_cleans_up_the_stored_file(
    system, ml_engineer, joblib_bytes, stored_files, monkeypatch, fitted_model
):
    from models_registry import services

    real_row = services._artifact_row

    def store_then_lose_the_race(**kwargs):
        result = real_row(**kwargs)
        # Another request registers the same label while this one was storing its file.
        ModelVersion.objects.create(
            organisation=system.organisation,
            system=system,
            version_label="1.0.0",
            artifact=first.artifact,
            framework="sklearn",
            task="binary",
            scan_verdict="safe",
            uploaded_by=ml_engineer,
        )
        return result

    first = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args(version_label="0.9")
    )
    monkeypatch.setattr(services, "_artifact_row", store_then_lose_the_race)
    with pytest.raises(Conflict, match="a moment ago"):
        model_version_register(
            actor=ml_engineer,
            system=system,
            file=uploaded("new.joblib", joblib_variant(fitted_model, 1)),
            **model_args(),
        )
    assert stored_files() == [first.artifact.sha256]


def test_an_unknown_format_is_refused_with_the_list_of_accepted_formats(system, ml_engineer, stored_files):
    with pytest.raises(ValidationFailed) as refused:
        model_version_register(
            actor=ml_engineer, system=system, file=uploaded("model.h5", b"\x89HDF\r\n"), **model_args()
        )
    assert refused.value.code == "unknown_format"
    assert ".skops" in refused.value.message and ".onnx" in refused.value.message
    assert stored_files() == []


def test_an_empty_file_is_refused(system, ml_engineer):
    with pytest.raises(ValidationFailed) as refused:
        model_version_register(actor=ml_engineer, system=system, file=uploaded("model.pkl", b""), **model_args())
    assert refused.value.code == "empty_file"


def test_an_onnx_framework_with_a_pickle_file_is_refused(system, ml_engineer, joblib_bytes):
    with pytest.raises(ValidationFailed) as refused:
        model_version_register(
            actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args(framework="onnx")
        )
    assert refused.value.code == "framework_mismatch"


def test_claimed_metrics_must_be_numbers(system, ml_engineer, joblib_bytes):
    with pytest.raises(ValidationFailed, match="numbers"):
        model_version_register(
            actor=ml_engineer,
            system=system,
            file=uploaded("m.joblib", joblib_bytes),
            **model_args(claimed_metrics={"auc": "high"}),
        )


def test_the_model_card_diff_marks_changed_fields(system, ml_engineer, joblib_bytes):
    old = model_version_register(
        actor=ml_engineer, system=system, file=uploaded("m.joblib", joblib_bytes), **model_args()
    )
    new = model_version_register(
        actor=ml_engineer,
        system=system,
        file=uploaded("m.joblib", joblib_bytes),
        **model_args(version_label="1.1.0", limitations="Not for SMEs", claimed_metrics={"auc": 0.93}),
    )
    changed = {row["field"] for row in version_diff(older=old, newer=new) if row["changed"]}
    assert changed == {"limitations", "claimed metrics"}


# --- through the API, as CI would --------------------------------------------------------------


@pytest.fixture
def api(ml_engineer):
    _, secret = api_token_create(actor=ml_engineer, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def post_version(api, system, name, data, **fields):
    body = {
        "version_label": fields.pop("version_label", "1.0.0"),
        "framework": "sklearn",
        "task": "binary",
        "file": uploaded(name, data),
        **fields,
    }
    return api.post(f"/api/v1/systems/{system.pk}/versions/", body, format="multipart")


def hostile_files(tmp_path):
    sentinel = tmp_path / "fired"
    zip_traversal = payloads.zip_bytes({"MLmodel": payloads.mlmodel_yaml(), "../../etc/evil.pkl": b"x"})
    evil_mlflow = payloads.zip_bytes(
        {"MLmodel": payloads.mlmodel_yaml(), "model.pkl": pickle.dumps(payloads.OsSystem(sentinel), protocol=4)}
    )
    evil_joblib = io.BytesIO()
    joblib.dump(payloads.SubprocessPopen(sentinel), evil_joblib, compress=3)
    return sentinel, {
        "os_system.pkl": pickle.dumps(payloads.OsSystem(sentinel), protocol=2),
        "popen.pkl": pickle.dumps(payloads.SubprocessPopen(sentinel), protocol=4),
        "eval.pkl": pickle.dumps(payloads.BuiltinsEval(sentinel), protocol=0),
        "exec.pkl": pickle.dumps(payloads.BuiltinsExec(sentinel), protocol=5),
        "nested.pkl": pickle.dumps(payloads.NestedPickleLoads(sentinel), protocol=2),
        "nested_c.pkl": pickle.dumps(payloads.NestedCPickleLoads(sentinel), protocol=3),
        "joblib_load.pkl": pickle.dumps(payloads.NestedJoblibLoad(sentinel), protocol=4),
        "getattr.pkl": payloads.getattr_trick(sentinel),
        "inst.pkl": payloads.inst_os_system(sentinel),
        "memo.pkl": payloads.stack_global_memo_trick(sentinel),
        "truncated.pkl": pickle.dumps(list(range(100)), protocol=4)[:-7],
        "evil.joblib": evil_joblib.getvalue(),
        "evil_mlflow.zip": evil_mlflow,
        "traversal.zip": zip_traversal,
        "symlink.zip": payloads.zip_bytes(
            {"MLmodel": payloads.mlmodel_yaml(), "model.pkl": b"/etc/passwd"}, symlinks=("model.pkl",)
        ),
        "pickle_as.onnx": pickle.dumps({"a": 1}, protocol=2),
        "csv_as.pkl": b"age,income\n1,2\n",
    }


def test_every_hostile_file_uploaded_through_the_api_is_refused_without_running_anything(
    api, system, tmp_path, stored_files
):
    sentinel, files = hostile_files(tmp_path)
    assert len(files) >= 12
    for label, (name, data) in enumerate(files.items()):
        response = post_version(api, system, name, data, version_label=f"h{label}")
        assert response.status_code == 400, (name, response.json())
        body = response.json()
        assert set(body) == {"message", "code", "extra"} and body["code"] != "invalid", (name, body)
    assert not sentinel.exists() and not Path(str(sentinel) + ".joblib").exists()
    assert stored_files() == [] and not ModelVersion.objects.exists()
    assert AuditEvent.objects.filter(verb="model_version.upload_refused").count() == len(files)


def test_ci_uploads_a_model_and_reads_its_scan_result(api, system, joblib_bytes):
    response = post_version(
        api, system, "model.joblib", joblib_bytes, feature_columns=["a", "b", "c"], claimed_metrics='{"auc": 0.9}'
    )
    assert response.status_code == 201, response.json()
    version_id = response.json()["id"]
    body = api.get(f"/api/v1/versions/{version_id}/").json()
    assert body["scan_verdict"] == "safe" and body["file"]["sha256"] == hashlib.sha256(joblib_bytes).hexdigest()
    assert body["feature_columns"] == ["a", "b", "c"] and body["claimed_metrics"] == {"auc": 0.9}
    listed = api.get("/api/v1/versions/", {"system": system.pk, "scan_verdict": "safe"}).json()
    assert [v["id"] for v in listed["results"]] == [version_id]


def test_an_upload_over_the_size_limit_is_cut_off_with_a_clear_message(api, system, settings, stored_files):
    settings.MAX_UPLOAD_SIZE = 10_000
    response = post_version(api, system, "big.pkl", b"\x80\x04" + b"0" * 50_000)
    assert response.status_code == 400
    assert response.json()["code"] == "too_large" and "limit" in response.json()["message"]
    assert stored_files() == []
    assert AuditEvent.objects.get(verb="model_version.upload_refused").after["code"] == "too_large"


def test_the_browser_form_reports_a_refused_model_with_its_reasons_and_a_400(client, ml_engineer, system, tmp_path):
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    data = pickle.dumps(payloads.OsSystem(tmp_path / "x"), protocol=2)
    response = client.post(
        reverse("registry:version_create", args=[system.pk]),
        {"version_label": "1.0.0", "framework": "sklearn", "task": "binary", "file": uploaded("m.pkl", data)},
    )
    assert response.status_code == 400  # the same status as the API's refusal
    html = response.content.decode()
    assert "was refused and nothing was stored" in html and "unsafe_global" in html
    assert "posix.system" in html or "os.system" in html


@pytest.mark.skipif(
    connection.vendor != "postgresql" and __import__("os").environ.get("CI") != "true",
    reason="concurrent transactions need PostgreSQL (CI runs this there)",
)
@pytest.mark.django_db(transaction=True)
def test_two_uploads_racing_for_one_label_give_one_version_and_one_conflict(ml_engineer, fitted_model, stored_files):
    from django.db import connection as thread_connection

    from models_registry.services import system_create

    system = system_create(actor=ml_engineer, name="Race", purpose="p")
    outcomes = []
    barrier = threading.Barrier(2)

    def upload(n):
        try:
            barrier.wait()
            model_version_register(
                actor=ml_engineer,
                system=system,
                file=uploaded(f"m{n}.joblib", joblib_variant(fitted_model, n)),
                **model_args(version_label="2.0.0"),
            )
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")
        finally:
            thread_connection.close()  # each thread has its own connection; close it for teardown

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["conflict", "created"]
    assert ModelVersion.objects.filter(system=system, version_label="2.0.0").count() == 1
    assert len(stored_files()) == 1
