"""The base class of every Celery task, publishing that never fails the caller, the worker health
task, and housekeeping tasks of the shared kernel."""

from __future__ import annotations

import logging
import socket

from celery import Task, shared_task
from celery.signals import worker_ready

from core import context

logger = logging.getLogger(__name__)
# A publish from a web request gives up quickly instead of holding the page while the broker is down.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


class AuditedTask(Task):
    """Runs the task body inside the audit context of whoever enqueued it, so audit events a
    worker writes name that person and request."""

    def __call__(self, *args, **kwargs):
        headers = getattr(self.request, "audit_context", None)
        if headers is None:
            headers = (getattr(self.request, "headers", None) or {}).get("audit_context")
        with context.use(context.AuditContext.from_headers(headers)):
            return super().__call__(*args, **kwargs)


def task_enqueue(name: str, *, args: tuple = (), kwargs: dict | None = None, **options) -> None:
    """Publish the task registered as `name` (its dotted name, the one the beat schedule and queued
    messages use). Services enqueue by name so that no service imports a task module (tasks import
    services, never the other way round). Raises what the broker raises; `options` go to
    `apply_async` (retry, retry_policy, countdown...)."""
    from celery import current_app

    current_app.signature(name, args=args, kwargs=kwargs or {}).apply_async(**options)


def task_send(name: str, *, args: tuple = (), kwargs: dict | None = None) -> bool:
    """Publish the task named `name` for a worker; False, logged, when the broker does not take the
    message.

    For requests whose work may simply be asked for again (a trail verification): the person is
    told it was not queued instead of getting an error page. Work that must not be lost uses an
    outbox instead (validation runs: `audits.validation.services.validation_publish`)."""
    try:
        task_enqueue(name, args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # noqa: BLE001 — the publish boundary: the caller reports it, never a 500
        logger.warning("task %s could not be handed to the broker: %s: %s", name, type(exc).__name__, exc)
        return False
    return True


@shared_task(name="core.health_check", base=AuditedTask, ignore_result=False)
def health_check() -> dict:
    """Answers from a worker: proves the broker delivers and a worker executes. Echoes the audit
    context it ran under, which the tests use to prove context propagation."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    ctx = context.current()
    return {"worker": socket.gethostname(), "database": "ok", "actor_id": ctx.actor_id,
            "request_id": ctx.request_id, "origin": ctx.origin}


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
