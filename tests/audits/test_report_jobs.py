"""The submission's PDF report prepared by a worker job with progress (issue #13)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audits.reports import jobs
from audits.reports.models import ReportJob
from core.models import AuditEvent
from tests.audits.certification_support import (  # noqa: F401  (fixtures)
    certifiable,
    high_risk_approved,
    in_review,
    minimal_certifiable,
    submission,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(monkeypatch):
    """Tasks run in the request, after its commit (as a worker would run them); a publish by name
    (send_task) ignores task_always_eager, so the publish applies the registered task instead."""
    from celery import current_app

    import audits.reports.tasks  # noqa: F401  (registers the task)

    def apply(name, *, args=(), kwargs=None):
        current_app.tasks[name].apply(args=args, kwargs=kwargs or {}, throw=True)
        return True

    monkeypatch.setattr(jobs, "task_send", apply)
    # The test's transaction never commits: the after-commit publish runs at once instead.
    monkeypatch.setattr(jobs.transaction, "on_commit", lambda callback, *a, **k: callback())


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_requesting_the_pdf_prepares_it_in_a_job_and_the_download_serves_the_file(high_risk_approved, auditor, eager):
    client = client_for(auditor)
    response = client.post(reverse("reports:submission_report_job_request", args=[high_risk_approved.pk]))
    job = ReportJob.objects.get(submission=high_risk_approved)
    assert response.status_code == 302 and response["Location"] == reverse("reports:report_job", args=[job.pk])
    state = client.get(reverse("reports:report_job_status", args=[job.pk])).json()
    assert (state["status"], state["progress"], state["stage"]) == ("done", 100, "Ready")
    page = client.get(response["Location"]).content.decode()
    assert "The PDF is ready" in page and state["download_url"] in page
    download = client.get(state["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert high_risk_approved.reference in download["Content-Disposition"]
    verbs = set(AuditEvent.objects.filter(object_id=str(job.pk)).values_list("verb", flat=True))
    assert {"report.pdf_requested", "report.pdf_prepared"} <= verbs


def test_an_unchanged_submission_reuses_the_prepared_pdf(high_risk_approved, auditor, eager):
    first = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    second = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    assert second.pk == first.pk
    assert ReportJob.objects.filter(submission=high_risk_approved).count() == 1


def test_a_changed_submission_gets_a_new_job(high_risk_approved, auditor, ml_engineer, eager):
    from audits.certification.services import finding_comment_add

    first = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    finding = high_risk_approved.validation_run.findings.first()
    finding_comment_add(actor=ml_engineer, submission=high_risk_approved, finding=finding, body="Planned for Q3.")
    second = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    assert second.pk != first.pk and second.source_sha256 != first.source_sha256
    second.refresh_from_db()
    assert second.status == ReportJob.DONE


def test_a_job_that_fails_says_why_and_offers_to_try_again(high_risk_approved, auditor, eager, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("pango is missing")

    monkeypatch.setattr("audits.reports.pdf.html_to_pdf", broken)
    client = client_for(auditor)
    response = client.post(reverse("reports:submission_report_job_request", args=[high_risk_approved.pk]))
    job = ReportJob.objects.get(submission=high_risk_approved)
    assert job.status == ReportJob.FAILED and "could not be prepared" in job.error_message
    page = client.get(response["Location"]).content.decode()
    assert "could not be prepared" in page and "Try again" in page
    assert client.get(reverse("reports:report_job_download", args=[job.pk])).status_code == 404


def test_a_job_whose_worker_stopped_is_failed_with_a_reason_by_the_sweep(high_risk_approved, auditor):
    job = jobs.report_job_request(actor=auditor, submission=high_risk_approved)  # no worker: stays queued
    assert jobs.report_job_claim(job_id=job.pk, token="t" * 32) is not None
    assert jobs.report_jobs_reap_stale() == [], "a job with a fresh heartbeat is left alone"
    ReportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert jobs.report_jobs_reap_stale() == [job.pk]
    job.refresh_from_db()
    assert job.status == ReportJob.FAILED
    assert job.error_message == "The worker stopped while preparing the report; request it again."
    waiting = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    ReportJob.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert jobs.report_jobs_reap_stale() == [waiting.pk]
    waiting.refresh_from_db()
    assert waiting.error_message == "No worker started preparing the report within 5 minutes; request it again."
    # A failed job is not reused: asking again makes a new one.
    assert jobs.report_job_request(actor=auditor, submission=high_risk_approved).pk not in (job.pk, waiting.pk)


def test_a_second_delivery_of_the_same_job_finds_it_taken(high_risk_approved, auditor):
    job = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    assert jobs.report_job_claim(job_id=job.pk, token="a" * 32) is not None
    assert jobs.report_job_claim(job_id=job.pk, token="b" * 32) is None


def test_a_queued_job_page_shows_its_progress_without_javascript(high_risk_approved, auditor):
    job = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    page = client_for(auditor).get(reverse("reports:report_job", args=[job.pk])).content.decode()
    words = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "Preparing the PDF… Waiting for a worker (0%)" in words and "Reload this page" in words
    assert "<script>" not in page, "no inline script (strict CSP)"


READERS = {
    "anonymous": 302,
    "ml_engineer": 200,
    "auditor": 200,
    "compliance_officer": 200,
    "org_admin": 200,
    "outsider": 404,
}


def test_every_member_may_request_the_pdf_and_nobody_else(high_risk_approved, permission_matrix):
    url = reverse("reports:submission_report_job_request", args=[high_risk_approved.pk])
    redirected = {k: (302 if v == 200 else v) for k, v in READERS.items()}
    assert permission_matrix(lambda client: client.post(url)) == redirected


@pytest.mark.parametrize("name", ["reports:report_job", "reports:report_job_status", "reports:report_job_download"])
def test_every_member_may_follow_and_download_a_pdf_job_and_nobody_else(
    name, high_risk_approved, auditor, permission_matrix, eager
):
    job = jobs.report_job_request(actor=auditor, submission=high_risk_approved)
    url = reverse(name, args=[job.pk])
    assert permission_matrix(lambda client: client.get(url)) == READERS
