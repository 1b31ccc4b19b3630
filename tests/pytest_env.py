"""Loaded with `-p tests.pytest_env` before Django starts: development-style settings for tests,
with a data folder of their own for each run (SQLite test database, filesystem broker, uploads),
so a test run never touches the demo data and two runs never share a database file."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DEBUG", "1")
if "DATA_DIR" not in os.environ:
    _runs = _ROOT / "var" / "test-runs"
    _runs.mkdir(parents=True, exist_ok=True)
    _data = tempfile.mkdtemp(prefix="run-", dir=_runs)
    os.environ["DATA_DIR"] = _data
    atexit.register(shutil.rmtree, _data, ignore_errors=True)
# pytest-xdist (scripts/test.sh runs the suite on every core): each worker process gets a data
# folder, a broker database and a worker log of its own, so one worker's Celery worker never takes
# another's tasks and their uploads never meet. pytest-django gives each its own test database.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER:
    _own = Path(os.environ["DATA_DIR"]) / _XDIST_WORKER
    _own.mkdir(parents=True, exist_ok=True)
    os.environ["DATA_DIR"] = str(_own)
    _index = int(_XDIST_WORKER.removeprefix("gw") or 0)
    for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        _url = os.environ.get(_name, "")
        if _url.startswith(("redis://", "rediss://")):
            _base, _, _db = _url.rpartition("/")
            if _base.count("/") < 2 or not _db.isdigit():  # no database in the URL: redis://host:port
                _base, _db = _url.rstrip("/"), "0"
            # Downwards from the configured database (15 in CI): 15, 14, 13... one per worker.
            os.environ[_name] = f"{_base}/{(int(_db) - _index) % 16}"
os.environ.setdefault("AXES_ENABLED", "1")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around
# it are still synchronous, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The misbehaving models of the engine tests live in this package; the model sandbox shows the
# child only the engine's own code unless told otherwise.
os.environ.setdefault("MODEL_SANDBOX_EXTRA_CODE", str(_ROOT / "tests"))
