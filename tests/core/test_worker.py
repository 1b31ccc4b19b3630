"""Tasks go through the configured broker (Redis in CI) to a real worker process."""

import pytest
from django.test import Client

from core import context

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_sent_through_the_broker_is_executed_by_a_real_worker(celery_worker_process):
    from django.conf import settings

    from core.tasks import health_check

    result = health_check.delay().get(timeout=30)
    assert result["database"] == "ok"
    assert result["worker"]
    if __import__("os").environ.get("CI") == "true":
        assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_the_worker_runs_the_task_as_the_user_who_triggered_it(celery_worker_process, org_admin):
    from core.tasks import health_check

    with context.use(context.AuditContext(actor_id=org_admin.pk, request_id="req-from-the-web-1", origin="web")):
        result = health_check.delay().get(timeout=30)
    assert result["actor_id"] == org_admin.pk
    assert result["request_id"] == "req-from-the-web-1"
    assert result["origin"] == "task"


def test_a_verification_requested_in_the_browser_is_recorded_by_the_worker_as_that_user(
    celery_worker_process, org_admin
):
    import time

    from core.models import AuditEvent

    client = Client()
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/audit-trail/verify/")
    assert response.status_code == 302
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        event = AuditEvent.objects.filter(verb="audit_trail.verified").first()
        if event:
            break
        time.sleep(0.3)
    assert event is not None, "the worker never recorded the verification"
    assert (event.actor_id, event.origin, event.after["ok"]) == (org_admin.pk, "task", True)
    assert event.request_id == response["X-Request-ID"]


def test_healthz_reports_database_broker_and_worker_as_ok(celery_worker_process, settings):
    # A worker that has just started may first drain tasks that earlier tests left on its broker: give
    # its ping reply more than production's 2 s (this test is about the report, not the latency).
    settings.HEALTH_WORKER_TIMEOUT = 10
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert all(body["checks"][name]["ok"] for name in ("database", "broker", "worker", "model_sandbox"))


def test_healthz_says_the_real_worker_loads_models_inside_bubblewrap(celery_worker_process):
    body = Client().get("/healthz").json()
    sandbox = body["checks"]["model_sandbox"]
    assert sandbox["ok"] is True, sandbox
    assert "bubblewrap" in sandbox["detail"]
