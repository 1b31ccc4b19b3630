"""Periodic work of the governance app. Tasks take ids (or nothing) and call a service."""

from __future__ import annotations

from celery import shared_task

from core.tasks import AuditedTask


@shared_task(name="governance.evidence_staleness_sweep", base=AuditedTask, acks_late=True)
def evidence_staleness_sweep() -> dict:
    """Obligations whose evidence is older than its maximum age go back to needs rework.
    Idempotent (a re-delivered message finds nothing more to move), hence acks_late."""
    from governance.services import evidence_staleness_sweep as sweep

    moved = sweep()
    return {"moved": moved}


from governance.risks.tasks import risk_review_reminders  # noqa: E402,F401  (registers the task)
