"""Throw-away virtual environments for the peer tools (Giskard, Deepchecks), outside the repo.

Each peer gets its own venv under `${XDG_CACHE_HOME:-~/.cache}/portal-bench/venvs/<tool>` (or
`$PORTAL_BENCH_CACHE/venvs/<tool>`), created with the base Python 3.11 interpreter and installed with
exact pins. A marker file holding the pins' fingerprint makes the next run reuse it; a changed pin
list rebuilds it. Nothing here touches the project's own `.venv`.

Usage on its own: `python -m bench.peer_env giskard deepchecks` (prepares them, prints the outcome).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Known to install on Python 3.11 (issue #4). Deepchecks 0.19.1 only resolves with these pins beside it.
PEERS: dict[str, list[str]] = {
    "giskard": ["giskard==2.19.2"],
    "deepchecks": [
        "deepchecks==0.19.1",
        "scikit-learn<1.6",
        "numpy<2",
        "pandas<2.3",
        "category-encoders<2.7",
        "plotly<6",
    ],
}


@dataclass
class PeerEnv:
    tool: str
    python: Path | None
    error: str = ""
    log: Path | None = None


def cache_root() -> Path:
    explicit = os.environ.get("PORTAL_BENCH_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "portal-bench"


def _base_python() -> str:
    """The interpreter the project's venv was made from (so the peers get the same Python 3.11)."""
    return os.environ.get("PORTAL_BENCH_PYTHON") or getattr(sys, "_base_executable", None) or sys.executable


def _fingerprint(pins: list[str]) -> str:
    return hashlib.sha256("\n".join(pins).encode()).hexdigest()[:16]


def ensure_peer_env(tool: str, *, quiet: bool = True) -> PeerEnv:
    """Create (or reuse) the venv of `tool`. Never raises for an install failure: returns the reason."""
    pins = PEERS[tool]
    root = cache_root() / "venvs" / tool
    python = root / "bin" / "python"
    marker = root / ".installed"
    log = cache_root() / f"install-{tool}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if python.exists() and marker.exists() and marker.read_text().strip() == _fingerprint(pins):
        return PeerEnv(tool, python, log=log)
    if root.exists():
        shutil.rmtree(root)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    steps = [
        [_base_python(), "-m", "venv", str(root)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", *pins],
    ]
    with open(log, "w") as out:
        for cmd in steps:
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
            if done.returncode != 0:
                return PeerEnv(
                    tool,
                    None,
                    error=f"`{' '.join(cmd[-len(pins) - 1 :])}` failed (exit {done.returncode}): {_last_error(log)}",
                    log=log,
                )
    marker.write_text(_fingerprint(pins))
    return PeerEnv(tool, python, log=log)


def _last_error(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
    return errors[-1][:300] if errors else "no output"


if __name__ == "__main__":
    for name in sys.argv[1:] or list(PEERS):
        result = ensure_peer_env(name)
        print(
            f"{name}: {'ready at ' + str(result.python) if result.python else 'FAILED: ' + result.error}"
            f" (log {result.log})"
        )
