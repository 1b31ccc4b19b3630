"""The certification wing's periodic task (beat: CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from core.tasks import AuditedTask


@shared_task(name="audits.certification_daily_sweep", base=AuditedTask)
def certification_daily_sweep_task() -> dict:
    """Conditions falling due or overdue (which suspends the certificate), and expired certificates.
    A row that fails is listed under "errors" (and logged) and the sweep carries on with the rest."""
    from audits.certification import certificates

    result = certificates.conditions_sweep()
    expiry = certificates.certificates_expire_sweep()
    result["expired"] = expiry["expired"]
    errors = result.get("errors", []) + expiry.get("errors", [])
    if errors:  # each failed row is logged with its traceback; the task result lists them too
        result["errors"] = errors
    return result
