"""The submission's PDF report as a worker job with progress (issue #13: the first PDF takes about
10 s with nothing on screen).

`report_job_request` reuses a done job whose source hash still matches the submission (nothing the
report shows has changed), or an unfinished one, else creates a job and enqueues it after commit.
The worker claims the job with a conditional UPDATE (a second delivery finds it taken), records its
stage, progress and heartbeat, stores the file under DATA_DIR/reports and marks it done or failed
with a reason. `report_jobs_reap_stale` (beat) fails jobs whose worker stopped.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audits.reports import report
from audits.reports.models import ReportJob
from core.enqueue import task_send
from core.trail import audit_record

logger = logging.getLogger(__name__)
TASK_NAME = "audits.report_pdf_prepare"
# Rendering one report takes about 10 s between heartbeats; a job silent for longer than this lost its worker.
STALE_AFTER_S = 300
STALE_REASON = "The worker stopped while preparing the report; request it again."
UNCLAIMED_REASON = "No worker started preparing the report within 5 minutes; request it again."
NOT_QUEUED_REASON = "The report could not be handed to a worker (the job queue is not reachable); request it again."


def report_source_sha256(submission) -> str:
    """What the PDF is built from: the submission, its version and everything else the report shows."""
    key = f"{submission.pk}:v{submission.lock_version}:{report.report_fingerprint(submission)}"
    return hashlib.sha256(key.encode()).hexdigest()


def report_job_request(*, actor, submission) -> ReportJob:
    """The job that gives this submission's PDF as it is now: a reused one, or a new, queued one."""
    source = report_source_sha256(submission)
    with transaction.atomic():
        existing = (
            ReportJob.objects.select_for_update()
            .filter(
                submission=submission,
                source_sha256=source,
                status__in=[ReportJob.DONE, ReportJob.QUEUED, ReportJob.RUNNING],
            )
            .order_by("-pk")
            .first()
        )
        if existing is not None and (existing.status != ReportJob.DONE or _file(existing).is_file()):
            return existing
        job = ReportJob.objects.create(
            organisation_id=submission.organisation_id,
            submission=submission,
            requested_by=actor,
            source_sha256=source,
            stage="Waiting for a worker",
        )
        audit_record(
            verb="report.pdf_requested",
            target=job,
            actor=actor,
            after={"submission": submission.pk, "reference": submission.reference, "source_sha256": source},
        )
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(job_id))
    return job


def _enqueue(job_id: int) -> None:
    if not task_send(TASK_NAME, args=(job_id,)):
        report_job_fail(job_id=job_id, token=None, message=NOT_QUEUED_REASON)


def _file(job: ReportJob) -> Path:
    return Path(settings.DATA_DIR) / job.file_path if job.file_path else Path("/nonexistent")


def report_job_file(job: ReportJob) -> Path | None:
    """The stored PDF of a done job, None when it is gone (superseded by a newer report)."""
    path = _file(job)
    return path if job.status == ReportJob.DONE and path.is_file() else None


def report_job_claim(*, job_id: int, token: str) -> ReportJob | None:
    """Take a queued job for this worker; None when another delivery has it already."""
    now = timezone.now()
    taken = ReportJob.objects.filter(pk=job_id, status=ReportJob.QUEUED).update(
        status=ReportJob.RUNNING,
        claim_token=token,
        started_at=now,
        heartbeat_at=now,
        progress=5,
        stage="Starting",
        updated_at=now,
    )
    return ReportJob.objects.select_related("submission").get(pk=job_id) if taken else None


def report_job_progress(*, job_id: int, token: str, progress: int, stage: str) -> None:
    now = timezone.now()
    ReportJob.objects.filter(pk=job_id, claim_token=token, status=ReportJob.RUNNING).update(
        progress=progress, stage=stage, heartbeat_at=now, updated_at=now
    )


def report_job_execute(*, job: ReportJob, token: str) -> None:
    """Render the PDF in stages (progress and heartbeat after each) and mark the job done."""
    from audits.reports.pdf import html_to_pdf

    submission = report.submission_report_get(user=job.requested_by, pk=job.submission_id)
    report_job_progress(job_id=job.pk, token=token, progress=15, stage="Gathering the record and drawing the charts")
    html = report.submission_report_html(submission=submission, for_print=True)
    report_job_progress(job_id=job.pk, token=token, progress=40, stage="Laying out the pages")
    pdf = html_to_pdf(html, title=report.submission_report_title(submission), author=submission.organisation.name)
    report_job_progress(job_id=job.pk, token=token, progress=90, stage="Storing the file")
    path = report._cache_path(submission)
    report._cache_write(path, pdf)
    now = timezone.now()
    relative = str(path.relative_to(Path(settings.DATA_DIR)))
    with transaction.atomic():
        done = ReportJob.objects.filter(pk=job.pk, claim_token=token, status=ReportJob.RUNNING).update(
            status=ReportJob.DONE,
            progress=100,
            stage="Ready",
            file_path=relative,
            finished_at=now,
            heartbeat_at=now,
            updated_at=now,
        )
        if done:
            audit_record(
                verb="report.pdf_prepared",
                target=ReportJob.objects.get(pk=job.pk),
                actor=job.requested_by,
                after={"submission": submission.pk, "sha256": hashlib.sha256(pdf).hexdigest(), "bytes": len(pdf)},
            )


def report_job_fail(*, job_id: int, token: str | None, message: str) -> bool:
    """Fail an unfinished job with a reason in words (token None: whoever holds it)."""
    now = timezone.now()
    with transaction.atomic():
        jobs = ReportJob.objects.filter(pk=job_id, status__in=[ReportJob.QUEUED, ReportJob.RUNNING])
        if token is not None:
            jobs = jobs.filter(claim_token=token)
        failed = jobs.update(
            status=ReportJob.FAILED, error_message=message, stage="Failed", finished_at=now, updated_at=now
        )
        if failed:
            job = ReportJob.objects.get(pk=job_id)
            audit_record(verb="report.pdf_failed", target=job, actor=job.requested_by, after={"reason": message})
    return bool(failed)


def report_jobs_reap_stale() -> list[int]:
    """Periodic (beat): fail running jobs whose heartbeat stopped and queued ones no worker took."""
    cutoff = timezone.now() - timedelta(seconds=STALE_AFTER_S)
    running = ReportJob.objects.filter(status=ReportJob.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    queued = ReportJob.objects.filter(status=ReportJob.QUEUED, created_at__lt=cutoff).values_list("pk", flat=True)
    failed = [pk for pk in list(running) if report_job_fail(job_id=pk, token=None, message=STALE_REASON)]
    return failed + [pk for pk in list(queued) if report_job_fail(job_id=pk, token=None, message=UNCLAIMED_REASON)]
