"""Two reviewers signing the same submission at the same moment get one certificate between them
(PostgreSQL: real concurrent transactions; CI runs this there)."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection

from audits.certification import services as svc
from audits.certification.models import Certificate
from core.errors import Conflict
from tests.audits.certification_support import PASSWORD, decide_all, make_certifiable, seed_application_dates
from tests.conftest import make_user
from tests.governance.conftest import MINIMAL


@pytest.mark.skipif(
    connection.vendor != "postgresql" and os.environ.get("CI") != "true",
    reason="concurrent transactions need PostgreSQL (CI runs this there)",
)
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_signing_at_once_produce_exactly_one_certificate(
    ml_engineer, compliance_officer, org_admin, auditor
):
    from django.db import connection as thread_connection

    seed_application_dates()
    ready = make_certifiable(ml_engineer, compliance_officer, answers=MINIMAL, name="Ticket router")
    second = make_user(auditor.organisation, "aurora", "auditor")
    submission = svc.submission_create(actor=ml_engineer, model_version=ready.version)
    svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=auditor)
    svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=second)
    decide_all(submission, auditor)
    submission.refresh_from_db()
    version = submission.lock_version
    barrier, outcomes = threading.Barrier(2), []

    def sign(person):
        try:
            barrier.wait()
            svc.submission_sign(
                actor=person,
                submission=submission,
                decision="approve",
                password=PASSWORD,
                reason="Reviewed every finding and chart.",
                expected_version=version,
            )
            outcomes.append("signed")
        except Conflict as error:
            outcomes.append(error.code)
        finally:
            thread_connection.close()  # each thread has its own connection; close it for teardown

    threads = [threading.Thread(target=sign, args=(p,)) for p in (auditor, second)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["signed", "stale"]
    assert Certificate.objects.filter(submission=submission).count() == 1
    assert submission.signoffs.count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql" and os.environ.get("CI") != "true",
    reason="concurrent transactions need PostgreSQL (CI runs this there)",
)
@pytest.mark.django_db(transaction=True)
def test_two_systems_of_one_organisation_submitting_at_once_get_consecutive_numbers(ml_engineer, compliance_officer):
    """Each thread holds its INSERT of the submission until the other reaches its own (or 3 s pass):
    numbers computed as "max + 1" collide there every time; numbers from the counter row cannot,
    because the second thread waits for the counter's lock instead."""
    from django.db import connection as thread_connection

    seed_application_dates()
    first = make_certifiable(ml_engineer, compliance_officer, answers=MINIMAL, name="Ticket router")
    second = make_certifiable(ml_engineer, compliance_officer, answers=MINIMAL, name="Chat assistant")
    assert connection.vendor == "postgresql", "CI must run this on PostgreSQL"
    barrier, outcomes = threading.Barrier(2, timeout=3), []

    def hold_the_insert(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith('INSERT INTO "AUDITS_SUBMISSION"'):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass  # the other thread is waiting for the counter's lock: go on alone
        return execute(sql, params, many, context)

    def submit(version):
        try:
            with thread_connection.execute_wrapper(hold_the_insert):
                outcomes.append(svc.submission_create(actor=ml_engineer, model_version=version).number)
        except Exception as error:  # noqa: BLE001 — the test reports what each submitter got
            outcomes.append(type(error).__name__)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=submit, args=(ready.version,)) for ready in (first, second)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes, key=str) == [1, 2]
    from audits.certification.models import SubmissionCounter

    assert SubmissionCounter.objects.get(organisation=ml_engineer.organisation).last_number == 2
