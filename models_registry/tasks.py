"""Background checks of uploads whose scan or profile outlasted the request (see services).

Each task takes an id and calls one service, which claims the row with a conditional UPDATE: a
re-delivered message (acks-late) finds it taken or decided and does nothing. The Celery time limit
sits above the child process's own limit (which the service enforces and records as a refusal),
so it only fires if the worker itself hangs; the sweep then refuses the row."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core.tasks import AuditedTask

# The child is stopped at UPLOAD_SCAN_TIME_LIMIT_S; a minute more covers copying the file out of
# storage and recording the verdict.
_TIME_LIMIT = settings.UPLOAD_SCAN_TIME_LIMIT_S + 120
_SOFT_TIME_LIMIT = settings.UPLOAD_SCAN_TIME_LIMIT_S + 60


@shared_task(
    name="models_registry.model_version_scan",
    base=AuditedTask,
    acks_late=True,
    time_limit=_TIME_LIMIT,
    soft_time_limit=_SOFT_TIME_LIMIT,
)
def model_version_scan_task(version_id: int) -> dict:
    """Scan a pending model version's stored file with the full limits and record the verdict."""
    from models_registry.services import model_version_scan_run

    version = model_version_scan_run(version_id=version_id)
    return {
        "version": version_id,
        "claimed": version is not None,
        "verdict": version.scan_verdict if version is not None else None,
    }


@shared_task(
    name="models_registry.dataset_profile",
    base=AuditedTask,
    acks_late=True,
    time_limit=_TIME_LIMIT,
    soft_time_limit=_SOFT_TIME_LIMIT,
)
def dataset_profile_task(dataset_id: int) -> dict:
    """Profile a pending dataset's stored file with the full limits and record the schema or refusal."""
    from models_registry.services import dataset_profile_run

    dataset = dataset_profile_run(dataset_id=dataset_id)
    return {
        "dataset": dataset_id,
        "claimed": dataset is not None,
        "status": dataset.profile_status if dataset is not None else None,
    }


@shared_task(name="models_registry.upload_scans_sweep", base=AuditedTask)
def upload_scans_sweep_task() -> dict:
    """Periodic (beat): refuse pending scans and profiles that no worker finished in time."""
    from models_registry.services import upload_scans_expire

    return upload_scans_expire()
