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
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from audits.engine import sandbox
from audits.engine.spec import RunSpec

ROOT = Path(__file__).resolve().parents[2]
_SIGNALS = {
    signal.SIGSEGV: "the model crashed the validation process (segmentation fault)",
    signal.SIGKILL: "the validation process was killed",
    signal.SIGABRT: "the model aborted the process",
    signal.SIGBUS: "the model crashed the validation process (bus error)",
    signal.SIGXCPU: "the run used up its CPU time limit",
    signal.SIGXFSZ: "the run wrote a file over its size limit",
    signal.SIGSYS: "the model made a forbidden system call",
}


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
    sandbox: dict = field(default_factory=dict)  # outer: the parent's own probe; inner: what the child applied


def _rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                queue += [int(c) for c in children]
                found += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError, ValueError, PermissionError):
            continue
    return found


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and everything under it: with the sandbox the direct child is
    bubblewrap, and the model runs two levels below it."""
    return _rss_mb(pid) + sum(_rss_mb(child) for child in _descendants(pid))


class ChildProtocolError(Exception):
    """The child wrote something that is not a well-formed event: with a hostile model loaded, the
    events file is untrusted input like any other."""


MAX_EVENT_BYTES = 4 * 1024 * 1024  # one result with its charts stays far below this (largest on the full suite: 50 KB)
MAX_EVENTS_BYTES = 512 * 1024 * 1024  # a whole run's events (the child's RLIMIT_FSIZE is a little above)
MAX_RESULTS = 500  # the full suite has fewer than 100 checks
MAX_RESULTS_BYTES = 64 * 1024 * 1024  # what a run may ask the parent to store
STDERR_TAIL_BYTES = 16 * 1024


class _EventReader:
    """Reads the child's events file incrementally, in bounded chunks, and refuses malformed or
    oversized events instead of trusting them."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.buffer = b""
        self.results = 0
        self.results_bytes = 0

    def read(self) -> list[dict]:
        try:
            # O_NOFOLLOW and a regular-file check: the child owns the folder, and must not be able
            # to make the parent (which may run as root) read another file as its events.
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChildProtocolError(f"the validation process replaced its events file ({exc.strerror})") from None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ChildProtocolError("the validation process replaced its events file with something else")
            handle.seek(self.offset)
            chunk = handle.read(MAX_EVENT_BYTES)
            self.offset = handle.tell()
        if self.offset > MAX_EVENTS_BYTES:
            raise ChildProtocolError(f"the validation process wrote more than {MAX_EVENTS_BYTES // 2**20} MB of events")
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        if len(self.buffer) > MAX_EVENT_BYTES:
            raise ChildProtocolError("the validation process wrote an oversized event")
        events = []
        for line in filter(bytes.strip, lines):
            event = self._parse(line)
            if event["type"] == "result":
                self.results += 1
                self.results_bytes += len(line)
            events.append(event)
        if self.results > MAX_RESULTS or self.results_bytes > MAX_RESULTS_BYTES:
            raise ChildProtocolError(
                f"the validation process wrote more results than a suite has "
                f"({self.results} results, {self.results_bytes // 2**20} MB)"
            )
        return events

    @staticmethod
    def _parse(line: bytes) -> dict:
        try:
            event = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nesting too deep
            raise ChildProtocolError("the validation process wrote a malformed event") from None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ChildProtocolError("the validation process wrote an event of the wrong shape")
        number = (int, float)
        sandbox_report = event.get("sandbox")
        wrong = (
            (event["type"] == "result" and not isinstance(event.get("result"), dict))
            or (
                event["type"] == "stage"
                and not (isinstance(event.get("stage"), str) and isinstance(event.get("t"), number))
            )
            or (
                event["type"] == "stage"
                and sandbox_report is not None
                and not (isinstance(sandbox_report, dict) and isinstance(sandbox_report.get("inner"), dict))
            )
            or (event["type"] == "done" and not isinstance(event.get("reproducibility", {}), dict))
            or (
                event["type"] in ("error", "progress")
                and not all(isinstance(event.get(k, ""), (str, int, float)) for k in ("stage", "message", "detail"))
            )
            or not isinstance(event.get("rss_mb", 0) or 0, number)
        )
        if wrong:
            raise ChildProtocolError(f"the validation process wrote a {event['type']!r} event of the wrong shape")
        return event


def needs_sandbox(spec: RunSpec) -> bool:
    """Whether loading this run's model can run code the file chooses: pickle, joblib and skops
    (whose loader builds the types the file names, and calls their methods), or an MLflow archive
    holding one of them. Such models are never loaded outside the sandbox. ONNX is data for
    onnxruntime's fixed operators and loads under the inner confinement alone."""
    if spec.model is None:
        return False
    if spec.model.format == "onnx":
        return False
    if spec.model.format == "mlflow":
        inner = spec.model.inner_artifact or {}
        return not (inner.get("flavor") == "onnx" and inner.get("format", "onnx") == "onnx")
    return True


def _stage_inputs(spec: RunSpec, run_dir: Path, mount: Path) -> RunSpec:
    """Copy the run's files into its private inputs folder and point the spec at the copies as the
    child will see them. A copy, not the stored file: the model's own folder then holds nothing
    but this run's inputs (no other organisation's artifact next to it)."""
    inputs = run_dir / "inputs"

    def copy(path: str, name: str) -> str:
        suffix = "".join(Path(path).suffixes[-1:])
        target = inputs / f"{name}{suffix}"
        shutil.copyfile(path, target)
        os.chmod(target, 0o644)
        return str(mount / "inputs" / target.name)

    changes: dict = {"test": replace(spec.test, path=copy(spec.test.path, "test"))}
    if spec.train is not None:
        changes["train"] = replace(spec.train, path=copy(spec.train.path, "train"))
    if spec.model is not None:
        changes["model"] = replace(spec.model, path=copy(spec.model.path, "model"))
    return replace(spec, **changes)


def execute_in_child(
    spec: RunSpec,
    *,
    on_event: Callable[[dict], None] | None = None,
    cancel_requested: Callable[[], bool] | None = None,
    poll_s: float = 0.25,
    python: str | None = None,
) -> EngineOutcome:
    """Run one validation in a sandboxed child process and wait for it.

    `on_event` receives each event ({"type": "stage" | "progress" | "result", ...}) as it arrives;
    `cancel_requested` is polled: when true the child stops after its current check (and is killed
    if it does not stop within 30 s). Pickle-based models are refused, not loaded, when the sandbox
    cannot be set up on this host (fail closed).
    """
    outcome = EngineOutcome(status="failed")
    started = time.monotonic()
    status = sandbox.probe()
    if not status.available and needs_sandbox(spec):
        outcome.error_message = (
            "The validation failed: the model sandbox is not available on this worker, and "
            f"{spec.model.format} models are never loaded without it. {status.reason}"
        )
        outcome.error_detail = json.dumps(status.to_dict())
        return outcome
    # ignore_cleanup_errors: whatever the child left behind, the run's outcome is still reported.
    with tempfile.TemporaryDirectory(prefix="validation-", ignore_cleanup_errors=True) as folder:
        run_dir = Path(folder)
        host_user = sandbox.chosen_host_user() if status.available else None
        sandbox.prepare_run_dir(run_dir, host_user)
        outcome.sandbox = {"outer": status.to_dict()}
        mount = sandbox.MOUNT if status.available else run_dir
        scratch = "/tmp" if status.available else str(run_dir / "scratch")
        staged = _stage_inputs(spec, run_dir, mount)
        (run_dir / "control" / "spec.json").write_text(staged.to_json())
        # The child may append to its events file and write in its scratch folder, nothing else: not
        # even create a file beside the events file (a file there is on the host's disk, created by
        # the worker's user).
        (run_dir / "control" / "confine.json").write_text(
            json.dumps(
                {
                    "read": [str(mount / "inputs"), str(mount / "control"), *confine_paths()],
                    "write": [scratch],
                    "append": [str(mount / "out" / "events.jsonl")],
                }
            )
        )
        events_path, cancel_path = run_dir / "out" / "events.jsonl", run_dir / "control" / "cancel"
        argv = [
            python or sys.executable,
            "-m",
            "audits.engine.child",
            str(mount / "control" / "spec.json"),
            str(mount / "out" / "events.jsonl"),
            str(mount / "control" / "cancel"),
            str(mount / "control" / "confine.json"),
        ]
        env = sandbox.child_environment(scratch=scratch)
        popen: dict = {"env": env, "cwd": scratch}
        if status.available:
            argv = sandbox.bwrap_command(argv, run_dir=run_dir, env=env)
            popen = {"env": {"PATH": "/usr/bin:/bin"}, "cwd": str(run_dir), **sandbox.popen_user_kwargs(host_user)}
        stderr_path = run_dir / "stderr.txt"
        with open(stderr_path, "w") as stderr:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
                **popen,
            )
            reader = _EventReader(events_path)
            try:
                kill_reason = _watch(
                    child, spec, reader, outcome, on_event, cancel_requested, cancel_path, started, poll_s
                )
            except ChildProtocolError as exc:
                _kill(child)
                kill_reason = str(exc)
            except BaseException:
                # A failing callback (e.g. the database went away) must not leave the child running.
                _kill(child)
                raise
            try:
                tail = [] if kill_reason else reader.read()
            except ChildProtocolError as exc:
                tail, kill_reason = [], str(exc)
            for event in tail:
                _absorb(outcome, event)
                if on_event is not None:
                    on_event(event)
        outcome.duration_s = round(time.monotonic() - started, 3)
        returncode = child.returncode
        if status.available and returncode is not None and returncode > 128:
            returncode = -(returncode - 128)  # bwrap reports a child killed by signal N as 128 + N
        _conclude(outcome, returncode, kill_reason, _tail(stderr_path))
    if outcome.status == "succeeded" and "inner" in outcome.sandbox:
        outcome.reproducibility["sandbox"] = sandbox_summary(outcome.sandbox)
    return outcome


def _tail(path: Path) -> str:
    """The end of the child's stderr, read without loading a file the child may have filled."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - STDERR_TAIL_BYTES))
            return handle.read(STDERR_TAIL_BYTES).decode("utf-8", errors="replace")[-4000:]
    except OSError:
        return ""


def sandbox_summary(sandboxed: dict) -> dict:
    """What to keep with a run's results: the outer wall as the parent's own probe found it, and
    the inner layers the child reports having applied (text only)."""
    outer = sandboxed.get("outer") or {}
    inner = sandboxed.get("inner") or {}
    return {
        "outer": (
            f"{outer.get('mechanism')} {outer.get('version', '')}".strip()
            if outer.get("available")
            else "none: " + str(outer.get("reason", ""))[:300]
        ),
        "host_user": str(outer.get("user", "")),
        **{str(k)[:40]: str(v)[:300] for k, v in list(inner.items())[:10]},
    }


def confine_paths() -> list[str]:
    from audits.engine.confine import code_read_paths

    return code_read_paths()


def _watch(
    child,
    spec: RunSpec,
    reader: _EventReader,
    outcome: EngineOutcome,
    on_event,
    cancel_requested,
    cancel_path: Path,
    started: float,
    poll_s: float,
) -> str:
    """Relay events and enforce the limits until the child ends; returns why it was killed, if it was."""
    kill_reason, cancel_sent = "", None
    while True:
        for event in reader.read():
            _absorb(outcome, event)
            if on_event is not None:
                on_event(event)
        if child.poll() is not None:
            return ""
        rss = _tree_rss_mb(child.pid)
        outcome.peak_rss_mb = max(outcome.peak_rss_mb, rss)
        elapsed = time.monotonic() - started
        if rss > spec.memory_limit_mb:
            kill_reason = (
                f"the run used more than its memory limit of {spec.memory_limit_mb} MB ({rss:.0f} MB) and was stopped"
            )
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
        if isinstance(event.get("sandbox"), dict):
            outcome.sandbox["inner"] = event["sandbox"]["inner"]
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
