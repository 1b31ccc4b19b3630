"""Beat tasks of the audit trail kept apart from audits/tasks.py (loaded through CELERY_IMPORTS)."""

from celery import shared_task

from core.tasks import AuditedTask


@shared_task(name="audits.audit_trail_checkpoint", base=AuditedTask)
def audit_trail_checkpoint_task() -> dict:
    """Sign every chain head that moved since its last checkpoint (audits.checkpoints). Re-running
    is harmless: an unchanged head is not signed again."""
    from audits.services import audit_trail_checkpoint_write

    written = audit_trail_checkpoint_write()
    return {"checkpoints": [f"{d['payload']['chain']}#{d['payload']['seq']}" for d in written]}
