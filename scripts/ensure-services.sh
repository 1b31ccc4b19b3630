#!/usr/bin/env bash
# CI needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379. Start them if they are
# installed but stopped; fail loudly if they cannot be reached.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || "${PYTHON:-.venv/bin/python}" - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
}
redis_up() { "${PYTHON:-.venv/bin/python}" - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("127.0.0.1", 6379)); s.sendall(b"PING\r\n"); ok = s.recv(16).startswith(b"+PONG")
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
}

if ! pg_up; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; trying to start it..."
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    sleep 3
  fi
fi
if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:6379; trying to start it..."
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    sleep 1
  fi
fi
pg_up || { echo "FATAL: PostgreSQL is required when CI=true and is not reachable on 127.0.0.1:5432." >&2; exit 1; }
redis_up || { echo "FATAL: Redis is required when CI=true and is not reachable on 127.0.0.1:6379." >&2; exit 1; }
echo "PostgreSQL and Redis are up."
