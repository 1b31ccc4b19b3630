"""Publishing tasks by their dotted names (issue #12 item 17).

Services enqueue through here, so that no service imports a task module: tasks import services,
never the other way round (an import-linter contract keeps it so). The names are the ones the beat
schedule (CELERY_BEAT_SCHEDULE) and already queued messages use.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)
# A publish from a web request gives up quickly instead of holding the page while the broker is down.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


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
