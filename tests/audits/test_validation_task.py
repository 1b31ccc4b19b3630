"""The task body, run in this process (`Task.apply`), for what a real worker cannot be made to do on
demand: transient errors and retries, limits from settings, reproducibility. The real-worker flow
is in test_validation_worker.py."""

import contextlib

import pytest

from audits.models import CheckResultRecord, ValidationRun
from audits.validation.services import validation_start
from audits.validation.tasks import validation_run_execute
from core.models import AuditEvent
from tests.audits.validation_support import credit  # noqa: F401

pytestmark = pytest.mark.django_db


def run_now(actor, credit, **overrides) -> ValidationRun:
    args = {"actor": actor, "model_version": credit.version, "test_dataset": credit.test, "suite": "quick"}
    args.update(overrides)
    run = validation_start(**args)
    validation_run_execute.apply(args=[run.pk])
    run.refresh_from_db()
    return run


def test_a_run_executed_by_the_task_succeeds_with_results_findings_and_a_reproducibility_record(ml_engineer, credit):
    run = run_now(ml_engineer, credit, suite="standard", train_dataset=credit.train)
    assert run.status == "succeeded", run.error_message
    assert (run.progress_percent, run.checks_done) == (100, run.checks_total)
    assert run.results.count() == run.checks_total > 20
    assert run.findings.count() == run.results.filter(status__in=("warn", "fail")).exclude(finding=None).count()
    repro = run.reproducibility
    assert repro["seed"] == 0 and repro["suite"] == "standard" and repro["policy_version"] == run.policy_version
    assert repro["library_versions"]["scikit-learn"]
    assert repro["inputs"] == {
        "model_sha256": credit.version.artifact.sha256,
        "test_dataset_sha256": credit.test.artifact.sha256,
        "train_dataset_sha256": credit.train.artifact.sha256,
    }
    assert run.peak_memory_mb > 0 and run.duration_s > 0
    finished = AuditEvent.objects.get(verb="validation.finished", object_id=str(run.pk))
    assert finished.actor is None or finished.actor == ml_engineer
    assert sum(finished.after["checks"].values()) == run.checks_total


def test_the_same_run_twice_gives_identical_results(ml_engineer, credit):
    first = run_now(ml_engineer, credit, suite="standard", train_dataset=credit.train)
    second = run_now(ml_engineer, credit, suite="standard", train_dataset=credit.train)
    fields = ["check_id", "status", "severity", "value", "threshold", "ci", "summary", "details", "charts", "finding"]

    def rows(run):
        return list(CheckResultRecord.objects.filter(run=run).order_by("check_id").values(*fields))

    assert first.status == second.status == "succeeded"
    assert rows(first) == rows(second)
    assert first.reproducibility["data"] == second.reproducibility["data"]


def test_delivering_the_message_again_after_the_run_finished_changes_nothing(ml_engineer, credit):
    run = run_now(ml_engineer, credit)
    count = run.results.count()
    assert validation_run_execute.apply(args=[run.pk]).get() == {"run": run.pk, "claimed": False}
    assert run.results.count() == count
    assert AuditEvent.objects.filter(verb="validation.finished", object_id=str(run.pk)).count() == 1


def _flaky_storage(monkeypatch, failures: int):
    """Artifact storage that fails `failures` times with a network error, then works."""
    from models_registry import storage

    real, calls = storage.local_copy, {"n": 0}

    @contextlib.contextmanager
    def local_copy(key, suffix=""):
        calls["n"] += 1
        if calls["n"] <= failures:
            raise ConnectionError("connection reset by the object store")
        with real(key, suffix) as path:
            yield path

    monkeypatch.setattr(storage, "local_copy", local_copy)
    return calls


def test_a_transient_storage_error_is_retried_and_the_run_then_succeeds(ml_engineer, credit, monkeypatch):
    calls = _flaky_storage(monkeypatch, failures=1)
    run = run_now(ml_engineer, credit)
    assert run.status == "succeeded", run.error_message
    assert calls["n"] == 3, "one failed attempt, then the model and the test data"
    assert AuditEvent.objects.filter(object_id=str(run.pk), verb__startswith="validation.").count() == 3, (
        "started, attempt_started, finished: the retry resumes the same attempt"
    )


def test_a_storage_error_that_does_not_go_away_fails_the_run_after_the_retries(ml_engineer, credit, monkeypatch):
    calls = _flaky_storage(monkeypatch, failures=100)
    run = run_now(ml_engineer, credit)
    assert run.status == "failed"
    assert "still failing after 3 retries" in run.error_message and "object store" in run.error_message
    assert calls["n"] == 4


def test_a_missing_stored_file_fails_the_run_at_once_without_retrying(ml_engineer, credit):
    type(credit.test.artifact).objects.filter(pk=credit.test.artifact.pk).update(storage_key="sha256/00/missing")
    run = run_now(ml_engineer, credit)
    assert run.status == "failed"
    assert run.error_message.startswith("The validation could not start: The stored file test.csv")
    assert AuditEvent.objects.get(verb="validation.failed", object_id=str(run.pk)).reason == run.error_message


def test_a_run_over_the_memory_limit_from_settings_fails_with_the_reason(ml_engineer, credit, settings):
    settings.VALIDATION_MEMORY_LIMIT_MB = 64
    run = run_now(ml_engineer, credit)
    assert (run.status, run.memory_limit_mb) == ("failed", 64)
    assert "more than its memory limit of 64 MB" in run.error_message


def slow_version(actor, credit):
    """A model that takes 3 s per call: a quick run on it outlasts a 1 s limit however warm the
    engine starts (the children start with their libraries imported)."""
    from tests.audits import misbehaving_models as bad
    from tests.audits.validation_support import credit_frame, credit_model, register_unscanned_version

    model = bad.SleepingModel(credit_model(credit_frame(400, seed=1)), delay=3)
    return register_unscanned_version(actor, credit.system, model, "slow")


def test_a_run_over_the_time_limit_from_settings_fails_with_the_reason(ml_engineer, credit, settings):
    settings.VALIDATION_TIME_LIMIT_S = 1
    run = run_now(ml_engineer, credit, model_version=slow_version(ml_engineer, credit))
    assert run.status == "failed"
    assert "longer than its time limit of 1 s" in run.error_message


def test_every_way_a_run_ends_writes_one_audit_event(ml_engineer, credit, settings):
    succeeded = run_now(ml_engineer, credit)
    settings.VALIDATION_TIME_LIMIT_S = 1
    failed = run_now(ml_engineer, credit, model_version=slow_version(ml_engineer, credit))
    ends = {
        run.pk: list(
            AuditEvent.objects.filter(object_id=str(run.pk), object_type="audits.validationrun")
            .order_by("seq")
            .values_list("verb", flat=True)
        )
        for run in (succeeded, failed)
    }
    assert ends == {
        succeeded.pk: ["validation.started", "validation.attempt_started", "validation.finished"],
        failed.pk: ["validation.started", "validation.attempt_started", "validation.failed"],
    }


def test_a_predictions_only_run_validates_the_predictions_held_by_the_test_dataset(ml_engineer, credit):
    from models_registry.services import dataset_register
    from tests.audits.validation_support import FEATURES, credit_frame, credit_model, csv_bytes, uploaded

    frame = credit_frame(240, seed=5)
    model = credit_model(credit_frame(400, seed=1))
    frame["prediction"] = model.predict(frame[FEATURES])
    frame["score"] = model.predict_proba(frame[FEATURES])[:, 1].round(4)
    scored = dataset_register(
        actor=ml_engineer,
        system=credit.system,
        name="scored",
        role="test",
        file=uploaded("scored.csv", csv_bytes(frame)),
        target_column="default",
        prediction_column="prediction",
        score_column="score",
        sensitive_columns=["sex"],
    )
    run = run_now(ml_engineer, credit, model_version=None, system=credit.system, test_dataset=scored, suite="standard")
    assert run.status == "succeeded", run.error_message
    assert run.reproducibility["inputs"]["model_sha256"] is None
    perf = run.results.get(check_id="PERF-01")
    assert perf.status in ("pass", "warn") and perf.value > 0.7
    needs_model = run.results.filter(summary__startswith="Needs a model to call")
    assert needs_model.exists() and not needs_model.exclude(status="not_evaluable").exists()
