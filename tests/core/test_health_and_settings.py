import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ConfigError, env_bool, env_broker, env_database, env_int, env_list, env_size

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_503_and_names_the_worker_when_none_answers(db, client, settings, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.control, "ping", lambda **kwargs: [])
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"] == {**body["checks"]["worker"], "ok": False}
    assert "no worker answered" in body["checks"]["worker"]["detail"]


def test_healthz_answers_503_with_the_reason_when_the_worker_has_no_model_sandbox(db, client, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.control, "ping", lambda **kwargs: [{"worker@host": {"ok": "pong"}}])
    unavailable = {"available": False, "mechanism": "none", "reason": "bubblewrap (bwrap) is not installed"}

    def broadcast(command, **kwargs):
        assert command == "model_sandbox"
        return [{"worker@host": unavailable}]

    monkeypatch.setattr(app.control, "broadcast", broadcast)
    response = client.get("/healthz")
    check = response.json()["checks"]["model_sandbox"]
    assert response.status_code == 503
    assert check["ok"] is False
    assert "pickle-based models are refused" in check["detail"] and "bwrap" in check["detail"]


@pytest.mark.parametrize("value", ["flase", "2", "yes please"])
def test_a_malformed_boolean_stops_start_up_naming_the_variable(value):
    with pytest.raises(ConfigError, match="DEBUG"):
        env_bool("DEBUG", False, environ={"DEBUG": value})


def test_sizes_accept_suffixes_and_reject_nonsense():
    assert env_size("MAX_UPLOAD_SIZE", 1, environ={"MAX_UPLOAD_SIZE": "2G"}) == 2 * 1024**3
    assert env_size("MAX_UPLOAD_SIZE", 1, environ={"MAX_UPLOAD_SIZE": "500MB"}) == 500 * 1024**2
    with pytest.raises(ConfigError, match="MAX_UPLOAD_SIZE"):
        env_size("MAX_UPLOAD_SIZE", 1, environ={"MAX_UPLOAD_SIZE": "lots"})


def test_integers_lists_and_urls_are_parsed_strictly():
    with pytest.raises(ConfigError, match="EMAIL_PORT"):
        env_int("EMAIL_PORT", 25, environ={"EMAIL_PORT": "25s"})
    with pytest.raises(ConfigError, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS", [], environ={"ALLOWED_HOSTS": "a.example,,b.example"})
    with pytest.raises(ConfigError, match="unsupported engine"):
        env_database("DATABASE_URL", Path("/tmp/x.db"), environ={"DATABASE_URL": "mysql://u@h/db"})
    with pytest.raises(ConfigError, match="CELERY_BROKER_URL"):
        env_broker("CELERY_BROKER_URL", Path("/tmp"), environ={"CELERY_BROKER_URL": "rabbit://h"})
    parsed = env_database("DATABASE_URL", Path("/tmp/x.db"), environ={"DATABASE_URL": "postgres://u:p@db:5432/portal"})
    assert (parsed["ENGINE"], parsed["NAME"], parsed["HOST"]) == ("django.db.backends.postgresql", "portal", "db")


def _manage(*args, env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_the_portal_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = _manage("check", env={"DEBUG": "0", "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "k" * 64 + "-production-like-secret-0123456789",
        "ALLOWED_HOSTS": "portal.example.org",
        "PORTAL_BASE_URL": "https://portal.example.org",
        "DATA_DIR": str(tmp_path),
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
