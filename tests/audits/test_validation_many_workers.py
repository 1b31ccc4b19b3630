"""Several workers on one queue (issue #15, "Many workers"): two real `celery worker` processes of
this test consume a queue of runs together, and each run is executed exactly once. The runs go to a
queue only these workers read, so the session-wide worker of tests/conftest.py never takes one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from audits.models import CheckResultRecord, ValidationRun
from audits.validation.services import validation_start
from core.models import AuditEvent
from tests.audits.validation_support import credit, finished, wait_for  # noqa: F401
from tests.conftest import IN_CI, ROOT, _test_database_url

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not IN_CI and not (settings.CELERY_BROKER_URL.startswith("redis") and connection.vendor == "postgresql"),
        reason="several workers at once need PostgreSQL and Redis (CI runs this there)",
    ),
]
QUEUE = f"many-workers-test-{os.getpid()}"
RUNS = 6


class Worker:
    """A `celery worker --concurrency 1` of this test, in a process group of its own."""

    def __init__(self, name: str):
        self.hostname = f"{name}-{os.getpid()}@many"
        self.log_path = ROOT / "artifacts" / f"worker-{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "w")
        environment = dict(
            os.environ,
            DATABASE_URL=_test_database_url(),
            CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            CELERY_RESULT_BACKEND=settings.CELERY_RESULT_BACKEND,
            DJANGO_ALLOW_ASYNC_UNSAFE="",
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

    def retries(self) -> int:
        return len(re.findall(r"audits\.validation_run_execute\[[^]]+\] retry:", self.log_path.read_text()))

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
def two_workers(monkeypatch):
    """Two workers, both answering a ping before the test goes on; runs started by the test go to
    their queue only."""
    from celery.app.routes import prepare

    from config.celery import app

    monkeypatch.setattr(app.amqp.router, "routes", prepare({"audits.validation_run_execute": {"queue": QUEUE}}))
    workers = [Worker("many-a"), Worker("many-b")]
    try:
        waiting = {w.hostname: w for w in workers}
        deadline = time.monotonic() + 90
        while waiting and time.monotonic() < deadline:
            for w in waiting.values():
                if w.process.poll() is not None:
                    pytest.fail(f"worker {w.hostname} exited at start-up; see {w.log_path}")
            for reply in app.control.ping(destination=list(waiting), timeout=0.5):
                for name in reply:
                    waiting.pop(name, None)
        if waiting:
            pytest.fail(f"workers {', '.join(waiting)} did not answer within 90 s; see artifacts/worker-many-*.log")
        yield workers
    finally:
        for w in workers:
            w.stop()


def attempts_started(run: ValidationRun) -> int:
    return AuditEvent.objects.filter(
        object_type="audits.validationrun",
        object_id=str(run.pk),
        verb__in=("validation.attempt_started", "validation.taken_over"),
    ).count()


def test_two_workers_share_a_queue_of_runs_and_each_run_is_executed_exactly_once(two_workers, ml_engineer, credit):
    started = [
        validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")
        for _ in range(RUNS)
    ]
    runs = [wait_for(lambda pk=run.pk: finished(pk), timeout=150, every=0.3) for run in started]

    for run in runs:
        assert run.status == "succeeded", (run.pk, run.error_message, run.error_detail)
        assert run.attempts == 1 and len(run.attempt_log) == 1, (run.pk, run.attempt_log)
        assert attempts_started(run) == 1, f"run {run.pk}: its engine was started more than once"
        assert CheckResultRecord.objects.filter(run=run).count() == run.checks_total
        assert AuditEvent.objects.filter(verb="validation.finished", object_id=str(run.pk)).count() == 1
    assert sum(w.retries() for w in two_workers) == 0, "no run was retried (a retry runs the engine again)"
    took_part = {run.attempt_log[0]["worker"].split(" pid ")[0] for run in runs}
    assert took_part == {w.hostname for w in two_workers}, f"runs per worker: {took_part}"
    assert all(w.process.poll() is None for w in two_workers), "both workers are still alive"
