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


def test_the_worker_service_can_be_scaled_to_several_containers_on_the_same_database_broker_and_files():
    """`docker compose up --scale worker=N` (README, "Running workers on several machines"): a fixed
    container name, host port or Celery node name would make the second container fail or clash."""
    services = compose()["services"]
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker
    assert "--hostname" not in worker["command"] and "-n " not in worker["command"]
    assert worker["environment"] == services["web"]["environment"], "one database, one broker, one data folder"
    assert worker["volumes"] == services["web"]["volumes"], "the uploads, reports and keys web and workers share"


TEST_ONLY_PACKAGES = {
    "pytest",
    "pytest-django",
    "pytest-timeout",
    "playwright",
    "moto",
    "hypothesis",
    "hypothesis-graphql",
    "schemathesis",
    "responses",
    "pip-tools",
}


def locked(name: str) -> dict[str, list[str]]:
    """A pip-compile lock as {requirement line: its hashes}; every other line must be a comment."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        stripped = line.strip().removesuffix("\\").strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line.startswith((" ", "\t")):
            assert current is not None and stripped.startswith("--hash="), f"{name}: stray line {line!r}"
            entries[current].append(stripped)
        else:
            assert not stripped.startswith("-"), f"{name}: option line {line!r} (index, find-links, -e...)"
            current = stripped
            entries[current] = []
    return entries


def canonical(requirement: str) -> str:
    return re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")


def test_the_runtime_lock_holds_no_test_only_package_and_the_dev_lock_holds_them_all():
    runtime = {canonical(r) for r in locked("requirements.lock")}
    dev = {canonical(r) for r in locked("requirements-dev.lock")}
    assert {"django", "celery", "gunicorn", "psycopg", "shap", "fairlearn", "onnx", "weasyprint"} <= runtime
    assert runtime & TEST_ONLY_PACKAGES == set()
    assert TEST_ONLY_PACKAGES - {"pip-tools"} <= dev
    assert runtime < dev


def test_every_requirement_in_both_locks_is_pinned_with_double_equals_and_carries_a_sha256_hash():
    for name in ("requirements.lock", "requirements-dev.lock"):
        entries = locked(name)
        assert len(entries) > 50, f"{name} looks truncated"
        for requirement, hashes in entries.items():
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!]+", requirement), (
                f"{name}: {requirement!r} is not pinned with =="
            )
            assert hashes and all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", h) for h in hashes), (
                f"{name}: {requirement} has no sha256 hash"
            )


def test_the_dev_lock_keeps_every_runtime_package_at_the_runtime_locks_version():
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert set(runtime) <= set(dev)


def test_the_dockerfile_installs_the_runtime_lock_with_require_hashes_and_never_the_dev_lock():
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs and all("--require-hashes" in line and "-r requirements.lock" in line for line in installs)
    assert not any("requirements-dev.lock" in line or "[dev]" in line for line in installs)
    assert "requirements-dev.lock" in (ROOT / ".dockerignore").read_text().split()


def test_the_makefile_installs_the_dev_lock_with_require_hashes_and_reinstalls_when_either_lock_changes():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line and " -r " in line]
    assert installs and all("--require-hashes" in line for line in installs)
    assert any("-r requirements-dev.lock" in line for line in installs)
    assert re.search(r"^LOCKS := requirements\.lock requirements-dev\.lock$", makefile, re.M)
    assert "cat $(LOCKS) pyproject.toml" in makefile and "$(STAMP): $(LOCKS) pyproject.toml" in makefile


def test_every_pin_in_pyproject_is_the_version_its_lock_holds():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def pins(requirements):
        return {canonical(r): r.split("==", 1)[1] for r in requirements}

    runtime, dev = pins(locked("requirements.lock")), pins(locked("requirements-dev.lock"))
    for lock, declared in (
        (runtime, project["dependencies"]),
        (dev, project["dependencies"] + project["optional-dependencies"]["dev"]),
    ):
        for requirement in declared:
            name, version = canonical(requirement), requirement.split("==", 1)[1]
            assert lock.get(name) == version, (
                f"pyproject pins {requirement}, the lock has {lock.get(name)}: run scripts/lock-dependencies.sh"
            )
