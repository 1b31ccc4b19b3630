"""The parent side: start the child process, relay its events, enforce time and memory limits, and
turn every way a run can end into an outcome a user can read.

Children are forked from a fork server (multiprocessing's "forkserver") that imported the heavy
libraries once (`audits.engine.preload`): a child starts with numpy, pandas, scikit-learn, shap and
fairlearn loaded instead of spending seconds importing them on every run. The server, not the
caller, is forked because the caller (a Celery worker) holds database connections, threads and
broker state no child may inherit. The server starts on the first run in a process (or on
`warm_up()`) and lives as long as that process. Two consequences of multiprocessing's rules: a
child imports the caller's main module again (as `__mp_main__`) unless it is a package's
`__main__`, so entry points must be guarded (`celery`, `manage.py`, pytest and `bench` are); and a
process forked from one that already started the server must not run validations (Celery's pool
forks its processes before any run, and its main process never runs one). A child's RSS, which the
memory limit watches, includes the preloaded libraries (about 300 MB, shared with the server).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
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


_CONTEXT = None


def _fork_context():
    """multiprocessing's fork-server context, with our preload; set up once per process."""
    global _CONTEXT
    if _CONTEXT is None:
        # Python 3.11's fork server imports its preload modules with the sys.path it starts with,
        # not the caller's: make the project importable through the environment it inherits.
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if str(ROOT) not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["audits.engine.preload"])
        _CONTEXT = context
    return _CONTEXT


def warm_up() -> float:
    """Start the fork server and wait until it has imported the heavy libraries (seconds taken).
    Optional: the first run starts it otherwise, and waits as long."""
    from audits.engine import child  # here, not at the top: `python -m audits.engine.child` must find it unloaded

    started = time.monotonic()
    process = _fork_context().Process(target=child.ready, name="validation-warm-up")
    process.start()
    process.join()
    process.close()
    return time.monotonic() - started


class _Child:
    """A validation process forked from the server, seen through the part of `subprocess.Popen`'s
    interface the runner uses. The server reaps it and reports its exit code (negative: the
    signal that killed it)."""

    def __init__(self, process):
        self._process = process
        self.pid = process.pid
        self.returncode = None

    def poll(self) -> int | None:
        if self.returncode is None and self._process is not None and self._process.exitcode is not None:
            self.returncode = self._process.exitcode
            self._process.close()
            self._process = None
        return self.returncode

    def wait(self) -> int | None:
        if self._process is not None:
            self._process.join()
        return self.poll()


def _start_child(folder: Path) -> _Child:
    from audits.engine import child

    paths = [str(folder / name) for name in ("spec.json", "events.jsonl", "cancel", "stderr.txt")]
    (folder / "stderr.txt").touch()  # read after the run even if the child never got to open it
    process = _fork_context().Process(target=child.run_forked, args=paths, name="validation")
    process.start()
    return _Child(process)


def execute_in_child(spec: RunSpec, *, on_event: Callable[[dict], None] | None = None,
                     cancel_requested: Callable[[], bool] | None = None, poll_s: float = 0.25) -> EngineOutcome:
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
        child = _start_child(folder)
        reader = _EventReader(folder / "events.jsonl")
        try:
            kill_reason = _watch(child, spec, reader, outcome, on_event, cancel_requested, folder / "cancel",
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
        _conclude(outcome, child.returncode, kill_reason, (folder / "stderr.txt").read_text(errors="replace")[-4000:])
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


def _kill(child: _Child) -> None:
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
