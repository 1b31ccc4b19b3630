"""The validation wing's worker tasks. Services enqueue them by name (`core.enqueue.task_enqueue`),
never by importing this module."""

from celery import shared_task

from core.tasks import AuditedTask

# Errors that may go away on their own: the task retries them. Anything the model or the data
# does is not among them; it fails the run with a reason instead.
MAX_RETRIES = 3


def _transient_errors() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError

    from audits.validation.services import StorageUnavailable

    return (OperationalError, InterfaceError, StorageUnavailable)


@shared_task(name="audits.validation_run_execute", base=AuditedTask, acks_late=True, bind=True, max_retries=MAX_RETRIES)
def validation_run_execute(self, run_id: int, resume_token: str = "", recheck: bool = False) -> dict:
    """Claim one run (a queued one, or one whose worker died: a takeover), execute it in a child
    process and record how it ended.

    Safe to deliver twice (acks-late): the claim is a conditional UPDATE, so a second delivery
    finds the run taken and exits. A delivery that finds the run held by a live-looking worker
    sends one re-check for when that worker's heartbeat would be stale (`recheck`): the message of
    a killed pool process comes back at once, while the dead worker's heartbeat is still fresh.
    A retry after a transient error resumes with the claim token it was given; a transient error in
    the claim itself is retried as the same delivery (the run is not lost)."""
    import os
    import traceback
    import uuid

    from audits.validation import services as runs
    from core.errors import PortalError

    token = resume_token or uuid.uuid4().hex
    worker = f"{self.request.hostname or 'local'} pid {os.getpid()}"
    try:
        run = runs.validation_claim(run_id=run_id, token=token, resume=bool(resume_token), worker=worker)
    except _transient_errors() as exc:
        # The claim's transaction rolled back (a deadlock with another worker's, a dropped database
        # connection): the run is as it was, still queued or still held. Deliver again, or the
        # message would be acknowledged with the run left queued and no worker ever taking it.
        if self.request.retries < self.max_retries:
            raise self.retry(
                exc=exc,
                countdown=2**self.request.retries,
                args=(run_id,),
                kwargs={"resume_token": resume_token, "recheck": recheck},
            ) from exc
        raise
    if run is None:
        delay = None if (resume_token or recheck) else runs.validation_recheck_schedule(run_id=run_id)
        return {"run": run_id, "claimed": False, **({"recheck_in": delay} if delay is not None else {})}
    try:
        outcome = runs.validation_execute(run=run, token=token)
        runs.validation_finish(
            run_id=run_id,
            token=token,
            status=outcome.status,
            error_message=outcome.error_message,
            error_detail=outcome.error_detail,
            reproducibility=outcome.reproducibility,
            peak_memory_mb=round(outcome.peak_rss_mb, 1),
            duration_s=outcome.duration_s,
        )
        return {"run": run_id, "claimed": True, "status": outcome.status}
    except _transient_errors() as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(
                exc=exc, countdown=5 * 2**self.request.retries, args=(run_id,), kwargs={"resume_token": token}
            ) from exc
        message = (
            f"The validation could not be completed: {getattr(exc, 'message', None) or exc} "
            f"(still failing after {self.max_retries} retries)."
        )
        runs.validation_fail(run_id=run_id, token=token, message=message, detail=traceback.format_exc())
    except PortalError as exc:  # a clear, permanent problem with the inputs (e.g. a missing file)
        runs.validation_fail(
            run_id=run_id,
            token=token,
            message=f"The validation could not start: {exc.message}",
            detail=traceback.format_exc(),
        )
    except Exception:  # the task boundary: record the failure on the run, never lose it
        runs.validation_fail(
            run_id=run_id,
            token=token,
            message="The validation stopped because of an internal "
            "error in the portal; the technical detail below helps the administrators.",
            detail=traceback.format_exc(),
        )
    return {"run": run_id, "claimed": True, "status": "failed"}


@shared_task(name="audits.validation_reap_stale", base=AuditedTask)
def validation_reap_stale_task() -> list[int]:
    """Periodic (beat): hand running validations whose worker stopped sending heartbeats back to the
    broker for a takeover (failing them once their attempts are used up), and fail queued ones no
    worker picked up within VALIDATION_QUEUED_TIMEOUT_S."""
    from audits.validation.services import validation_reap_stale

    return validation_reap_stale()


@shared_task(name="audits.validation_publish_pending", base=AuditedTask)
def validation_publish_pending_task() -> list[int]:
    """Periodic (beat): the outbox sweep. Sends the validations whose message the broker never
    accepted (it was down when they were started); a run sent twice is claimed once."""
    from audits.validation.services import validation_publish_pending

    return validation_publish_pending()
