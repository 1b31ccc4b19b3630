"""Loaded with `-p tests.pytest_env` before Django starts: development-style settings for tests,
with their own data folder so a test run never touches the demo database."""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATA_DIR", str(_ROOT / "var" / "test-data"))
os.environ.setdefault("AXES_ENABLED", "1")
# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make around
# it are still synchronous, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
