#!/usr/bin/env bash
# Start the portal for a newcomer: migrate, seed demo data, run a Celery worker (with beat) in the
# background and the web server in the foreground. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-1}"
PY=.venv/bin/python
PORT="${PORT:-8000}"
# Every certificate signs its verification link with this address, so it must be the one served
# below (the web server and the worker both read it).
export PORTAL_BASE_URL="${PORTAL_BASE_URL:-http://127.0.0.1:${PORT}}"
# Notification e-mails go to files under $DATA_DIR/mail/ (EMAIL_FILE_PATH): nothing leaves the machine.
export EMAIL_BACKEND="${EMAIL_BACKEND:-django.core.mail.backends.filebased.EmailBackend}"

# PDF reports need Pango and a font from the system.
scripts/ensure-system-libs.sh

echo "Preparing the database..."
$PY manage.py migrate --no-input -v 0

mkdir -p data
.venv/bin/celery -A config worker --beat --loglevel=warning --concurrency=2 \
    --schedule=data/celerybeat-schedule >data/worker.log 2>&1 &
WORKER_PID=$!
trap 'kill $WORKER_PID 2>/dev/null; wait $WORKER_PID 2>/dev/null' EXIT INT TERM
echo "Background worker started (pid $WORKER_PID, log: data/worker.log)."

$PY manage.py seed_demo
echo "Health: http://127.0.0.1:${PORT}/healthz   API docs: http://127.0.0.1:${PORT}/api/docs/"
$PY manage.py runserver "127.0.0.1:${PORT}"
