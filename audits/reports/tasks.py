"""The reports' worker tasks. Services enqueue them by name (`core.enqueue`), never by import."""

from celery import shared_task

from core.tasks import AuditedTask


@shared_task(name="audits.report_pdf_prepare", base=AuditedTask, acks_late=True)
def report_pdf_prepare(job_id: int) -> dict:
    """Claim one PDF report job and prepare the file; a failure is recorded on the job in words.
    Safe to deliver twice: the claim is a conditional UPDATE, a second delivery exits."""
    import logging
    import uuid

    from audits.reports import jobs

    token = uuid.uuid4().hex
    job = jobs.report_job_claim(job_id=job_id, token=token)
    if job is None:
        return {"job": job_id, "claimed": False}
    try:
        jobs.report_job_execute(job=job, token=token)
    except Exception:  # the task boundary: record the failure on the job, never lose it
        logging.getLogger(__name__).exception("PDF report job %s failed", job_id)
        jobs.report_job_fail(
            job_id=job_id,
            token=token,
            message="The report could not be prepared because of an internal error in the portal; try again, "
            "and tell an administrator if it fails again.",
        )
        return {"job": job_id, "claimed": True, "status": "failed"}
    return {"job": job_id, "claimed": True, "status": "done"}


@shared_task(name="audits.report_jobs_reap_stale", base=AuditedTask)
def report_jobs_reap_stale_task() -> list[int]:
    """Periodic (beat): fail PDF report jobs whose worker stopped, with a reason."""
    from audits.reports.jobs import report_jobs_reap_stale

    return report_jobs_reap_stale()
