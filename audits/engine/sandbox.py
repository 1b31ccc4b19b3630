"""The outer wall around the process that loads a model: bubblewrap (Debian's `bubblewrap`).

Django-free. The validation child is started inside new user, PID, network, IPC, UTS and cgroup
namespaces with every capability dropped, an environment built from an allowlist, and a
filesystem that holds only what it needs, read-only:

    /usr, /lib*, /bin     the operating system's programs and libraries
    <python prefixes>     the Python installation and the virtual environment
    <code>/audits, <code>/models_registry   the portal's engine code (nothing else of the checkout:
                          no data folder, no keys, no media)
    /run/validation/inputs   read-only copies of this run's files (model, test and training data)
    /run/validation/control  the run's spec and the parent's cancel flag (read-only)
    /run/validation/out      the events file (created by the worker, empty): the child may append
                          to it and create nothing beside it (Landlock, inside)
    /tmp                  a private, size-limited tmpfs (scratch)
    /proc, /dev           its own PID namespace's /proc; a minimal /dev

The network namespace has no route anywhere (not even to the host's loopback services), and the
sandbox cannot see or signal any process outside it. The child then confines itself a second time
(`audits.engine.confine`: Landlock, seccomp, rlimits), so a mistake in this list still leaves a wall.

When the worker runs as root, bubblewrap is started as an unprivileged user (MODEL_SANDBOX_USER,
default `nobody`) if that user can reach the Python installation; otherwise it runs as the worker's
user inside the user namespace (uid 65534 there, no capabilities), and `probe()` says so.

Configuration (environment, read when a run starts):
    MODEL_SANDBOX_BWRAP   path of the bwrap program (default: `bwrap` on PATH)
    MODEL_SANDBOX_USER    the user to start bwrap as when the worker is root ("" = do not switch)
    MODEL_SANDBOX_TMPFS_MB   size of the sandbox's /tmp (default 1024)
    MODEL_SANDBOX_EXTRA_CODE extra code folders to bind read-only (os.pathsep-separated; tests
                          use it for the test package that defines misbehaving models)
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_PACKAGES = ("audits", "models_registry")
MOUNT = Path("/run/validation")
SANDBOX_UID = 65534
# What the child's environment may contain: nothing of the worker's (no DATABASE_URL, SECRET_KEY,
# CERTIFICATE_SIGNING_*, AWS_*, broker URLs). OPENBLAS_* are passed on because older OpenBLAS
# builds compute wrong results on some processors without them.
PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TZ")
PROBE_TTL_S = 300


class SandboxUnavailable(Exception):
    """The sandbox cannot be set up on this host; the message is for operators."""


@dataclass(frozen=True)
class SandboxStatus:
    available: bool
    mechanism: str  # "bubblewrap" | "none"
    reason: str = ""
    user: str = ""  # who bwrap runs as on the host
    bwrap: str = ""
    version: str = ""
    layers: list[str] = field(default_factory=list)
    checked_at: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SandboxUnavailable(f"{name} must be a whole number, not {raw!r}.") from None
    if value <= 0:
        raise SandboxUnavailable(f"{name} must be positive.")
    return value


def bwrap_path() -> str | None:
    configured = os.environ.get("MODEL_SANDBOX_BWRAP", "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


def _host_user() -> tuple[int, int, str] | None:
    """(uid, gid, name) to start bwrap as, or None to keep the worker's own user."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("MODEL_SANDBOX_USER", "nobody").strip()
    if not name:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid, name


def python_prefixes() -> list[Path]:
    """The folders of the running Python installation and virtual environment, outermost first."""
    seen: list[Path] = []
    for raw in (
        sys.base_prefix,
        sys.base_exec_prefix,
        sys.prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    ):
        for candidate in (Path(raw), Path(os.path.realpath(raw))):
            if candidate == Path("/usr") or str(candidate).startswith("/usr/"):
                continue  # bound with /usr
            if candidate.name == "bin" and candidate.parent in seen:
                continue
            if candidate.exists() and candidate not in seen:
                seen.append(candidate)
    return [p for p in seen if not any(p != q and q in p.parents for q in seen)]


def code_paths() -> list[Path]:
    paths = [ROOT / name for name in CODE_PACKAGES]
    for raw in os.environ.get("MODEL_SANDBOX_EXTRA_CODE", "").split(os.pathsep):
        if raw.strip():
            paths.append(Path(raw.strip()).resolve())
    return paths


def child_environment(*, scratch: str) -> dict[str, str]:
    """The whole environment of the child: built from nothing, never copied from the worker."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": scratch,
        "TMPDIR": scratch,
        "MPLCONFIGDIR": scratch,
        "NUMBA_CACHE_DIR": scratch,
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
    }
    for name in PASSED_THROUGH:
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    # Only the few files of /etc that the dynamic loader and time zone code read: /etc may hold
    # an operator's secrets (an env file, credentials).
    for name in ("ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf", "alternatives"):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # The CPU topology (thread pools read it); nothing else of /sys.
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    return args


def bwrap_command(argv: list[str], *, run_dir: Path, env: dict[str, str]) -> list[str]:
    """The command line that runs `argv` inside the sandbox for the run folder `run_dir`
    (which has inputs/, control/ and out/)."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed on this worker.")
    tmpfs_bytes = _env_int("MODEL_SANDBOX_TMPFS_MB", 1024) * 1024 * 1024
    args = [
        bwrap,
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--disable-userns",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
    ]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    # The private /tmp first: bubblewrap mounts in order, so a tmpfs after the binds would hide a
    # Python installation or checkout that lives under /tmp (a CI clone, say).
    args += ["--size", str(tmpfs_bytes), "--tmpfs", "/tmp"]
    args += _system_binds()
    for prefix in python_prefixes():
        args += ["--ro-bind", str(prefix), str(prefix)]
    for path in code_paths():
        args += ["--ro-bind", str(path), str(path)]
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--ro-bind",
        str(run_dir / "inputs"),
        str(MOUNT / "inputs"),
        "--ro-bind",
        str(run_dir / "control"),
        str(MOUNT / "control"),
        "--bind",
        str(run_dir / "out"),
        str(MOUNT / "out"),
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp",
        "--",
    ]
    return args + argv


EVENTS_FILE = "events.jsonl"


def prepare_run_dir(run_dir: Path, host_user: tuple[int, int, str] | None) -> None:
    """inputs/ and control/ readable, out/events.jsonl (created here, empty) writable by whoever
    bwrap runs as; nothing else. The run folder is closed to every other user (0700) unless bwrap
    is started as another user, who then may only pass through it (0711): nothing the sandbox
    writes is reachable by a third user."""
    for name in ("inputs", "control", "out", "scratch"):
        (run_dir / name).mkdir(exist_ok=True)
    os.chmod(run_dir, 0o711 if host_user is not None else 0o700)
    for name in ("inputs", "control"):
        os.chmod(run_dir / name, 0o755)
    os.chmod(run_dir / "out", 0o700)
    os.chmod(run_dir / "scratch", 0o700)
    events = run_dir / "out" / EVENTS_FILE
    events.touch(mode=0o600, exist_ok=True)
    if host_user is not None:
        uid, gid, _ = host_user
        for path in (run_dir / "out", run_dir / "scratch", events):
            os.chown(path, uid, gid)


def popen_user_kwargs(host_user: tuple[int, int, str] | None) -> dict:
    if host_user is None:
        return {}
    uid, gid, _ = host_user
    return {"user": uid, "group": gid, "extra_groups": []}


_cache: dict[str, SandboxStatus] = {}
_lock = threading.Lock()


def probe(*, refresh: bool = False) -> SandboxStatus:
    """Whether runs on this host can be sandboxed: starts a real sandbox with the same command line
    a run uses and checks, from inside, that it has no network and sees no secret. Cached."""
    with _lock:
        cached = _cache.get("status")
        if cached is not None and not refresh and time.time() - cached.checked_at < PROBE_TTL_S:
            return cached
        status = _probe()
        _cache["status"] = status
        return status


_PROBE_CODE = r"""
import json, os, socket, sys
out = {"uid": os.getuid(), "env": sorted(os.environ), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit())}
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
    out["network"] = "connected"
except OSError as exc:
    out["network"] = type(exc).__name__
out["root_listing"] = sorted(os.listdir("/"))
sys.stdout.write(json.dumps(out))
"""


def _probe() -> SandboxStatus:
    import json
    import tempfile

    now = time.time()
    bwrap = bwrap_path()
    if bwrap is None:
        return SandboxStatus(
            False,
            "none",
            "bubblewrap (bwrap) is not installed on this worker: install Debian's "
            "'bubblewrap' package (the Docker image has it).",
            checked_at=now,
        )
    version = (subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout.split() or [""])[
        -1
    ]  # "bubblewrap 0.8.0" -> "0.8.0"
    candidates = [_host_user(), None] if _host_user() is not None else [None]
    last_error = ""
    for host_user in candidates:
        with tempfile.TemporaryDirectory(prefix="sandbox-probe-") as folder:
            run_dir = Path(folder)
            try:
                prepare_run_dir(run_dir, host_user)
                command = bwrap_command(
                    [sys.executable, "-I", "-c", _PROBE_CODE], run_dir=run_dir, env=child_environment(scratch="/tmp")
                )
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=30, **popen_user_kwargs(host_user)
                )
            except (OSError, subprocess.SubprocessError, SandboxUnavailable) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            if done.returncode != 0:
                last_error = (done.stderr or done.stdout).strip()[-500:] or f"exit code {done.returncode}"
                continue
            try:
                seen = json.loads(done.stdout)
            except ValueError:
                last_error = f"unexpected probe output: {done.stdout[-200:]!r}"
                continue
            problems = []
            if seen.get("network") == "connected":
                problems.append("the sandbox reached the network")
            if seen.get("uid") != SANDBOX_UID:
                problems.append(f"the sandbox runs as uid {seen.get('uid')}")
            leaked = [
                name for name in seen.get("env", []) if name not in child_environment(scratch="/tmp") and name != "PWD"
            ]  # set by bwrap --chdir
            if leaked:
                problems.append("the sandbox's environment has " + ", ".join(leaked))
            if len(seen.get("pids", [])) > 3:
                problems.append("the sandbox sees processes outside it")
            if problems:
                return SandboxStatus(
                    False, "bubblewrap", "; ".join(problems), bwrap=bwrap, version=version, checked_at=now
                )
            user = host_user[2] if host_user else _user_name(os.geteuid())
            note = (
                ""
                if host_user or os.geteuid() != 0
                else (
                    " (the worker runs as root and no unprivileged user can reach the Python installation, so "
                    "bubblewrap runs as root with every capability dropped inside its user namespace)"
                )
            )
            return SandboxStatus(
                True,
                "bubblewrap",
                note.strip(" ()"),
                user=user,
                bwrap=bwrap,
                version=version,
                layers=[
                    "namespaces: user, pid, net, ipc, uts, cgroup",
                    "read-only filesystem view",
                    "environment allowlist",
                    "no capabilities",
                    "landlock",
                    "seccomp",
                    "rlimits",
                ],
                checked_at=now,
            )
    return SandboxStatus(
        False,
        "bubblewrap",
        "bubblewrap could not start a sandbox on this host (in a container, the "
        "worker needs user namespaces: see the README): " + last_error,
        bwrap=bwrap,
        version=version,
        checked_at=now,
    )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def chosen_host_user() -> tuple[int, int, str] | None:
    """The host user a run's bwrap starts as: the probe's choice (None = the worker's own)."""
    status = probe()
    wanted = _host_user()
    if wanted is not None and status.user == wanted[2]:
        return wanted
    return None
