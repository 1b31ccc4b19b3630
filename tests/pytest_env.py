"""Loaded with `-p tests.pytest_env` before Django starts: development-style settings for tests,
with a data folder of their own for each run (SQLite test database, filesystem broker, uploads),
so a test run never touches the demo data and two runs never share a database file."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DEBUG", "1")
if "DATA_DIR" not in os.environ:
    _runs = _ROOT / "var" / "test-runs"
    _runs.mkdir(parents=True, exist_ok=True)
    _data = tempfile.mkdtemp(prefix="run-", dir=_runs)
    os.environ["DATA_DIR"] = _data
    atexit.register(shutil.rmtree, _data, ignore_errors=True)
# pytest-xdist (scripts/test.sh with TEST_WORKERS=N): each worker process gets a data folder, a
# broker database and a worker log of its own, so one worker's Celery worker never takes another's
# tasks and their uploads never meet. pytest-django gives each its own test database.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER:
    _own = Path(os.environ["DATA_DIR"]) / _XDIST_WORKER
    _own.mkdir(parents=True, exist_ok=True)
    os.environ["DATA_DIR"] = str(_own)
    _index = int(_XDIST_WORKER.removeprefix("gw") or 0)
    for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        _url = urlsplit(os.environ.get(_name, ""))
        if _url.scheme in ("redis", "rediss"):
            # Downwards from the configured database (15 in CI): 15, 14, 13... one per worker. Never
            # wrapping round: a test worker on database 0 could take another application's tasks.
            _db = int(_url.path.strip("/") or 0) - _index
            if _db < 0:
                raise SystemExit(f"{_name}: too many test workers for database {_url.path or '/0'}; use a higher one")
            os.environ[_name] = urlunsplit(_url._replace(path=f"/{_db}"))
os.environ.setdefault("AXES_ENABLED", "1")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around
# it are still synchronous, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The misbehaving models of the engine tests live in this package; the model sandbox shows the
# child only the engine's own code unless told otherwise.
os.environ.setdefault("MODEL_SANDBOX_EXTRA_CODE", str(_ROOT / "tests"))
