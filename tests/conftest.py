"""Personas, the permission-matrix helper, and the real Celery worker used by job tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.choices import Role

ROOT = Path(__file__).resolve().parent.parent

from hypothesis import settings as hypothesis_settings  # noqa: E402

# In CI, property tests draw the same examples every run (no flaky builds, no example database);
# locally they explore randomly, which is how they find new bugs.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")
IN_CI = os.environ.get("CI") == "true"
PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    """Tests hash passwords with a fast hasher: the production PBKDF2 (a million rounds, about 0.6 s
    a hash here) made every test with four personas spend seconds creating them. What the tests
    check (a password is needed, a wrong one is refused) does not depend on the algorithm."""
    from django.test.utils import override_settings

    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()
    _let_the_test_flush_truncate_the_trail()


def _let_the_test_flush_truncate_the_trail() -> None:
    """Transactional tests end with Django's flush, one TRUNCATE of every table, and on PostgreSQL
    the audit trail refuses TRUNCATE (audits/0007). Only the tests' flush lifts that guard, for
    the length of its own statement list; nothing in the portal ever truncates."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush
    toggle = (
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'audits_auditevent_no_truncate') "
        "THEN ALTER TABLE audits_auditevent {} TRIGGER audits_auditevent_no_truncate; END IF; END $$"
    )

    def execute_sql_flush(self, sql_list):
        if any("audits_auditevent" in statement for statement in sql_list):
            sql_list = [toggle.format("DISABLE"), *sql_list, toggle.format("ENABLE")]
        return original(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush


def pytest_sessionstart(session):
    """In CI the suite must run on PostgreSQL and Redis; refuse to quietly test something else."""
    if not IN_CI:
        return
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    broker = settings.CELERY_BROKER_URL
    problems = []
    if engine != "django.db.backends.postgresql":
        problems.append(f"database engine is {engine}, expected PostgreSQL (set DATABASE_URL)")
    if not broker.startswith("redis"):
        problems.append(f"broker is {broker}, expected Redis (set CELERY_BROKER_URL)")
    if problems:
        pytest.exit("CI=true but " + "; ".join(problems), returncode=3)


@pytest.fixture(autouse=True)
def _checkpoints_of_this_test_only(settings, tmp_path_factory):
    """Each test keeps its audit-trail checkpoints apart: a checkpoint another test signed for a
    chain with the same name would otherwise be checked against this test's trail."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path_factory.mktemp("audit-checkpoints")


@pytest.fixture(autouse=True)
def _migration_seeded_data(request):
    """The built-in threat library and the Act's application dates are data that migrations
    governance/0004 and 0002 write. A test that
    flushes the tables (a browser or worker test, with a transactional database) removes it, and
    under pytest-xdist such a test may run before any other test of the same process: a test with the
    ordinary (rolled-back) database finds the library as a migrated database has it, whatever ran
    before. Two EXISTS queries per database test."""
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if names & {"transactional_db", "live_server", "django_db_serialized_rollback"}:
        return
    if marker is None and "db" not in names:
        return
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return
    request.getfixturevalue("db")
    import importlib

    from django.apps import apps

    from governance.models import ApplicationDate
    from governance.risks.models import Threat

    if not Threat.objects.filter(organisation=None).exists():
        importlib.import_module("governance.migrations.0004_seed_threat_library").seed(apps, None)
    if not ApplicationDate.objects.exists():
        importlib.import_module("governance.migrations.0002_seed_application_dates").seed(apps, None)


# --- personas ---------------------------------------------------------------------------------


@pytest.fixture
def organisation(db):
    from core.models import Organisation

    return Organisation.objects.create(name="Acme Bank", slug="acme")


@pytest.fixture
def other_organisation(db):
    from core.models import Organisation

    return Organisation.objects.create(name="Globex Insurance", slug="globex")


def make_user(organisation, username: str, role: str):
    from core.models import User

    user = User(
        username=username,
        email=f"{username}@example.org",
        organisation=organisation,
        role=role,
        first_name=username.title(),
    )
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def ml_engineer(organisation):
    return make_user(organisation, "mia", Role.ML_ENGINEER)


@pytest.fixture
def auditor(organisation):
    return make_user(organisation, "arne", Role.AUDITOR)


@pytest.fixture
def compliance_officer(organisation):
    return make_user(organisation, "chloe", Role.COMPLIANCE_OFFICER)


@pytest.fixture
def org_admin(organisation):
    return make_user(organisation, "ada", Role.ORG_ADMIN)


@pytest.fixture
def outsider(other_organisation):
    """An organisation admin of another organisation: the most privileged stranger."""
    return make_user(other_organisation, "olga", Role.ORG_ADMIN)


PERSONAS = ("anonymous", "ml_engineer", "auditor", "compliance_officer", "org_admin", "outsider")


@dataclass
class Personas:
    users: dict

    def __getitem__(self, name):
        return self.users[name]


@pytest.fixture
def personas(ml_engineer, auditor, compliance_officer, org_admin, outsider):
    return Personas(
        {
            "anonymous": None,
            "ml_engineer": ml_engineer,
            "auditor": auditor,
            "compliance_officer": compliance_officer,
            "org_admin": org_admin,
            "outsider": outsider,
        }
    )


@pytest.fixture
def permission_matrix(personas):
    """Run one request as every persona and return {persona: status_code}.

    `call(client)` performs the request; the client is logged in (session) as the persona, or
    carries an API token when `api=True`.
    """
    from django.test import Client
    from rest_framework.test import APIClient

    def run(call, *, api: bool = False) -> dict[str, int]:
        results = {}
        for name in PERSONAS:
            user = personas[name]
            if api:
                client = APIClient()
                if user is not None:
                    from core.models import ApiToken

                    _, secret = ApiToken.objects.create(user=user, name="matrix")
                    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
            else:
                client = Client()
                if user is not None:
                    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
            results[name] = call(client).status_code
        return results

    return run


# --- a real worker ----------------------------------------------------------------------------


def _test_database_url() -> str:
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the configured broker, using the test database, with the
    prefork pool that production runs (its pool processes are daemonic, which the validation
    engine's child processes must cope with)."""
    from django.conf import settings

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_RESULT_BACKEND=settings.CELERY_RESULT_BACKEND,
        DJANGO_ALLOW_ASYNC_UNSAFE="",
    )
    xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1... under pytest-xdist
    log_path = ROOT / "artifacts" / (f"worker-{xdist_worker}.log" if xdist_worker else "worker.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    # A name of its own, and the readiness ping asks that worker only: a worker another test started
    # on the same broker (the many-workers and takeover tests) may still be answering while it stops.
    hostname = f"test-worker-{os.getpid()}@tests"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=info",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={hostname}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited at start-up; see {log_path}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            break
    else:
        process.terminate()
        raise RuntimeError(f"the Celery worker did not answer within 60 s; see {log_path}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
