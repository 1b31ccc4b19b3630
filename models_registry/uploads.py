"""Upload plumbing: cut off oversized uploads while they stream in, give every upload a path on
disk, and scan or profile it in a short-lived child process.

Memory of the web process: a request never holds a file. Django's upload handlers stream the body
to a temporary file under FILE_UPLOAD_TEMP_DIR (only `TemporaryFileUploadHandler` is configured,
so even small files go to disk) in 64 KB chunks, cutting it off past MAX_UPLOAD_SIZE; hashing and
storing read it in 1 MB blocks. The model scan and the dataset profile, whose memory depends on
the file's content, run in a fresh interpreter (`python -m models_registry.uploads`) started with
subprocess (vfork + exec: the web process's memory is neither copied nor grown), which answers
with JSON. The parent enforces a wall-clock limit and a memory limit (it polls the child's RSS
and kills it past the limit); the child also sets RLIMIT_CPU, and RLIMIT_AS as a backstop against
one huge allocation between two polls. So what the web process adds for an upload is bounded by
the chunk sizes and the JSON answer (`make bench-uploads` measures it: see bench/README.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


class MaxSizeUploadHandler(FileUploadHandler):
    """Stops reading a file as soon as it passes MAX_UPLOAD_SIZE (or when the declared request size
    already does), so nothing over the limit is ever stored. The view sees `request.upload_refused`
    and answers with a clear message; the rest of the body is drained so the browser gets it."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request.upload_refused = None
        self.received = 0
        if content_length and content_length > settings.MAX_UPLOAD_SIZE + 1024 * 1024:
            self.request.upload_refused = content_length
            raise StopUpload(connection_reset=False)
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            self.request.upload_refused = self.received
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@contextlib.contextmanager
def upload_on_disk(uploaded) -> Iterator[Path]:
    """A path to the uploaded bytes: the temporary file Django wrote, or a copy of a small in-memory
    upload. Removed afterwards either way, so a refused upload leaves nothing behind."""
    if hasattr(uploaded, "temporary_file_path"):
        path = Path(uploaded.temporary_file_path())
        try:
            yield path
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return
    handle, name = tempfile.mkstemp(dir=settings.FILE_UPLOAD_TEMP_DIR, suffix=Path(uploaded.name).suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# --- the scan or profile, in a child process -----------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """How one scan (kind "model") or profile (kind "dataset") in the child process ended.

    status: "done" (``answer`` holds {"report": ...}, {"profile": ...} or {"error": ...}),
    "time_limit" or "memory_limit" (stopped at its limit), "crashed" (ended without an answer)."""

    status: str
    answer: dict
    pid: int
    peak_rss_mb: float
    wall_s: float
    detail: str = ""

    @property
    def finished(self) -> bool:
        return self.status == "done"


# The last finished checks, by (memo key, kind, name, options, memory limit). A check is a pure
# function of the bytes, the name and the options, so the same file uploaded again (a CI pipeline
# registering the same model under a new label, the demo seed, test fixtures) is answered without
# starting an interpreter again (0.5 s, or 3 s for a scikit-learn model whose classes the allowlist
# imports). The caller's key names the organisation and the sha256, so one organisation never
# learns from the timing that another uploaded the same file. At most RECENT_MAX answers of at most
# RECENT_MAX_BYTES each are kept: a bounded few MB of the web process.
RECENT_MAX, RECENT_MAX_BYTES = 32, 256 * 1024
_recent: OrderedDict[tuple, CheckOutcome] = OrderedDict()
_recent_lock = threading.Lock()


def upload_check(
    *,
    kind: str,
    path: Path,
    original_name: str,
    time_limit_s: float,
    memory_limit_mb: int,
    options: dict | None = None,
    memo_key: tuple | None = None,
    python: str | None = None,
) -> CheckOutcome:
    """Scan a model file or profile a dataset in a fresh child process and wait at most
    ``time_limit_s`` for it. ``options`` are the dataset's role columns (target, prediction, score,
    sensitive); ``memo_key`` (organisation, sha256) lets a finished answer be reused. Never raises
    for anything the file does."""
    if kind not in ("model", "dataset"):
        raise ValueError(f"unknown upload check {kind!r}")
    key = None
    if memo_key is not None:
        key = (*memo_key, kind, original_name, json.dumps(options or {}, sort_keys=True), memory_limit_mb)
        with _recent_lock:
            if key in _recent:
                _recent.move_to_end(key)
                return _recent[key]
    outcome = _run_child(
        kind=kind,
        path=path,
        original_name=original_name,
        time_limit_s=time_limit_s,
        memory_limit_mb=memory_limit_mb,
        options=options,
        python=python,
    )
    if key is not None and outcome.finished and len(json.dumps(outcome.answer, default=str)) <= RECENT_MAX_BYTES:
        with _recent_lock:
            _recent[key] = outcome
            while len(_recent) > RECENT_MAX:
                _recent.popitem(last=False)
    return outcome


def _run_child(
    *,
    kind: str,
    path: Path,
    original_name: str,
    time_limit_s: float,
    memory_limit_mb: int,
    options: dict | None,
    python: str | None,
) -> CheckOutcome:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="upload-check-") as folder:
        request, result = Path(folder) / "request.json", Path(folder) / "result.json"
        request.write_text(
            json.dumps(
                {
                    "kind": kind,
                    "path": str(path),
                    "name": original_name,
                    "options": options or {},
                    "time_limit_s": time_limit_s,
                    "memory_limit_mb": memory_limit_mb,
                }
            )
        )
        env = dict(
            os.environ,
            OMP_NUM_THREADS="1",
            OPENBLAS_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        )
        with open(Path(folder) / "stderr.txt", "w+") as stderr:
            child = subprocess.Popen(
                [python or sys.executable, "-m", "models_registry.uploads", str(request), str(result)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
            try:
                stopped, peak = _watch(child, started, time_limit_s, memory_limit_mb)
            except BaseException:  # the request was interrupted: never leave the child behind
                _kill(child)
                raise
            stderr.seek(0)
            tail = stderr.read()[-2000:]
        answer = json.loads(result.read_text()) if result.exists() else {}
    wall = round(time.monotonic() - started, 3)
    peak = max(peak, float(answer.get("peak_rss_mb") or 0))
    return CheckOutcome(
        status=_status(stopped, child.returncode, answer),
        answer=answer,
        pid=child.pid,
        peak_rss_mb=round(peak, 1),
        wall_s=wall,
        detail=tail,
    )


def _watch(child: subprocess.Popen, started: float, time_limit_s: float, memory_limit_mb: int) -> tuple[str, float]:
    """Wait for the child, killing it at its limits; returns (why it was stopped or "", peak RSS MB)."""
    peak, pause = 0.0, 0.005
    while True:
        try:
            child.wait(timeout=pause)
            return "", peak
        except subprocess.TimeoutExpired:
            pass
        rss = _rss_mb(child.pid)
        peak = max(peak, rss)
        stopped = (
            "memory_limit"
            if rss > memory_limit_mb
            else ("time_limit" if time.monotonic() - started > time_limit_s else "")
        )
        if stopped:
            _kill(child)
            return stopped, peak
        pause = min(pause * 2, 0.05)  # quick files answer in milliseconds; then poll 20 times a second


def _status(stopped: str, returncode: int | None, answer: dict) -> str:
    if stopped:
        return stopped
    if answer.get("memory_error") or returncode == -signal.SIGKILL and not answer:
        return "memory_limit"  # its own RLIMIT_AS, or the kernel's OOM killer
    if returncode == -signal.SIGXCPU:
        return "time_limit"
    if returncode == 0 and ("report" in answer or "profile" in answer or "error" in answer):
        return "done"
    return "crashed"


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0.0


def _kill(child: subprocess.Popen) -> None:
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _child_limits(time_limit_s: float, memory_limit_mb: int) -> None:
    """CPU seconds (SIGXCPU past them) and, as a backstop only, address space: allocators reserve far
    more address space than they touch (pyarrow's mimalloc about 1.2 GB), so the limit that counts
    is the parent's RSS check; this one stops a single enormous allocation between two checks."""
    import resource

    cpu = int(math.ceil(time_limit_s)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    address_space = _status_kb("VmSize") * 1024 + (2048 + 2 * memory_limit_mb) * MB
    resource.setrlimit(resource.RLIMIT_AS, (address_space, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _child_run(request: dict) -> dict:
    path, name = Path(request["path"]), request["name"]
    if request["kind"] == "model":
        from models_registry.safety import scan_model_file

        _child_limits(request["time_limit_s"], request["memory_limit_mb"])
        report = scan_model_file(path, name).to_dict()
        # The scanner turns every exception into a refusal, MemoryError included: report it as the limit.
        if any(r["code"] == "scan_error" and r["detail"].startswith("MemoryError") for r in report["reasons"]):
            return {"memory_error": True}
        return {"report": report}
    from models_registry.datasets import DatasetError, profile_dataset

    _child_limits(request["time_limit_s"], request["memory_limit_mb"])
    options = request.get("options") or {}
    try:
        profile = profile_dataset(
            path,
            name,
            target=options.get("target") or None,
            prediction=options.get("prediction") or None,
            score=options.get("score") or None,
            sensitive=options.get("sensitive") or (),
        )
    except DatasetError as exc:
        return {"error": exc.to_dict()}
    return {"profile": profile.to_dict()}


def _child_main(request_path: str, result_path: str) -> int:
    """`python -m models_registry.uploads REQUEST RESULT`: the child's side. The answer is written
    to a temporary name and renamed, so the parent never reads half of it."""
    request = json.loads(Path(request_path).read_text())
    try:
        answer = _child_run(request)
    except MemoryError:
        answer = {"memory_error": True}
    answer.update(pid=os.getpid(), peak_rss_mb=round(_status_kb("VmHWM") / 1024, 1))
    partial = Path(result_path + ".part")
    partial.write_text(json.dumps(answer, default=str))
    partial.replace(result_path)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(*sys.argv[1:3]))
