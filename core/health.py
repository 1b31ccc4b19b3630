"""What /healthz reports: the database, the broker, and whether a worker answers."""

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
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}",
                "ms": round((time.monotonic() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _broker() -> str:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_type


def _worker() -> str:
    from config.celery import app

    # limit=1: return at the first reply instead of waiting out the whole timeout.
    replies = app.control.ping(timeout=settings.HEALTH_WORKER_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError("no worker answered a ping")
    return ", ".join(sorted(name for reply in replies for name in reply))


def check_all() -> dict:
    checks = {"database": _timed(_database), "broker": _timed(_broker), "worker": _timed(_worker)}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
