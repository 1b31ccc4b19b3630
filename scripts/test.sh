#!/usr/bin/env bash
# The whole test suite. With CI=true the database tests run on PostgreSQL and the job tests go
# through Redis to a real Celery worker; a missing service fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG=1
export PYTHONDONTWRITEBYTECODE=1
mkdir -p artifacts/screenshots var

scripts/ensure-chromium.sh
scripts/ensure-system-libs.sh --tests

if [ "${CI:-}" = "true" ]; then
  scripts/ensure-services.sh
  export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal}"
  export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15}"
fi

# The house rules (issue #12 item 17) before any test: a lint finding, an unformatted file, an import
# against the layering or a type error fails the build. The tools come with the dev lock (make install).
for tool in ruff lint-imports mypy; do
  if [ ! -x ".venv/bin/$tool" ]; then
    echo "$tool is not installed in .venv: run make install (requirements-dev.lock)." >&2
    exit 1
  fi
done
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/mypy

set +e
# TEST_WORKERS=N spreads the suite over N processes (pytest-xdist): each has its own test database,
# broker database, data folder and Celery worker (tests/pytest_env.py), and a test module stays on
# one process, so its module fixtures are built once. Default: one process per core (the whole suite
# took 31.5 min with 2 workers against about 59 min in one process on this 2-core machine);
# TEST_WORKERS=1 runs it in one process.
workers="${TEST_WORKERS:-$(nproc)}"
if [ "$workers" -gt 1 ] 2>/dev/null; then
  parallel=(-n "$workers" --dist loadscope)
else
  parallel=()
fi
$PY -m pytest "${parallel[@]}" "$@" --junitxml=artifacts/junit.xml
status=$?
set -e
if [ $status -eq 5 ]; then
  echo "pytest collected no tests: that is a failure for this project." >&2
  exit 1
fi
exit $status
