"""Validation runs survive a broker that is down (the run row is the outbox) and a worker that dies
(the next delivery takes the run over, fenced by a new claim token, up to VALIDATION_MAX_ATTEMPTS).
Services and task bodies in this process; the real-worker kills are in
test_validation_takeover_worker.py."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from audits.models import CheckResultRecord, ValidationRun
from audits.validation.services import (
    RunRecorder,
    validation_claim,
    validation_finish,
    validation_publish_pending,
    validation_reap_stale,
    validation_record_result,
    validation_start,
)
from audits.validation.tasks import validation_run_execute
from core.models import AuditEvent
from tests.audits.validation_support import credit, sample_result  # noqa: F401

pytestmark = pytest.mark.django_db
BROKER_DOWN = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def start(actor, credit, **overrides) -> ValidationRun:
    args = {"actor": actor, "model_version": credit.version, "test_dataset": credit.test, "suite": "quick"}
    args.update(overrides)
    return validation_start(**args)


def verbs(run) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="audits.validationrun", object_id=str(run.pk))
        .order_by("seq")
        .values_list("verb", flat=True)
    )


class Broker:
    """Stands in for the broker at the publish call: down (raises what kombu raises) or up (records)."""

    def __init__(self, monkeypatch, *, down: bool):
        self.down, self.sent = down, []
        monkeypatch.setattr(validation_run_execute, "apply_async", self.apply_async)

    def apply_async(self, args=(), kwargs=None, **options):
        if self.down:
            raise BROKER_DOWN
        self.sent.append({"args": tuple(args), "kwargs": kwargs or {}, "countdown": options.get("countdown")})


def api_for(user):
    from rest_framework.test import APIClient

    from core.models import ApiToken

    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="ci")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


# --- the outbox: a broker that is down -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the publish runs on a real commit, before the answer is written
def test_starting_a_run_while_the_broker_is_down_answers_202_with_the_run_queued_and_the_sweep_sends_it_later(
    ml_engineer, credit, monkeypatch
):
    broker = Broker(monkeypatch, down=True)
    response = api_for(ml_engineer).post(
        "/api/v1/validations/",
        {"model_version": credit.version.pk, "test_dataset": credit.test.pk, "suite": "quick"},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["waiting_for_broker"]) == ("queued", True)
    run = ValidationRun.objects.get(pk=body["id"])
    assert (run.status, run.published_at, run.publish_attempts) == ("queued", None, 1)
    assert "Connection refused" in run.publish_error
    assert verbs(run) == ["validation.started"], "the run is committed and in the trail"

    broker.down = False
    assert validation_publish_pending() == [], "not before its next try"
    assert validation_publish_pending(now=run.next_publish_at + timedelta(seconds=1)) == [run.pk]
    assert broker.sent == [{"args": (run.pk,), "kwargs": {}, "countdown": None}]
    run.refresh_from_db()
    assert run.published_at is not None and run.publish_error == "" and not run.waiting_for_broker
    assert validation_publish_pending(now=timezone.now() + timedelta(hours=1)) == [], "sent once"


def test_a_run_the_broker_took_at_once_is_not_sent_again_by_the_sweep(
    ml_engineer, credit, monkeypatch, django_capture_on_commit_callbacks
):
    broker = Broker(monkeypatch, down=False)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(ml_engineer, credit)
    run.refresh_from_db()
    assert run.published_at is not None and len(broker.sent) == 1
    assert validation_publish_pending(now=timezone.now() + timedelta(hours=1)) == []
    assert len(broker.sent) == 1


def test_the_outbox_waits_longer_after_each_failed_publish_and_stops_at_the_first_failure(
    ml_engineer, credit, monkeypatch
):
    Broker(monkeypatch, down=True)
    first, second = start(ml_engineer, credit), start(ml_engineer, credit)  # never published (no commit here)
    later = timezone.now() + timedelta(seconds=11)
    assert validation_publish_pending(now=later) == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.publish_attempts, second.publish_attempts) == (1, 0), "the sweep stops when the broker is down"
    delays = []
    for _ in range(3):
        first.refresh_from_db()
        now = first.next_publish_at + timedelta(seconds=1)
        validation_publish_pending(now=now)
        first.refresh_from_db()
        delays.append(round((first.next_publish_at - timezone.now()).total_seconds() / 10) * 10)
    assert delays == [20, 40, 80] and first.publish_attempts == 4


@pytest.mark.django_db(transaction=True)
def test_the_start_page_redirects_to_the_run_page_which_says_it_waits_for_the_broker(ml_engineer, credit, monkeypatch):
    Broker(monkeypatch, down=True)
    client = Client()
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        reverse("audits:validation_create", args=[credit.system.pk]),
        {"model_version": credit.version.pk, "test_dataset": credit.test.pk, "suite": "quick", "seed": "0"},
    )
    run = ValidationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("audits:validation_detail", args=[run.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Queued: waiting for the broker." in page
    assert "the job queue could not be reached" in page and "it starts as soon as the queue is back" in page


def test_the_reaper_fails_a_run_the_broker_never_took_and_says_the_broker_was_unreachable(
    ml_engineer, credit, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.VALIDATION_QUEUED_TIMEOUT_S = 1800
    Broker(monkeypatch, down=True)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(ml_engineer, credit)
    ValidationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    assert validation_reap_stale() == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error_message.startswith(
        "The portal could not hand this run to a worker within 30 minutes: the job broker was unreachable."
    )
    assert "Connection refused" in run.error_detail


def test_a_run_handed_to_the_broker_late_gets_the_full_queue_time_from_then(ml_engineer, credit, settings):
    settings.VALIDATION_QUEUED_TIMEOUT_S = 1800
    run = start(ml_engineer, credit)
    ValidationRun.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - timedelta(minutes=40), published_at=timezone.now() - timedelta(minutes=5)
    )
    assert validation_reap_stale() == []
    assert ValidationRun.objects.get(pk=run.pk).status == "queued"


def test_asking_for_a_trail_verification_while_the_broker_is_down_says_so_instead_of_an_error_page(
    auditor, monkeypatch
):
    from audits.tasks import audit_trail_verify_task

    def down(*args, **kwargs):
        raise BROKER_DOWN

    monkeypatch.setattr(audit_trail_verify_task, "apply_async", down)
    client = Client()
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(reverse("audits:verify"), follow=True)
    assert response.status_code == 200
    assert "The verification could not be started: the job queue is unreachable." in response.content.decode()


def test_asking_for_a_trail_verification_says_it_started_and_where_its_result_appears(auditor, monkeypatch):
    from audits.tasks import audit_trail_verify_task

    sent = []
    monkeypatch.setattr(audit_trail_verify_task, "apply_async", lambda *a, **kw: sent.append(kw))
    client = Client()
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(reverse("audits:verify"), follow=True)
    words = [str(m) for m in response.context["messages"]]
    assert len(sent) == 1 and response.status_code == 200
    assert any("Verification started" in w and "“audit_trail.verified” event" in w for w in words)
    assert not any("queued" in w.lower() for w in words)


def test_a_certification_rerun_while_the_broker_is_down_is_created_and_waits_in_the_outbox(
    in_review, auditor, monkeypatch, django_capture_on_commit_callbacks
):
    Broker(monkeypatch, down=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(auditor).post(f"/api/v1/submissions/{in_review.pk}/rerun/", {}, format="json")
    assert response.status_code == 201, response.content
    run = ValidationRun.objects.get(pk=response.json()["run"])
    assert run.waiting_for_broker


# --- takeover of a run whose worker died ----------------------------------------------------------


def silence(run, seconds: float) -> None:
    """The worker holding the run stops: its last heartbeat is `seconds` old."""
    ValidationRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_a_delivery_takes_over_a_run_whose_worker_went_silent_and_records_the_attempt(ml_engineer, credit, settings):
    settings.VALIDATION_STALE_AFTER_S, settings.VALIDATION_MAX_ATTEMPTS = 60, 3
    run = start(ml_engineer, credit)
    assert validation_claim(run_id=run.pk, token="old", worker="w1 pid 10").attempts == 1
    silence(run, 61)
    taken = validation_claim(run_id=run.pk, token="new", worker="w2 pid 20")
    assert (taken.status, taken.claim_token, taken.attempts, taken.progress_percent) == ("running", "new", 2, 0)
    assert [entry["attempt"] for entry in taken.attempt_log] == [1, 2]
    assert taken.attempt_log[1]["worker"] == "w2 pid 20"
    assert "sent no heartbeat for 61 s" in taken.attempt_log[1]["took_over_because"]
    assert verbs(run) == ["validation.started", "validation.attempt_started", "validation.taken_over"]
    event = AuditEvent.objects.get(verb="validation.taken_over")
    assert event.reason.startswith("Taken over: the worker of attempt 1 sent no heartbeat for 61 s")
    assert "attempt 2 of 3" in event.reason
    assert (event.before["attempt"], event.after["attempt"], event.after["worker"]) == (1, 2, "w2 pid 20")


def test_after_a_takeover_the_old_worker_can_no_longer_write_progress_results_or_the_end(ml_engineer, credit, settings):
    settings.VALIDATION_STALE_AFTER_S = 60
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="old")
    silence(run, 120)
    validation_claim(run_id=run.pk, token="new")
    before = ValidationRun.objects.get(pk=run.pk)

    assert validation_record_result(run=run, token="old", result=sample_result("PERF-01", "fail")) is None
    assert not CheckResultRecord.objects.filter(run=run).exists() and not run.findings.exists()
    slow = RunRecorder(run, "old")
    slow.on_event({"type": "progress", "done": 5, "total": 10, "current": "PERF-02"})
    assert slow.cancel_requested() is True, "the old worker is told to stop"
    assert validation_finish(run_id=run.pk, token="old", status="succeeded") is None

    after = ValidationRun.objects.get(pk=run.pk)
    assert (after.status, after.claim_token, after.checks_done, after.heartbeat_at) == (
        "running",
        "new",
        0,
        before.heartbeat_at,
    )
    assert validation_record_result(run=run, token="new", result=sample_result("PERF-01", "fail")) is not None
    assert validation_finish(run_id=run.pk, token="new", status="succeeded").status == "succeeded"


def test_a_delivery_does_not_take_over_a_run_whose_worker_is_alive(ml_engineer, credit, settings):
    settings.VALIDATION_STALE_AFTER_S = 60
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="holder")
    silence(run, 30)
    assert validation_claim(run_id=run.pk, token="second") is None
    assert ValidationRun.objects.get(pk=run.pk).claim_token == "holder"


def test_a_run_whose_worker_died_on_its_last_attempt_fails_with_the_reason(ml_engineer, credit, settings):
    settings.VALIDATION_STALE_AFTER_S, settings.VALIDATION_MAX_ATTEMPTS = 60, 2
    run = start(ml_engineer, credit)
    validation_claim(run_id=run.pk, token="t1")
    silence(run, 61)
    validation_claim(run_id=run.pk, token="t2")
    silence(run, 61)
    assert validation_claim(run_id=run.pk, token="t3") is None
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 2)
    assert "sent no sign of life for 1 minute" in run.error_message
    assert "It was started 2 times, the most VALIDATION_MAX_ATTEMPTS allows" in run.error_message
    assert verbs(run)[-1] == "validation.failed"
    assert AuditEvent.objects.get(verb="validation.failed").after == {
        "status": "failed",
        "attempts": 2,
        "worker_lost": True,
    }


def test_a_run_someone_asked_to_cancel_whose_worker_died_ends_cancelled(ml_engineer, credit, settings):
    from audits.validation.services import validation_cancel

    settings.VALIDATION_STALE_AFTER_S = 60
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="t1")
    validation_cancel(actor=ml_engineer, run=run)
    silence(run, 61)
    assert validation_claim(run_id=run.pk, token="t2") is None
    assert ValidationRun.objects.get(pk=run.pk).status == "cancelled"


def test_a_run_uses_the_stale_threshold_it_was_started_with(ml_engineer, credit, settings):
    settings.VALIDATION_STALE_AFTER_S = 60
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="t1")
    settings.VALIDATION_STALE_AFTER_S = 600  # another worker's configuration, or a changed setting
    silence(run, 61)
    assert validation_claim(run_id=run.pk, token="t2").attempts == 2


def test_a_delivery_that_finds_a_live_looking_holder_sends_one_recheck_for_when_it_would_be_stale(
    ml_engineer, credit, settings, monkeypatch
):
    settings.VALIDATION_STALE_AFTER_S = 60
    broker = Broker(monkeypatch, down=False)
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="holder")
    silence(run, 20)
    outcome = validation_run_execute.apply(args=[run.pk]).get()
    assert outcome["claimed"] is False and 40 <= outcome["recheck_in"] <= 42
    assert broker.sent == [{"args": (run.pk,), "kwargs": {"recheck": True}, "countdown": outcome["recheck_in"]}]
    assert validation_run_execute.apply(args=[run.pk], kwargs={"recheck": True}).get() == {
        "run": run.pk,
        "claimed": False,
    }, "a re-check that finds the holder alive just exits"
    assert len(broker.sent) == 1


def test_the_reaper_hands_a_silent_run_with_attempts_left_back_to_the_broker_once(
    ml_engineer, credit, settings, monkeypatch
):
    settings.VALIDATION_STALE_AFTER_S, settings.VALIDATION_MAX_ATTEMPTS = 60, 3
    broker = Broker(monkeypatch, down=False)
    run = start(ml_engineer, credit)
    ValidationRun.objects.filter(pk=run.pk).update(published_at=timezone.now() - timedelta(minutes=5))
    validation_claim(run_id=run.pk, token="dead")
    silence(run, 90)
    assert validation_reap_stale() == [], "not failed: it has attempts left"
    assert broker.sent == [{"args": (run.pk,), "kwargs": {}, "countdown": None}]
    assert validation_reap_stale() == [] and len(broker.sent) == 1, "handed back once per lost worker"
    assert validation_claim(run_id=run.pk, token="next").attempts == 2, "the delivery takes it over"


def test_the_reaper_fails_a_silent_run_no_worker_took_over(ml_engineer, credit, settings):
    settings.VALIDATION_STALE_AFTER_S, settings.VALIDATION_QUEUED_TIMEOUT_S = 60, 1800
    run = validation_claim(run_id=start(ml_engineer, credit).pk, token="dead")
    silence(run, 60 + 1800 + 1)
    assert validation_reap_stale() == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and "no other worker took it over; is a worker running?" in run.error_message


def test_the_visibility_timeout_outlasts_the_time_limit_and_a_shorter_one_stops_start_up():
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    def settings_with(**env):
        code = "import config.settings as s; print(s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'])"
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "DEBUG": "1", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13", **env},
        )

    assert settings_with().stdout.strip() == "2400"
    assert settings_with(VALIDATION_TIME_LIMIT_S="3600").stdout.strip() == "4200"
    refused = settings_with(VALIDATION_TIME_LIMIT_S="3600", BROKER_VISIBILITY_TIMEOUT_S="3000")
    assert refused.returncode != 0 and "BROKER_VISIBILITY_TIMEOUT_S (3000) must be longer than" in refused.stderr
