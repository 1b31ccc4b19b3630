"""A worker killed with SIGKILL in the middle of a validation: the run is taken over by the next
delivery of its message (or by the reaper's hand-back), started again and finished, with the attempt
recorded. Real worker processes of this test's own, killed for real. The runs are sent to a queue
only these workers read, so the session-wide worker of tests/conftest.py (which may be running too)
never gets the first attempt; it may run a later one, which is just as good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.utils import timezone

from audits.models import CheckResultRecord, ValidationRun
from audits.validation.services import validation_reap_stale, validation_start
from core.models import AuditEvent
from tests.audits import misbehaving_models as bad
from tests.audits.validation_support import (  # noqa: F401
    credit,
    credit_frame,
    credit_model,
    finished,
    register_unscanned_version,
    wait_for,
)
from tests.conftest import IN_CI, ROOT, _test_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
STALE_AFTER_S = 10  # the runs of these tests count a worker dead after 10 s without a heartbeat
QUEUE = f"takeover-test-{os.getpid()}"


class Worker:
    """A `celery worker` of this test, in a process group of its own so that it can be killed whole
    (main process, pool process and the engine's sandbox, as when a container or machine dies)."""

    def __init__(self, name: str, **env: str):
        self.hostname = f"{name}-{os.getpid()}@takeover"
        self.log_path = ROOT / "artifacts" / f"worker-{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "w")
        environment = dict(
            os.environ,
            DATABASE_URL=_test_database_url(),
            CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            CELERY_RESULT_BACKEND=settings.CELERY_RESULT_BACKEND,
            DJANGO_ALLOW_ASYNC_UNSAFE="",
            **env,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=info",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={self.hostname}",
                f"--queues={QUEUE},celery",
            ],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        from config.celery import app

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"worker {self.hostname} exited at start-up; see {self.log_path}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        pytest.fail(f"worker {self.hostname} did not answer within 90 s; see {self.log_path}")

    def kill_all(self) -> float:
        """SIGKILL to every process of the worker at once; returns when (time.time())."""
        os.killpg(self.process.pid, signal.SIGKILL)
        killed_at = time.time()
        self.process.wait(timeout=10)
        return killed_at

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture
def workers(monkeypatch):
    """Starts workers of this test; runs started by this test go to their queue only (the re-checks
    a worker sends go to the default queue, which these workers read as well)."""
    from celery.app.routes import prepare

    from config.celery import app

    monkeypatch.setattr(app.amqp.router, "routes", prepare({"audits.validation_run_execute": {"queue": QUEUE}}))
    started: list[Worker] = []

    def start(name: str, **env: str) -> Worker:
        worker = Worker(name, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def slow_run(ml_engineer, credit, settings):
    """Starts a quick-suite run of a model that sleeps on every call (long enough to be killed midway).
    The run keeps the stale threshold it was started with, whichever worker looks at it."""
    settings.VALIDATION_STALE_AFTER_S = STALE_AFTER_S

    def start() -> ValidationRun:
        slow = register_unscanned_version(
            ml_engineer,
            credit.system,
            bad.SleepingModel(credit_model(credit_frame(400, seed=1)), delay=0.2),
            f"slow-{time.monotonic_ns()}",
        )
        return validation_start(actor=ml_engineer, model_version=slow, test_dataset=credit.test, suite="quick")

    return start


def running_midway(run_id: int):
    run = ValidationRun.objects.get(pk=run_id)
    return run if run.status == "running" and run.checks_done >= 1 else None


def events(run) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="audits.validationrun", object_id=str(run.pk)).order_by("seq"))


def assert_taken_over_and_finished(run: ValidationRun, killed_at: float) -> float:
    """The run succeeded on its second attempt with one copy of each result; returns the takeover
    delay (seconds from the kill to the takeover event)."""
    assert run.status == "succeeded", (run.error_message, run.error_detail)
    assert run.attempts == 2 and [a["attempt"] for a in run.attempt_log] == [1, 2]
    assert "sent no heartbeat" in run.attempt_log[1]["took_over_because"]
    assert [e.verb for e in events(run)] == [
        "validation.started",
        "validation.attempt_started",
        "validation.taken_over",
        "validation.finished",
    ]
    assert CheckResultRecord.objects.filter(run=run).count() == run.checks_total
    taken_over = next(e for e in events(run) if e.verb == "validation.taken_over")
    assert "attempt 2 of 3" in taken_over.reason
    return taken_over.timestamp.timestamp() - killed_at


def record(measure: str, seconds: float) -> None:
    """Measured delays go to the test log and artifacts/takeover-timings.txt (for the README)."""
    line = f"{timezone.now().isoformat()} {measure}: {seconds:.1f} s (stale after {STALE_AFTER_S} s)"
    print(line)
    with open(ROOT / "artifacts" / "takeover-timings.txt", "a") as out:
        out.write(line + "\n")


@pytest.mark.skipif(
    not IN_CI and not settings.CELERY_BROKER_URL.startswith("redis"),
    reason="re-delivery after the visibility timeout is Redis behaviour (CI runs this there)",
)
def test_a_run_whose_worker_was_killed_is_taken_over_by_the_redelivery_of_its_message(workers, slow_run):
    """The whole worker dies (kill -9 of its process group): Redis re-delivers the unacknowledged
    message after the visibility timeout, and the new worker takes the run over once its heartbeat
    is stale. The new worker runs with a short visibility timeout (and, to pass the start-up check,
    a short time limit of its own: the run keeps the limit it was started with)."""
    first = workers("takeover-a")
    run = slow_run()
    wait_for(lambda: running_midway(run.pk), timeout=150, every=0.2)
    killed_at = first.kill_all()
    workers("takeover-b", BROKER_VISIBILITY_TIMEOUT_S="15", VALIDATION_TIME_LIMIT_S="10")
    run = wait_for(lambda: finished(run.pk), timeout=200, every=0.5)
    record(
        "whole worker killed, Redis re-delivery (visibility timeout 15 s): kill -> takeover",
        assert_taken_over_and_finished(run, killed_at),
    )


def test_a_run_whose_pool_process_was_killed_is_taken_over_as_soon_as_its_heartbeat_is_stale(workers, slow_run):
    """Only the process running the task dies (the OOM killer's usual victim): the worker main
    process re-queues the message at once, that delivery finds the dead worker's heartbeat still
    fresh and sends one re-check for when it is stale, and the re-check takes the run over."""
    worker = workers("takeover-c")
    run = slow_run()
    run = wait_for(lambda: running_midway(run.pk), timeout=150, every=0.2)
    holder = run.attempt_log[0]["worker"]
    assert holder.startswith(worker.hostname), holder
    os.kill(int(holder.rsplit(" pid ", 1)[1]), signal.SIGKILL)
    killed_at = time.time()
    run = wait_for(lambda: finished(run.pk), timeout=200, every=0.5)
    record(
        "pool process killed, immediate re-delivery + re-check: kill -> takeover",
        assert_taken_over_and_finished(run, killed_at),
    )
    assert worker.process.poll() is None, "the worker itself lived on"


def test_a_run_whose_worker_was_killed_is_handed_back_by_the_reaper_and_a_new_worker_finishes_it(workers, slow_run):
    """Any broker (the filesystem one loses a killed worker's message): the reaper, run by beat every
    minute, sees the silent run and hands it back to the broker; a new worker takes it over."""
    first = workers("takeover-d")
    run = slow_run()
    wait_for(lambda: running_midway(run.pk), timeout=150, every=0.2)
    killed_at = first.kill_all()
    workers("takeover-e")
    while ValidationRun.objects.filter(pk=run.pk, attempts=1).exists() and time.time() - killed_at < 120:
        assert validation_reap_stale() == [], "a run with attempts left is handed back, not failed"
        time.sleep(1)  # beat runs the reaper every minute; here every second
    run = wait_for(lambda: finished(run.pk), timeout=200, every=0.5)
    record(
        "whole worker killed, reaper hand-back (reaper every 1 s here, every 60 s in production): kill -> takeover",
        assert_taken_over_and_finished(run, killed_at),
    )
