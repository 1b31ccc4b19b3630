"""The daily certification sweeps claim each row with a conditional UPDATE (a condition recorded as
met between the sweep's read and its write stays met; a certificate revoked since the scan is not
expired) and one bad row does not stop the rest of the sweep. The races are made deterministic by
running the other person's action just before the sweep's own statement reaches the database."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audits.certification import certificates as certs
from audits.certification import services as svc
from audits.certification.models import Certificate, Condition
from core.models import AuditEvent, Notification
from tests.audits.certification_support import PASSWORD, decide_all, make_certifiable
from tests.governance.conftest import MINIMAL

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@contextlib.contextmanager
def just_before(statement: str, table: str, action, *, nth: int = 1):
    """Run `action()` right before the `nth` `statement` (SELECT, UPDATE...) on `table` executes:
    the moment between the sweep's read and its write, where another request may commit."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        if len(seen) < nth and sql.lstrip().upper().startswith(statement) and f'"{table}"' in sql:
            seen.append(sql)
            if len(seen) == nth:
                action()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen
    assert len(seen) == nth, f"the sweep never ran {statement} number {nth} on {table}"


@pytest.fixture
def with_conditions(in_review, auditor, compliance_officer, ml_engineer):
    """An approved high-risk submission whose certificate carries two conditions due in 5 and 10 days."""
    decide_all(in_review, auditor)
    svc.submission_sign(
        actor=auditor,
        submission=in_review,
        decision="approve_with_conditions",
        password=PASSWORD,
        reason="Fine once monitoring is in place.",
        valid_until=TODAY + timedelta(days=200),
        conditions=[
            {"text": "Drift monitoring", "owner": ml_engineer.pk, "due_date": TODAY + timedelta(days=5)},
            {"text": "Quarterly fairness report", "owner": ml_engineer.pk, "due_date": TODAY + timedelta(days=10)},
        ],
    )
    svc.submission_sign(
        actor=compliance_officer,
        submission=in_review,
        decision="approve",
        password=PASSWORD,
        reason="Obligations are covered.",
    )
    in_review.refresh_from_db()
    return in_review


def test_a_condition_met_between_the_sweeps_read_and_write_stays_met_and_the_certificate_valid(
    with_conditions, ml_engineer
):
    first = with_conditions.conditions.order_by("due_date").first()

    def met_meanwhile():
        certs.condition_mark_met(actor=ml_engineer, condition=first, note="Dashboards went live this morning.")

    with just_before("UPDATE", "audits_condition", met_meanwhile):
        swept = certs.conditions_sweep(today=TODAY + timedelta(days=6))
    first.refresh_from_db()
    assert first.status == "met", "the sweep did not overwrite the met condition"
    assert swept["overdue"] == [] and "errors" not in swept
    assert Certificate.objects.get().status == "valid"
    assert not AuditEvent.objects.filter(verb__in=("condition.overdue", "certificate.suspended")).exists()


def test_a_condition_met_between_the_reminder_sweeps_read_and_write_is_not_reminded(with_conditions, ml_engineer):
    Condition.objects.filter(submission=with_conditions, due_date=TODAY + timedelta(days=10)).delete()
    condition = with_conditions.conditions.get()

    def met_meanwhile():
        certs.condition_mark_met(actor=ml_engineer, condition=condition, note="Done ahead of the due date.")

    with just_before("UPDATE", "audits_condition", met_meanwhile):
        swept = certs.conditions_sweep()
    assert swept["reminded"] == []
    assert not Notification.objects.filter(kind="condition.due").exists()
    condition.refresh_from_db()
    assert condition.reminded_at is None and condition.status == "met"


def test_each_condition_is_reminded_once_even_by_two_sweeps(with_conditions):
    assert len(certs.conditions_sweep()["reminded"]) == 2
    assert certs.conditions_sweep()["reminded"] == []
    assert Notification.objects.filter(kind="condition.due").count() == 2
    assert AuditEvent.objects.filter(verb="condition.reminder_sent").count() == 2


def test_one_condition_that_fails_does_not_stop_the_others_from_becoming_overdue(with_conditions, monkeypatch):
    first, second = with_conditions.conditions.order_by("due_date")
    real, calls = certs.certificate_suspend, []

    def suspend_failing_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("the mail relay timed out")
        return real(**kwargs)

    monkeypatch.setattr(certs, "certificate_suspend", suspend_failing_once)
    swept = certs.conditions_sweep(today=TODAY + timedelta(days=11))
    assert swept["overdue"] == [second.pk]
    assert swept["errors"] == [
        {"sweep": "overdue", "condition": str(first.pk), "error": "RuntimeError: the mail relay timed out"}
    ]
    first.refresh_from_db()
    assert first.status == "open", "its claim was rolled back with the failure, so the next sweep retries it"
    assert Certificate.objects.get().status == "suspended"
    assert certs.conditions_sweep(today=TODAY + timedelta(days=11))["overdue"] == [first.pk]


def approved_minimal(ml_engineer, compliance_officer, auditor, org_admin, name: str) -> Certificate:
    ready = make_certifiable(ml_engineer, compliance_officer, answers=MINIMAL, name=name)
    submission = svc.submission_create(actor=ml_engineer, model_version=ready.version)
    svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=auditor)
    decide_all(submission, auditor)
    svc.submission_sign(
        actor=auditor,
        submission=submission,
        decision="approve",
        password=PASSWORD,
        reason="Every finding was reviewed and accepted.",
    )
    return Certificate.objects.get(submission=submission)


def test_a_certificate_revoked_since_the_expiry_sweeps_scan_stays_revoked(
    ml_engineer, compliance_officer, auditor, org_admin
):
    certificate = approved_minimal(ml_engineer, compliance_officer, auditor, org_admin, "Ticket router")
    later = certificate.valid_until + timedelta(days=1)

    def revoked_meanwhile():
        certs.certificate_revoke(actor=compliance_officer, certificate=certificate, reason="Model withdrawn from use.")

    with just_before("SELECT", "audits_certificate", revoked_meanwhile, nth=2):
        swept = certs.certificates_expire_sweep(today=later)
    assert swept == {"expired": []}
    certificate.refresh_from_db()
    assert certificate.status == "revoked" and certificate.submission.status == "revoked"
    assert not AuditEvent.objects.filter(verb="certificate.expired").exists()


def test_one_certificate_that_fails_to_expire_does_not_stop_the_others(
    ml_engineer, compliance_officer, auditor, org_admin, monkeypatch
):
    one = approved_minimal(ml_engineer, compliance_officer, auditor, org_admin, "Ticket router")
    two = approved_minimal(ml_engineer, compliance_officer, auditor, org_admin, "Chat assistant")
    real, calls = certs._change, []

    def change_failing_once(certificate, **kwargs):
        calls.append(certificate.pk)
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")
        return real(certificate, **kwargs)

    monkeypatch.setattr(certs, "_change", change_failing_once)
    later = max(one.valid_until, two.valid_until) + timedelta(days=1)
    swept = certs.certificates_expire_sweep(today=later)
    failed, expired = calls[0], calls[1]
    assert swept["expired"] == [str(expired)]
    assert swept["errors"] == [
        {"sweep": "expired", "certificate": str(failed), "error": "RuntimeError: deadlock detected"}
    ]
    assert Certificate.objects.get(pk=expired).status == "expired"
    assert Certificate.objects.get(pk=failed).status == "valid", "retried by the next sweep"


def test_the_daily_task_reports_rows_that_failed_and_still_sweeps_the_rest(with_conditions, monkeypatch):
    from audits.certification.tasks import certification_daily_sweep_task

    def failing(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(certs, "certificate_suspend", failing)
    Condition.objects.filter(submission=with_conditions).update(due_date=TODAY - timedelta(days=1))
    result = certification_daily_sweep_task.apply().get()
    assert result["overdue"] == [] and len(result["errors"]) == 2 and result["expired"] == []
