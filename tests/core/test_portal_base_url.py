"""PORTAL_BASE_URL is signed into every certificate: production must say it, and `make run`
derives it from the port it serves (issue #12 item 12, issue #13 item 3)."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ConfigError, env_url

ROOT = Path(__file__).resolve().parents[2]


def _settings_value(name: str, env) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "PORTAL_BASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    code = f"from django.conf import settings; print(settings.{name})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


def test_the_portal_refuses_to_start_without_its_base_url_when_debug_is_off(tmp_path):
    result = _settings_value(
        "PORTAL_BASE_URL",
        env={"DEBUG": "0", "SECRET_KEY": "s" * 60, "ALLOWED_HOSTS": "portal.example.org", "DATA_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "PORTAL_BASE_URL is required when DEBUG is off" in result.stderr


def test_the_portal_starts_with_a_base_url_when_debug_is_off(tmp_path):
    result = _settings_value(
        "PORTAL_BASE_URL",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "s" * 60,
            "ALLOWED_HOSTS": "portal.example.org",
            "DATA_DIR": str(tmp_path),
            "PORTAL_BASE_URL": "https://portal.example.org/",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://portal.example.org"


@pytest.mark.parametrize(
    "value",
    ["portal.example.org", "ftp://portal.example.org", "https://", "https://h:80x", "https://portal.example.org/?x=1"],
)
def test_a_base_url_that_is_not_an_absolute_http_url_stops_start_up(value):
    with pytest.raises(ConfigError, match="PORTAL_BASE_URL"):
        env_url("PORTAL_BASE_URL", environ={"PORTAL_BASE_URL": value})


def _fake_checkout(tmp_path: Path) -> Path:
    """scripts/run-dev.sh in a copy of the checkout whose python and celery only write down the
    environment they were started with, so the script runs for real without a server."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run-dev.sh", tmp_path / "scripts" / "run-dev.sh")
    stubs = {
        "scripts/ensure-system-libs.sh": "#!/usr/bin/env bash\nexit 0\n",
        # "runserver" stays up until the background worker has written its line, as a real server
        # would: otherwise the script's exit trap could stop the worker stub before it wrote anything.
        ".venv/bin/python": (
            "#!/usr/bin/env bash\n"
            'echo "python $* PORTAL_BASE_URL=$PORTAL_BASE_URL" >> calls.log\n'
            'case "$*" in *runserver*) for _ in $(seq 200); do grep -q "^celery" calls.log && break; sleep 0.05; done;; esac\n'
        ),
        ".venv/bin/celery": '#!/usr/bin/env bash\necho "celery PORTAL_BASE_URL=$PORTAL_BASE_URL" >> calls.log\n',
    }
    for name, body in stubs.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def _run_dev(folder: Path, **env) -> list[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"PORTAL_BASE_URL", "PORT"}}
    result = subprocess.run(
        ["bash", str(folder / "scripts" / "run-dev.sh")],
        cwd=folder,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The exit code is the stopped background worker's (the script's trap kills it): not what is tested.
    assert "Health: http://127.0.0.1:" in result.stdout, result.stdout + result.stderr
    # The background worker may still be writing its line when the script returns.
    for _ in range(50):
        lines = (folder / "calls.log").read_text().splitlines()
        if any(line.startswith("celery") for line in lines):
            return lines
        __import__("time").sleep(0.1)
    return lines


def test_make_run_signs_certificates_with_the_address_of_the_port_it_serves(tmp_path):
    lines = _run_dev(_fake_checkout(tmp_path), PORT="8123")
    runserver = next(line for line in lines if "runserver" in line)
    assert "runserver 127.0.0.1:8123" in runserver
    assert "PORTAL_BASE_URL=http://127.0.0.1:8123" in runserver
    assert any(line == "celery PORTAL_BASE_URL=http://127.0.0.1:8123" for line in lines)


def test_make_run_keeps_a_base_url_that_was_set(tmp_path):
    lines = _run_dev(_fake_checkout(tmp_path), PORT="8123", PORTAL_BASE_URL="https://dev.example.org")
    assert all("PORTAL_BASE_URL=https://dev.example.org" in line for line in lines)
