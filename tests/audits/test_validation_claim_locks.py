"""Locks between workers on PostgreSQL (issue #15, found by bench/workers.py with two workers): the
claim of a run must not wait for, nor deadlock with, a supersession another worker runs for a run of
the same system, and a transient database error in the claim must not lose the run."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from audits.models import ValidationRun
from audits.validation import services as runs
from audits.validation.services import supersession_lock, validation_claim, validation_start
from audits.validation.tasks import validation_run_execute
from core.models import AuditEvent
from tests.audits.validation_support import credit  # noqa: F401


def queued_run(ml_engineer, credit, monkeypatch) -> ValidationRun:
    # Not handed to the broker: a worker of another test must not take it.
    monkeypatch.setattr(runs, "_enqueue", lambda run_id: None)
    return validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")


def lock_the_system_for_update(*, system_id: int) -> None:
    """As the submission of a version does (audits.certification.services): FOR UPDATE."""
    from models_registry.models import AISystem

    AISystem.objects.select_for_update().filter(pk=system_id).first()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's (CI runs this there)")
@pytest.mark.parametrize("lock", [supersession_lock, lock_the_system_for_update], ids=["supersession", "update"])
def test_a_run_is_claimed_while_another_transaction_holds_the_lock_of_its_system(
    ml_engineer, credit, monkeypatch, lock
):
    run = queued_run(ml_engineer, credit, monkeypatch)
    locked, release = threading.Event(), threading.Event()

    def supersession_in_progress():
        try:
            with transaction.atomic():
                lock(system_id=run.system_id)
                locked.set()
                release.wait(15)
        finally:
            connection.close()

    holder = threading.Thread(target=supersession_in_progress)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # waiting on the lock fails instead of hanging
        claimed = validation_claim(run_id=run.pk, token="worker-b")
    finally:
        release.set()
        holder.join(20)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert claimed is not None and claimed.status == "running" and claimed.attempts == 1
    assert [a["attempt"] for a in claimed.attempt_log] == [1]


@pytest.mark.django_db
def test_a_deadlock_in_the_claim_delivers_the_run_again_and_it_is_executed_once(ml_engineer, credit, monkeypatch):
    run = queued_run(ml_engineer, credit, monkeypatch)
    real_claim, failures = runs.validation_claim, []

    def claim_that_deadlocks_once(**kwargs):
        if not failures:
            failures.append(kwargs)
            raise OperationalError("deadlock detected")
        return real_claim(**kwargs)

    monkeypatch.setattr(runs, "validation_claim", claim_that_deadlocks_once)
    validation_run_execute.apply(args=[run.pk])
    run.refresh_from_db()
    assert len(failures) == 1
    assert run.status == "succeeded", run.error_message
    assert run.attempts == 1
    assert list(
        AuditEvent.objects.filter(object_type="audits.validationrun", object_id=str(run.pk))
        .order_by("seq")
        .values_list("verb", flat=True)
    ) == ["validation.started", "validation.attempt_started", "validation.finished"]
