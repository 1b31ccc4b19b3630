"""Validation runs end to end through the broker and a real Celery worker process."""

import pytest

from audits.models import CheckResultRecord, Finding, ValidationRun
from audits.validation.services import validation_cancel, validation_start
from core.models import AuditEvent
from tests.audits import misbehaving_models as bad
from tests.audits.validation_support import (  # noqa: F401
    credit,
    credit_frame,
    credit_model,
    finished,
    register_unscanned_version,
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def clean_audit_context():
    """Each test starts as a fresh web request would; force_login in earlier tests of this process
    leaves its user in the audit context otherwise."""
    from core import context

    with context.use(context.AuditContext(origin="web", request_id="validation-worker-test")):
        yield


def as_user(user):
    from core import context

    return context.use(context.AuditContext(actor_id=user.pk, origin="web", request_id=f"req-{user.pk}"))


def events_of(run) -> list[tuple[str, int | None, str]]:
    return list(
        AuditEvent.objects.filter(object_type="audits.validationrun", object_id=str(run.pk))
        .order_by("seq")
        .values_list("verb", "actor_id", "origin")
    )


def test_a_run_goes_from_queued_through_progress_to_succeeded_with_results_and_findings(
    celery_worker_process, ml_engineer, credit
):
    with as_user(ml_engineer):
        run = validation_start(
            actor=ml_engineer,
            model_version=credit.version,
            test_dataset=credit.test,
            train_dataset=credit.train,
            suite="full",
        )
    seen = []

    def observe():
        current = ValidationRun.objects.get(pk=run.pk)
        if current.status == "running" and current.current_check:
            seen.append(current.progress_percent)
        return current if current.status in ("succeeded", "failed", "cancelled") else None

    run = wait_for(observe, timeout=180, every=0.1)
    assert any(0 < percent < 100 for percent in seen), f"progress seen while running: {seen}"
    assert seen == sorted(seen), "progress only moves forward"
    assert run.status == "succeeded", run.error_message
    assert run.progress_percent == 100 and run.heartbeat_at >= run.started_at
    assert CheckResultRecord.objects.filter(run=run).count() == run.checks_total
    assert Finding.objects.filter(run=run).exists()
    assert [v for v, _, _ in events_of(run)] == [
        "validation.started",
        "validation.attempt_started",
        "validation.finished",
    ]
    assert events_of(run)[-1] == ("validation.finished", ml_engineer.pk, "task"), "the worker acts for the requester"


def test_the_same_message_delivered_twice_does_not_duplicate_results(celery_worker_process, ml_engineer, credit):
    from audits.validation.tasks import validation_run_execute

    run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")
    second = validation_run_execute.delay(run.pk)  # a re-delivery racing the first message
    run = wait_for(lambda: finished(run.pk))
    assert second.get(timeout=60)["run"] == run.pk
    again = validation_run_execute.delay(run.pk).get(timeout=60)
    assert again == {"run": run.pk, "claimed": False}
    assert CheckResultRecord.objects.filter(run=run).count() == run.checks_total
    assert AuditEvent.objects.filter(verb="validation.finished", object_id=str(run.pk)).count() == 1


def test_a_running_run_is_cancelled_after_its_current_check_and_keeps_what_it_found(
    celery_worker_process, ml_engineer, auditor, credit
):
    slow = register_unscanned_version(
        ml_engineer, credit.system, bad.SleepingModel(credit_model(credit_frame(400, seed=1)), delay=0.4), "slow"
    )
    run = validation_start(actor=ml_engineer, model_version=slow, test_dataset=credit.test, suite="standard")
    wait_for(lambda: ValidationRun.objects.filter(pk=run.pk, checks_done__gte=2).exists(), timeout=120, every=0.2)
    validation_cancel(actor=auditor, run=ValidationRun.objects.get(pk=run.pk), reason="wrong test data")
    run = wait_for(lambda: finished(run.pk), timeout=90)
    assert run.status == "cancelled"
    assert 0 < CheckResultRecord.objects.filter(run=run).count() < run.checks_total
    assert [v for v, _, _ in events_of(run)] == [
        "validation.started",
        "validation.attempt_started",
        "validation.cancel_requested",
        "validation.cancelled",
    ]


def test_a_model_that_segfaults_fails_its_run_with_a_reason_and_the_worker_takes_the_next_run(
    celery_worker_process, ml_engineer, credit
):
    crashing = register_unscanned_version(
        ml_engineer, credit.system, bad.SegfaultingModel(credit_model(credit_frame(400, seed=1))), "segv"
    )
    crashed = validation_start(actor=ml_engineer, model_version=crashing, test_dataset=credit.test, suite="quick")
    healthy = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")
    crashed = wait_for(lambda: finished(crashed.pk))
    assert crashed.status == "failed"
    assert crashed.error_message == (
        "The validation failed: the model crashed the validation process (segmentation fault)."
    )
    assert wait_for(lambda: finished(healthy.pk)).status == "succeeded"
    assert celery_worker_process.poll() is None, "the worker process is still alive"
    assert [v for v, _, _ in events_of(crashed)] == [
        "validation.started",
        "validation.attempt_started",
        "validation.failed",
    ]
