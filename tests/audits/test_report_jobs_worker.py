"""The PDF report job end to end through the broker and a real Celery worker process."""

import pytest

from audits.reports import jobs
from audits.reports.models import ReportJob
from tests.audits.certification_support import (  # noqa: F401  (fixtures)
    certifiable,
    high_risk_approved,
    in_review,
    minimal_certifiable,
    submission,
)
from tests.audits.validation_support import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_requested_pdf_is_prepared_by_the_worker_and_stored(celery_worker_process, high_risk_approved, auditor):
    job = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    done = wait_for(lambda: ReportJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).first(), timeout=120)
    assert (done.status, done.progress, done.error_message) == ("done", 100, "")
    path = jobs.report_job_file(done)
    assert path is not None and path.read_bytes().startswith(b"%PDF-")
    assert jobs.report_job_request(actor=auditor, submission=high_risk_approved).pk == job.pk
