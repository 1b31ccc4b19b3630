"""docker compose cannot run on this machine (no Docker engine), so these tests keep the compose
file, the Dockerfile, .env.example and the settings consistent with each other."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_beat_postgres_and_redis_each_with_a_health_check():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"


def test_the_portal_services_wait_for_healthy_databases_and_keep_data_in_volumes():
    spec = compose()
    for name in ("web", "worker", "beat"):
        service = spec["services"][name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert any(v.endswith(":/data") for v in service["volumes"])
    assert {"portal-data", "postgres-data", "redis-data"} <= set(spec["volumes"])


def test_compose_points_the_portal_at_its_postgresql_and_redis_services():
    env = compose()["services"]["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert "gunicorn config.wsgi:application" in compose()["services"]["web"]["command"]
    assert "celery -A config worker" in compose()["services"]["worker"]["command"]
    assert "celery -A config beat" in compose()["services"]["beat"]["command"]


def test_env_example_documents_every_variable_the_settings_read():
    read = set()
    for path in (ROOT / "config").glob("*.py"):
        read |= set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', path.read_text()))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "found no settings read from the environment"
    assert read - documented == set(), f"undocumented: {sorted(read - documented)}"


def test_the_dockerfile_installs_the_locked_requirements_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.lock" in dockerfile and "collectstatic" in dockerfile
    assert "USER portal" in dockerfile


def test_the_worker_image_has_the_model_sandbox_and_compose_lets_it_create_namespaces():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "bubblewrap" in dockerfile and "libseccomp2" in dockerfile
    worker = compose()["services"]["worker"]
    assert {"seccomp=unconfined", "apparmor=unconfined"} <= set(worker.get("security_opt", []))
    assert "cap_add" not in worker and not worker.get("privileged"), "the sandbox needs no extra capability"
    for name in ("web", "beat"):
        assert "security_opt" not in compose()["services"][name], f"{name} loads no model and keeps Docker's profiles"
