"""The Celery application.

Every task message carries the audit context of whoever enqueued it (a header added at publish
time), and `core.tasks.AuditedTask` restores it in the worker, so events written by a task name
the user who triggered it.
"""

import os
from pathlib import Path

from celery import Celery
from celery.signals import before_task_publish, worker_process_init, worker_ready
from celery.worker.control import inspect_command

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# One BLAS/OpenMP thread per worker process: workers scale by processes, and numpy/sklearn
# spawning a thread per core in each process would oversubscribe the machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

AUDIT_HEADER = "audit_context"


def _ensure_broker_folders() -> None:
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    backend = str(app.conf.result_backend or "")
    if backend.startswith("file://"):
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


_ensure_broker_folders()


@before_task_publish.connect
def _attach_audit_context(headers=None, **_):
    from core import context

    if headers is not None and AUDIT_HEADER not in headers:
        headers[AUDIT_HEADER] = context.current().as_headers()


@worker_process_init.connect
def _close_inherited_db_connections(**_):
    # A forked pool process must not reuse the parent's database socket.
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()


@worker_ready.connect
def _probe_model_sandbox(**_):
    """Say at start-up whether validations on this worker run sandboxed: an operator reading the
    log (or /healthz) learns it before the first run fails closed."""
    import logging

    from audits.engine.sandbox import probe

    status = probe(refresh=True)
    log = logging.getLogger("portal.sandbox")
    if status.available:
        log.info("Model sandbox active: %s %s as %s. %s", status.mechanism, status.version, status.user, status.reason)
    else:
        log.error("Model sandbox NOT available; pickle-based models will be refused: %s", status.reason)


@inspect_command(name="model_sandbox")
def _model_sandbox_status(state, **_):
    """`celery inspect model_sandbox` and /healthz: this worker's sandbox, as its probe found it."""
    from audits.engine.sandbox import probe

    return probe().to_dict()
