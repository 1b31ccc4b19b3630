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
os.environ.setdefault("AXES_ENABLED", "1")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around
# it are still synchronous, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The misbehaving models of the engine tests live in this package; the model sandbox shows the
# child only the engine's own code unless told otherwise.
os.environ.setdefault("MODEL_SANDBOX_EXTRA_CODE", str(_ROOT / "tests"))
