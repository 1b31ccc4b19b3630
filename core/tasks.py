"""The base class of every Celery task, the worker health task, and housekeeping tasks of the shared
kernel. Publishing lives in `core.enqueue` (services import that, never a task module)."""

from __future__ import annotations

import logging
import socket

from celery import Task, shared_task
from celery.signals import worker_ready

from core import context

logger = logging.getLogger(__name__)


class AuditedTask(Task):
    """Runs the task body inside the audit context of whoever enqueued it, so audit events a
    worker writes name that person and request."""

    def __call__(self, *args, **kwargs):
        headers = getattr(self.request, "audit_context", None)
        if headers is None:
            headers = (getattr(self.request, "headers", None) or {}).get("audit_context")
        with context.use(context.AuditContext.from_headers(headers)):
            return super().__call__(*args, **kwargs)


@shared_task(name="core.health_check", base=AuditedTask, ignore_result=False)
def health_check() -> dict:
    """Answers from a worker: proves the broker delivers and a worker executes. Echoes the audit
    context it ran under, which the tests use to prove context propagation."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    ctx = context.current()
    return {
        "worker": socket.gethostname(),
        "database": "ok",
        "actor_id": ctx.actor_id,
        "request_id": ctx.request_id,
        "origin": ctx.origin,
    }


@shared_task(name="core.upload_temp_sweep", base=AuditedTask)
def upload_temp_sweep_task() -> dict:
    """Periodic (beat), and once when a worker starts: delete upload temporary files a killed web
    process left behind (untouched for UPLOAD_TEMP_MAX_AGE_HOURS). Idempotent."""
    from core.sweeps import upload_temp_sweep

    return upload_temp_sweep().as_dict()


@worker_ready.connect
def _sweep_upload_temp_at_start(**_) -> None:
    """A restart is when leftovers of a killed process are most likely: sweep at once rather than
    at the next beat. In the worker's main process, before it takes tasks; never stops the start."""
    from core.sweeps import upload_temp_sweep

    try:
        upload_temp_sweep()
    except Exception:  # noqa: BLE001 — housekeeping must not keep a worker from starting
        logger.exception("the upload temporary file sweep at worker start failed")


@shared_task(
    name="core.notification_email",
    base=AuditedTask,
    bind=True,
    acks_late=True,
    max_retries=5,
    retry_backoff=True,
)
def notification_email_task(self, notification_ids: list[int]) -> dict:
    """E-mail notifications after the change that caused them committed (a digest once its window
    has closed). Idempotent (a row records that its e-mail left, and is locked while it leaves), hence
    acks_late; a mail server that is away is retried with a growing pause, up to five times."""
    from core.notifications import notification_email

    try:
        return {"sent": notification_email(notification_ids=notification_ids, raise_errors=True)}
    except Exception as exc:  # noqa: BLE001 — task boundary: every mail failure is worth another try
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc
