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


@pytest.mark.skipif(connection.vendor != "postgresql" and os.environ.get("CI") != "true",
                    reason="concurrent transactions need PostgreSQL (CI runs this there)")
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_signing_at_once_produce_exactly_one_certificate(ml_engineer, compliance_officer, org_admin,
                                                                       auditor):
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
            svc.submission_sign(actor=person, submission=submission, decision="approve", password=PASSWORD,
                                reason="Reviewed every finding and chart.", expected_version=version)
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
