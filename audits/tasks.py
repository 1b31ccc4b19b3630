from celery import shared_task

from core.tasks import AuditedTask

# The wings' tasks live in audits/validation/tasks.py and audits/certification/tasks.py (CELERY_IMPORTS);
# every task keeps the dotted name the beat schedule and queued messages use.


@shared_task(name="audits.audit_trail_verify", base=AuditedTask, acks_late=True)
def audit_trail_verify_task(organisation_id: int | None = None) -> dict:
    """Verify one organisation's chain (on request) or every chain (nightly, from beat), and record
    the outcome as an audit event. Idempotent: running it twice just records two checks."""
    from audits.services import audit_trail_verify
    from core.models import AuditChainHead

    if organisation_id is not None:
        targets = [organisation_id]
    else:
        targets = [
            int(c.split(":", 1)[1])
            for c in AuditChainHead.objects.filter(chain__startswith="org:").values_list("chain", flat=True)
        ]
    outcome = {}
    for org_id in targets:
        result = audit_trail_verify(organisation_id=org_id, record_result=True)
        outcome[str(org_id)] = {
            "ok": result.ok,
            "checked": result.checked,
            "breaks": [b.describe() for b in result.breaks],
        }
    return outcome
