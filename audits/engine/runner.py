"""The parent side: start the child process, relay its events, enforce time and memory limits, and
turn every way a run can end into an outcome a user can read.

Each run gets a fresh interpreter (`python -m audits.engine.child`), started with subprocess, not
multiprocessing: it works the same from any caller (a Celery prefork pool process is daemonic, and
multiprocessing refuses to start children there), inherits no database connection, thread or
broker state of the worker, and shares nothing with earlier runs. The child imports the heavy
libraries before its first check (`audits.engine.preload`), so that one-time cost shows as
start-up, not inside a check's timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from audits.engine.spec import RunSpec

ROOT = Path(__file__).resolve().parents[2]
_SIGNALS = {signal.SIGSEGV: "the model crashed the validation process (segmentation fault)",
            signal.SIGKILL: "the validation process was killed", signal.SIGABRT: "the model aborted the process",
            signal.SIGBUS: "the model crashed the validation process (bus error)"}


@dataclass
class EngineOutcome:
    status: str  # "succeeded" | "failed" | "cancelled"
    results: list[dict] = field(default_factory=list)
    reproducibility: dict = field(default_factory=dict)
    error_message: str = ""  # for users
    error_detail: str = ""  # technical, folded away in the UI
    peak_rss_mb: float = 0.0
    duration_s: float = 0.0
    stages: list[dict] = field(default_factory=list)


def _rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0.0


class _EventReader:
    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.buffer = ""

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
            self.offset = handle.tell()
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split("\n")
        return [json.loads(line) for line in lines if line.strip()]


def execute_in_child(spec: RunSpec, *, on_event: Callable[[dict], None] | None = None,
                     cancel_requested: Callable[[], bool] | None = None, poll_s: float = 0.25,
                     python: str | None = None) -> EngineOutcome:
    """Run one validation in a child process and wait for it.

    `on_event` receives each event ({"type": "stage" | "progress" | "result", ...}) as it arrives;
    `cancel_requested` is polled: when true the child stops after its current check (and is killed
    if it does not stop within 30 s).
    """
    outcome = EngineOutcome(status="failed")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="validation-") as folder:
        folder = Path(folder)
        (folder / "spec.json").write_text(spec.to_json())
        events_path, cancel_path = folder / "events.jsonl", folder / "cancel"
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        stderr_path = folder / "stderr.txt"
        with open(stderr_path, "w") as stderr:
            child = subprocess.Popen(
                [python or sys.executable, "-m", "audits.engine.child", str(folder / "spec.json"), str(events_path),
                 str(cancel_path)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True)
            reader = _EventReader(events_path)
            try:
                kill_reason = _watch(child, spec, reader, outcome, on_event, cancel_requested, cancel_path,
                                     started, poll_s)
            except BaseException:
                # A failing callback (e.g. the database went away) must not leave the child running.
                _kill(child)
                raise
            for event in reader.read():
                _absorb(outcome, event)
                if on_event is not None:
                    on_event(event)
        outcome.duration_s = round(time.monotonic() - started, 3)
        _conclude(outcome, child.returncode, kill_reason, stderr_path.read_text(errors="replace")[-4000:])
    return outcome


def _watch(child, spec: RunSpec, reader: _EventReader, outcome: EngineOutcome, on_event, cancel_requested,
           cancel_path: Path, started: float, poll_s: float) -> str:
    """Relay events and enforce the limits until the child ends; returns why it was killed, if it was."""
    kill_reason, cancel_sent = "", None
    while True:
        for event in reader.read():
            _absorb(outcome, event)
            if on_event is not None:
                on_event(event)
        if child.poll() is not None:
            return ""
        rss = _rss_mb(child.pid)
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, rss)
        elapsed = time.monotonic() - started
        if rss > spec.memory_limit_mb:
            kill_reason = (f"the run used more than its memory limit of {spec.memory_limit_mb} MB "
                           f"({rss:.0f} MB) and was stopped")
        elif elapsed > spec.time_limit_s:
            kill_reason = f"the run took longer than its time limit of {spec.time_limit_s} s and was stopped"
        elif cancel_requested is not None and cancel_sent is None and cancel_requested():
            cancel_path.touch()
            cancel_sent = time.monotonic()
        elif cancel_sent is not None and time.monotonic() - cancel_sent > 30:
            kill_reason = "cancelled"
        if kill_reason:
            _kill(child)
            return kill_reason
        time.sleep(poll_s)


def _kill(child: subprocess.Popen) -> None:
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:  # killed before its first line made it a group leader
            try:
                os.kill(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    child.wait()


def _absorb(outcome: EngineOutcome, event: dict) -> None:
    outcome.peak_rss_mb = max(outcome.peak_rss_mb, float(event.get("rss_mb") or 0))
    kind = event.get("type")
    if kind == "result":
        outcome.results.append(event["result"])
    elif kind == "stage":
        outcome.stages.append({"stage": event["stage"], "t": event["t"]})
    elif kind == "done":
        outcome.status = "succeeded"
        outcome.reproducibility = event.get("reproducibility", {})
    elif kind == "cancelled":
        outcome.status = "cancelled"
    elif kind == "error":
        outcome.status = "failed"
        outcome.error_message = f"The run stopped while {event.get('stage', 'working')}: {event.get('message', '')}"
        outcome.error_detail = event.get("detail", "")


def _conclude(outcome: EngineOutcome, returncode: int | None, kill_reason: str, stderr: str) -> None:
    if kill_reason == "cancelled":
        outcome.status = "cancelled"
    elif kill_reason:
        outcome.status, outcome.error_message = "failed", f"The validation failed: {kill_reason}."
        outcome.error_detail = stderr
    elif outcome.status in ("succeeded", "cancelled") and returncode == 0:
        return
    elif returncode is not None and returncode < 0:
        reason = _SIGNALS.get(-returncode, f"the validation process ended with signal {-returncode}")
        outcome.status, outcome.error_message = "failed", f"The validation failed: {reason}."
        outcome.error_detail = stderr
    elif not outcome.error_message:
        outcome.status = "failed"
        outcome.error_message = "The validation process stopped unexpectedly."
        outcome.error_detail = stderr or f"exit code {returncode}"
