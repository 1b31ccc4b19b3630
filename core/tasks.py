"""The base class of every Celery task, and the worker health task."""

from __future__ import annotations

import socket

from celery import Task, shared_task

from core import context


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
    return {"worker": socket.gethostname(), "database": "ok", "actor_id": ctx.actor_id,
            "request_id": ctx.request_id, "origin": ctx.origin}
