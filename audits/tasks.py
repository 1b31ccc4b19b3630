from celery import shared_task

from core.tasks import AuditedTask


@shared_task(name="audits.audit_trail_verify", base=AuditedTask, acks_late=True)
def audit_trail_verify_task(organisation_id: int | None = None) -> dict:
    """Verify one organisation's chain (on request) or every chain (nightly, from beat), and record
    the outcome as an audit event. Idempotent: running it twice just records two checks."""
    from audits.models import AuditChainHead
    from audits.services import audit_trail_verify

    if organisation_id is not None:
        targets = [organisation_id]
    else:
        targets = [int(c.split(":", 1)[1]) for c in
                   AuditChainHead.objects.filter(chain__startswith="org:").values_list("chain", flat=True)]
    outcome = {}
    for org_id in targets:
        result = audit_trail_verify(organisation_id=org_id, record_result=True)
        outcome[str(org_id)] = {"ok": result.ok, "checked": result.checked,
                                "breaks": [b.describe() for b in result.breaks]}
    return outcome
