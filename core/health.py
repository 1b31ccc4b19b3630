"""What /healthz reports: the database, the broker, whether a worker answers, and whether that
worker loads models inside the sandbox."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        detail = check()
        return {"ok": True, "detail": detail, "ms": round((time.monotonic() - started) * 1000, 1)}
    except Exception as exc:  # a health endpoint reports failures, it does not raise them
        return {
            "ok": False,
            "detail": f"{type(exc).__name__}: {exc}",
            "ms": round((time.monotonic() - started) * 1000, 1),
        }


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _broker() -> str:
    from celery import current_app as app  # the portal's app (config/__init__.py); core stays below config

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_type


def _worker() -> str:
    from celery import current_app as app

    # limit=1: return at the first reply instead of waiting out the whole timeout.
    replies = app.control.ping(timeout=settings.HEALTH_WORKER_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError("no worker answered a ping")
    return ", ".join(sorted(name for reply in replies for name in reply))


def _model_sandbox() -> str:
    """Whether the worker that answers loads models inside the sandbox (a worker without it refuses
    pickle-based models: validations of them fail until an operator fixes the host)."""
    from celery import current_app as app

    replies = app.control.broadcast("model_sandbox", reply=True, timeout=settings.HEALTH_WORKER_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    ((worker, status),) = replies[0].items()
    if not status.get("available"):
        raise RuntimeError(
            f"{worker}: the model sandbox is not available, so pickle-based models are refused: {status.get('reason')}"
        )
    note = f" ({status['reason']})" if status.get("reason") else ""
    return f"{worker}: {status.get('mechanism')} {status.get('version', '')} as {status.get('user')}{note}"


def check_all() -> dict:
    checks = {
        "database": _timed(_database),
        "broker": _timed(_broker),
        "worker": _timed(_worker),
        "model_sandbox": _timed(_model_sandbox),
    }
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
