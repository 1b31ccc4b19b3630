"""Validation runs: starting and cancelling them (web and API), handing them to the broker (the run
row is the outbox), and the worker's side of a run (claim or takeover, heartbeat and progress,
results as they stream in, finish, reaping stale runs).

The checks and the model run in a child process (`audits.engine`); this module only moves data
between that process and the database. Heavy libraries (numpy, sklearn, shap) are imported lazily.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audits.choices import ACTIVE_STATUSES, FindingStatus, RunStatus, Suite, can_move
from audits.models import CheckResultRecord, Finding, ValidationPolicySettings, ValidationRun
from core import context as audit_context
from core.errors import Conflict, NotAllowed, NotFound, PortalError, ValidationFailed
from core.permissions import has_permission
from core.trail import audit_record

# Which suite a run gets when nobody picks one: the stricter the EU AI Act tier, the more checks.
SUITE_BY_RISK_TIER = {
    "high": Suite.FULL,
    "prohibited": Suite.FULL,
    "limited": Suite.STANDARD,
    "minimal": Suite.STANDARD,
    "out_of_scope": Suite.STANDARD,
    "unclassified": Suite.STANDARD,
}
TASKS = ("binary", "multiclass", "regression")
HEARTBEAT_EVERY_S = 2.0
PROGRESS_EVERY_S = 0.5  # at most two progress writes per second
# The outbox: the request's own publish (on commit) goes first; the sweep only takes runs it did not
# send after PUBLISH_GRACE_S, holds a run it is sending for PUBLISH_LEASE_S, and waits longer after
# each failure (10 s, 20 s, 40 s ... at most PUBLISH_BACKOFF_MAX_S).
PUBLISH_GRACE_S = 10
PUBLISH_LEASE_S = 60
PUBLISH_BACKOFF_MAX_S = 300
HAND_BACK_SLACK = timedelta(seconds=10)

logger = logging.getLogger(__name__)


class StorageUnavailable(PortalError):
    """A stored file could not be read for a reason that may go away (network, object store)."""

    code = "storage_unavailable"


def _require(actor, permission: str) -> None:
    if not has_permission(actor, permission):
        raise NotAllowed(f"Your role does not allow {permission}.", code="not_allowed")


def _own(actor, obj, label: str):
    if obj is not None and obj.organisation_id != actor.organisation_id:
        raise NotFound(f"That {label} does not exist.", code="not_found")
    return obj


def default_suite_for(system) -> str:
    return SUITE_BY_RISK_TIER.get(system.risk_tier, Suite.STANDARD)


# --- policy ------------------------------------------------------------------------------------


def validation_policy_settings_get(*, organisation_id: int) -> ValidationPolicySettings:
    """The organisation's settings, or the defaults (every override allowed) when it has none."""
    found = ValidationPolicySettings.objects.filter(organisation_id=organisation_id).first()
    return found or ValidationPolicySettings(organisation_id=organisation_id)


def validation_policy_settings_fingerprint(*, settings_row: ValidationPolicySettings) -> str:
    """A short digest of what the settings say. The settings page sends back the one it showed,
    so a save made on top of another admin's newer change is refused instead of undoing it."""
    state = {"allow_overrides": settings_row.allow_overrides, "locked_keys": sorted(settings_row.locked_keys or [])}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def _clean_locked_keys(locked_keys: list[str] | None) -> list[str]:
    from audits.selectors import validation_policy_key_groups

    keys = sorted({str(k).strip() for k in locked_keys or [] if str(k).strip()})
    known = {key for _, group in validation_policy_key_groups() for key, _ in group}
    for key in keys:
        if key not in known:
            raise ValidationFailed(
                f"Unknown policy key {key!r}.", code="invalid_policy", extra={"field": "locked_keys"}
            )
    return keys


def validation_policy_settings_update(
    *, actor, allow_overrides: bool, locked_keys: list[str] | None = None, reason: str = "", based_on: str | None = None
) -> ValidationPolicySettings:
    """Organisation admins decide whether runs may override the policy, and which keys stay locked.
    `based_on` is the fingerprint of the settings the admin saw; a different current one is a Conflict."""
    _require(actor, "org.manage")
    keys = _clean_locked_keys(locked_keys)
    with transaction.atomic():
        # Locked so two admins saving at once cannot interleave their before/after snapshots.
        row, _ = ValidationPolicySettings.objects.select_for_update().get_or_create(
            organisation_id=actor.organisation_id
        )
        before = {"allow_overrides": row.allow_overrides, "locked_keys": row.locked_keys}
        if based_on is not None and based_on != validation_policy_settings_fingerprint(settings_row=row):
            raise Conflict(
                "Someone changed these settings while you were editing them. The page now shows "
                "the current settings; check them and save again.",
                code="policy_settings_changed",
                extra={"current": before},
            )
        row.allow_overrides, row.locked_keys = bool(allow_overrides), keys
        row.save()
        audit_record(
            verb="validation_policy.updated",
            target=row,
            actor=actor,
            reason=reason,
            before=before,
            after={"allow_overrides": row.allow_overrides, "locked_keys": keys},
        )
    return row


def _flat_keys(overrides: dict, prefix: str = "") -> list[str]:
    keys = []
    for key, value in overrides.items():
        keys.extend(_flat_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"])
    return keys


def validation_policy_resolve(*, organisation_id: int, overrides: dict | None) -> dict:
    """Check overrides against the organisation's settings and the policy's own keys and types;
    return the resolved policy as a dict."""
    from audits.checks.policy import Policy, PolicyError  # lazy: the checks package pulls in sklearn

    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise ValidationFailed(
            "Policy overrides must map policy keys to values.",
            code="invalid_policy",
            extra={"field": "policy_overrides"},
        )
    if overrides:
        org_settings = validation_policy_settings_get(organisation_id=organisation_id)
        if not org_settings.allow_overrides:
            raise NotAllowed(
                "Your organisation does not allow policy overrides; the validation runs with the standard policy.",
                code="overrides_not_allowed",
                extra={"field": "policy_overrides"},
            )
        locked = sorted(set(_flat_keys(overrides)) & set(org_settings.locked_keys or []))
        if locked:
            raise NotAllowed(
                f"Your organisation has locked these policy keys: {', '.join(locked)}.",
                code="policy_key_locked",
                extra={"field": "policy_overrides", "keys": locked},
            )
    try:
        return Policy.from_overrides(overrides).to_dict()
    except PolicyError as exc:
        raise ValidationFailed(str(exc), code="invalid_policy", extra={"field": "policy_overrides"}) from None


# --- start and cancel --------------------------------------------------------------------------


def _check_inputs(*, actor, model_version, system, train_dataset, test_dataset, task):
    """Returns the system of the run; every object must belong to it and to the actor's organisation."""
    if test_dataset is None:
        raise ValidationFailed(
            "Pick the test dataset to validate on.", code="test_dataset_required", extra={"field": "test_dataset"}
        )
    for obj, label in (
        (model_version, "model version"),
        (system, "AI system"),
        (train_dataset, "dataset"),
        (test_dataset, "dataset"),
    ):
        _own(actor, obj, label)
    if model_version is not None:
        system_id = model_version.system_id
    else:
        system_id = system.pk if system is not None else test_dataset.system_id
    if system is not None and system.pk != system_id:
        raise ValidationFailed(
            "The model version belongs to another AI system.",
            code="version_other_system",
            extra={"field": "model_version"},
        )
    for dataset, field in ((test_dataset, "test_dataset"), (train_dataset, "train_dataset")):
        if dataset is not None and dataset.system_id != system_id:
            raise ValidationFailed(
                f"{dataset} belongs to another AI system; pick a dataset of this system.",
                code="dataset_other_system",
                extra={"field": field},
            )
        if dataset is not None and dataset.profile_status != "profiled":
            raise ValidationFailed(
                f"{dataset} cannot be validated on yet: "
                + ("it is still being profiled." if dataset.profile_status == "pending" else "its file was refused."),
                code="dataset_not_ready",
                extra={"field": field},
            )
    if train_dataset is not None and train_dataset.pk == test_dataset.pk:
        raise ValidationFailed(
            "The training and test datasets are the same dataset.",
            code="same_dataset",
            extra={"field": "train_dataset"},
        )
    if model_version is None:
        if not test_dataset.prediction_column:
            raise ValidationFailed(
                "Without a model version the test dataset must hold the predictions (a prediction column).",
                code="predictions_required",
                extra={"field": "model_version"},
            )
        if task not in TASKS:
            raise ValidationFailed(
                f"Task must be one of {', '.join(TASKS)}.", code="invalid_task", extra={"field": "task"}
            )
    else:
        _check_model(model_version, test_dataset)
    return model_version.system if model_version is not None else (system or test_dataset.system)


def _check_model(model_version, test_dataset) -> None:
    if model_version.scan_verdict != "safe":
        raise ValidationFailed(
            "This model version "
            + (
                "is still being scanned"
                if model_version.scan_verdict == "pending"
                else "was refused by the safety scan"
            )
            + " and cannot be loaded.",
            code="model_not_safe",
            extra={"field": "model_version"},
        )


def dataset_column_names(dataset) -> list[str]:
    """The columns of a profiled dataset, in file order (from the profile the registry stored)."""
    return [c["name"] for c in dataset.schema or [] if isinstance(c, dict) and isinstance(c.get("name"), str)]


def model_version_default_features(model_version, columns: list[str]) -> list[str]:
    """The feature columns a run uses when none are picked: the model card's, else the names the
    model itself declares when the dataset has them all, else [] (every column but the target)."""
    if model_version is None:
        return []
    if model_version.feature_columns:
        return list(model_version.feature_columns)
    declared = list(model_version.model_feature_names or [])
    return declared if declared and all(c in columns for c in declared) else []


LIKELY_TARGETS = ("target", "label", "y", "class", "outcome")


def validation_column_defaults(*, dataset, model_version) -> dict:
    """What the start form preselects for a test dataset: its target column (or a column named
    like one), the model's feature columns when the dataset has them, its sensitive columns; and
    the model's declared features the dataset lacks (shown as a note)."""
    columns = dataset_column_names(dataset) if dataset is not None else []
    if not columns:
        return {"columns": [], "target": "", "features": [], "sensitive": [], "missing_features": []}
    target = dataset.target_column or next((c for c in columns if c.lower() in LIKELY_TARGETS), "")
    declared = list(model_version.feature_columns or model_version.model_feature_names or []) if model_version else []
    return {
        "columns": columns,
        "target": target if target in columns else "",
        "features": model_version_default_features(model_version, columns),
        "sensitive": [c for c in dataset.sensitive_columns or [] if c in columns],
        "missing_features": [c for c in declared if c not in columns],
    }


def _run_columns(*, model_version, test_dataset, feature_columns, target_column, sensitive_columns) -> dict:
    """The target, feature and sensitive columns of a run: the ones picked, or the defaults (the
    dataset's target and sensitive columns, the model's features); each must be a column of the
    test dataset."""
    columns = dataset_column_names(test_dataset)
    target = test_dataset.target_column if target_column is None else str(target_column or "")
    # None or none picked: the model's own (a model scores the columns it was trained on).
    features = list(feature_columns or []) or model_version_default_features(model_version, columns)
    sensitive = list(test_dataset.sensitive_columns or []) if sensitive_columns is None else list(sensitive_columns)
    if not target:
        raise ValidationFailed(
            f"{test_dataset} has no target column, so predictions cannot be compared with the "
            "truth. Pick its target column.",
            code="test_dataset_without_target",
            extra={"field": "target_column"},
        )
    for field, picked in (("target_column", [target]), ("feature_columns", features), ("sensitive_columns", sensitive)):
        unknown = [c for c in picked if columns and c not in columns]
        if unknown:
            code = "missing_feature_columns" if field == "feature_columns" else "unknown_column"
            raise ValidationFailed(
                f"{test_dataset} has no column {', '.join(map(str, unknown[:10]))}; pick from its columns.",
                code=code,
                extra={"field": field, "columns": unknown[:50]},
            )
    if target in features:
        raise ValidationFailed(
            f"The target column {target} cannot also be a feature column.",
            code="target_is_feature",
            extra={"field": "feature_columns"},
        )
    return {"target": target, "features": features, "sensitive": sensitive}


def _input_hashes(model_version, train_dataset, test_dataset) -> dict:
    return {
        "model_sha256": model_version.artifact.sha256 if model_version else None,
        "test_dataset_sha256": test_dataset.artifact.sha256,
        "train_dataset_sha256": train_dataset.artifact.sha256 if train_dataset else None,
    }


def validation_start(
    *,
    actor,
    test_dataset,
    model_version=None,
    system=None,
    train_dataset=None,
    suite: str | None = None,
    policy_overrides: dict | None = None,
    seed: int = 0,
    task: str | None = None,
    feature_columns: list[str] | None = None,
    target_column: str | None = None,
    sensitive_columns: list[str] | None = None,
) -> ValidationRun:
    """Create a queued run and hand it to a worker once the transaction commits. Columns left as
    None take their defaults (see `_run_columns`)."""
    from audits.checks.policy import POLICY_VERSION

    _require(actor, "validation.start")
    task = model_version.task if model_version is not None else (task or "binary")
    system = _check_inputs(
        actor=actor,
        model_version=model_version,
        system=system,
        train_dataset=train_dataset,
        test_dataset=test_dataset,
        task=task,
    )
    columns = _run_columns(
        model_version=model_version,
        test_dataset=test_dataset,
        feature_columns=feature_columns,
        target_column=target_column,
        sensitive_columns=sensitive_columns,
    )
    suite = suite or default_suite_for(system)
    if suite not in Suite.values:
        raise ValidationFailed(
            f"Suite must be one of {', '.join(Suite.values)}.", code="invalid_suite", extra={"field": "suite"}
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ValidationFailed(
            "The seed is a whole number from 0 to 2147483647.", code="invalid_seed", extra={"field": "seed"}
        )
    policy = validation_policy_resolve(organisation_id=actor.organisation_id, overrides=policy_overrides)
    with transaction.atomic():
        run = ValidationRun.objects.create(
            organisation_id=actor.organisation_id,
            system=system,
            model_version=model_version,
            train_dataset=train_dataset,
            test_dataset=test_dataset,
            task=task,
            suite=suite,
            policy_overrides=policy_overrides or {},
            policy=policy,
            policy_version=POLICY_VERSION,
            seed=seed,
            time_limit_s=settings.VALIDATION_TIME_LIMIT_S,
            memory_limit_mb=settings.VALIDATION_MEMORY_LIMIT_MB,
            stale_after_s=settings.VALIDATION_STALE_AFTER_S,
            next_publish_at=timezone.now() + timedelta(seconds=PUBLISH_GRACE_S),
            requested_by=actor,
            reproducibility={"inputs": _input_hashes(model_version, train_dataset, test_dataset), "columns": columns},
        )
        audit_record(
            verb="validation.started",
            target=run,
            actor=actor,
            after={
                "system": system.name,
                "model_version": model_version.version_label if model_version else None,
                "test_dataset": str(test_dataset),
                "train_dataset": str(train_dataset) if train_dataset else None,
                "suite": suite,
                "policy_overrides": policy_overrides or {},
                "policy_version": POLICY_VERSION,
                "seed": seed,
                "columns": columns,
                **run.reproducibility["inputs"],
            },
        )
        run_id = run.pk
        # Enqueued only once the run is committed, so the worker always finds its row. A broker
        # that is down does not fail the request: the run stays in the outbox (published_at empty).
        transaction.on_commit(lambda: _enqueue(run_id))
    return run


def _enqueue(run_id: int) -> None:
    validation_publish(run_id=run_id)


# --- the outbox --------------------------------------------------------------------------------


def _send(run_id: int, **options) -> None:
    from core.enqueue import PUBLISH_RETRY_POLICY, task_enqueue

    # By name (audits/validation/tasks.py): the task imports this module, not the other way round.
    task_enqueue(
        "audits.validation_run_execute", args=(run_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY, **options
    )


def validation_publish(*, run_id: int) -> bool:
    """Hand an active run to the broker; True when the broker accepted its message.

    Never raises: the run is committed whatever the broker does. A failure (broker down, refused
    connection, timeout) is logged and recorded on the row (publish_attempts, publish_error, and
    next_publish_at with a growing delay), and `validation_publish_pending` sends the run later.
    A message sent twice is harmless: the claim lets one delivery run it."""
    try:
        _send(run_id)
    except Exception as exc:  # noqa: BLE001 — the outbox boundary: recorded on the row, retried later
        _publish_failed(run_id, exc)
        return False
    try:
        ValidationRun.objects.filter(pk=run_id).update(
            published_at=timezone.now(), publish_error="", next_publish_at=None
        )
    except Exception:  # noqa: BLE001 — sent, but not recorded: the sweep sends it again (harmless)
        logger.exception("validation run %s was published but the outbox row could not be updated", run_id)
    return True


def _publish_failed(run_id: int, exc: Exception) -> None:
    logger.warning(
        "validation run %s could not be handed to the broker (the outbox retries it): %s: %s",
        run_id,
        type(exc).__name__,
        exc,
    )
    try:
        attempts = (ValidationRun.objects.filter(pk=run_id).values_list("publish_attempts", flat=True).first() or 0) + 1
        delay = min(PUBLISH_BACKOFF_MAX_S, 10 * 2 ** min(attempts - 1, 10))
        ValidationRun.objects.filter(pk=run_id, published_at__isnull=True).update(
            publish_attempts=attempts,
            publish_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_publish_at=timezone.now() + timedelta(seconds=delay),
        )
    except Exception:  # noqa: BLE001 — the database is gone too; next_publish_at as it was lets the sweep retry
        logger.exception("validation run %s: the failed publish could not be recorded", run_id)


def validation_publish_pending(*, now=None, limit: int = 200) -> list[int]:
    """Periodic (beat): send the active runs whose message the broker never accepted (it was down
    when they were started, or when the reaper handed them back), oldest first; returns the ids sent.

    Each run is claimed before it is sent, by a conditional UPDATE that moves its next_publish_at
    (a lease), so two sweeps running at once never send one run twice. Stops at the first failure:
    the broker is down again, and each run keeps its own time for the next try."""
    now = now or timezone.now()
    due = (
        ValidationRun.objects.filter(status__in=ACTIVE_STATUSES, published_at__isnull=True)
        .filter(Q(next_publish_at__isnull=True) | Q(next_publish_at__lte=now))
        .order_by("created_at", "pk")
        .values_list("pk", "next_publish_at")[:limit]
    )
    sent = []
    for run_id, seen in list(due):
        claimed = ValidationRun.objects.filter(pk=run_id, published_at__isnull=True, next_publish_at=seen).update(
            next_publish_at=now + timedelta(seconds=PUBLISH_LEASE_S)
        )
        if not claimed:  # another sweep took it, or it was sent meanwhile
            continue
        if not validation_publish(run_id=run_id):
            break
        sent.append(run_id)
    return sent


def validation_cancel(*, actor, run: ValidationRun, reason: str = "") -> ValidationRun:
    """A queued run is cancelled at once; a running one is asked to stop after its current check."""
    _require(actor, "validation.start")
    _own(actor, run, "validation run")
    with transaction.atomic():
        # The row lock orders this against the worker's finish: exactly one of them ends the run.
        locked = ValidationRun.objects.select_for_update().get(pk=run.pk)
        if not locked.is_active:
            raise Conflict(
                f"This validation already {locked.get_status_display().lower()}; there is nothing to cancel.",
                code="run_finished",
            )
        if locked.cancel_requested:
            return locked
        locked.cancel_requested = True
        if locked.status == RunStatus.QUEUED:
            _move(locked, RunStatus.CANCELLED)
            locked.finished_at = timezone.now()
            verb = "validation.cancelled"
        else:
            verb = "validation.cancel_requested"
        locked.save()
        audit_record(
            verb=verb,
            target=locked,
            actor=actor,
            reason=reason,
            before={"status": run.status},
            after={"status": locked.status, "cancel_requested": True},
        )
    return locked


def _move(run: ValidationRun, new: str) -> None:
    if not can_move(run.status, new):
        raise Conflict(f"A {run.status} validation cannot become {new}.", code="invalid_transition")
    run.status = new


# --- the worker's side -------------------------------------------------------------------------


def _task_actor(run: ValidationRun):
    """The worker acts for whoever enqueued the run (restored audit context), else its requester."""
    return None if audit_context.current().actor_id else run.requested_by


def _claimed(run_id: int) -> ValidationRun:
    return ValidationRun.objects.select_related(
        "model_version__artifact", "test_dataset__artifact", "train_dataset__artifact", "system"
    ).get(pk=run_id)


def _silent_for(heartbeat_at, now) -> float | None:
    return (now - heartbeat_at).total_seconds() if heartbeat_at is not None else None


def validation_claim(*, run_id: int, token: str, resume: bool = False, worker: str = "") -> ValidationRun | None:
    """Give the run to the delivery holding `token`, or return None: the caller just exits.

    A queued run is claimed (its first attempt). A running run whose heartbeat is older than its
    `stale_after_s` lost its worker (killed, out of memory, machine gone): it is taken over with the
    new token and started again as the next attempt, or ended when VALIDATION_MAX_ATTEMPTS starts
    are used up (cancelled instead, if a cancel was asked for). Every write of a worker is
    conditional on its token, so the old worker, if it was only slow, can no longer change the run.
    With `resume`, the retry of a delivery that already holds the run (same token) continues it.
    None when the run is gone, finished, or held by a worker that is alive."""
    now = timezone.now()
    if resume:
        claimed = ValidationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, claim_token=token).update(
            heartbeat_at=now, stage="retrying"
        )
        return _claimed(run_id) if claimed else None
    seen = (
        ValidationRun.objects.filter(pk=run_id)
        .values("status", "claim_token", "heartbeat_at", "attempts", "stale_after_s", "cancel_requested", "attempt_log")
        .first()
    )
    if seen is None:
        return None
    if seen["status"] == RunStatus.QUEUED:
        return _claim_queued(run_id, seen=seen, token=token, worker=worker, now=now)
    silent = _silent_for(seen["heartbeat_at"], now)
    if seen["status"] == RunStatus.RUNNING and silent is not None and silent > seen["stale_after_s"]:
        return _take_over(run_id, seen=seen, token=token, worker=worker, now=now)
    return None


def _attempt_entry(number: int, worker: str, now, **more) -> dict:
    return {"attempt": number, "worker": worker, "started_at": now.isoformat(), **more}


def _claim_queued(run_id: int, *, seen: dict, token: str, worker: str, now) -> ValidationRun | None:
    attempt = seen["attempts"] + 1
    with transaction.atomic():
        # The claim: only one delivery moves the run out of the queue; the others match no row.
        # One UPDATE, attempt log included: a second write of the row in this transaction would
        # make PostgreSQL check its foreign keys at commit (FOR KEY SHARE on the system, version
        # and datasets), while this transaction holds the organisation's audit chain -- a deadlock
        # with any transaction that locks the system FOR UPDATE and then writes to the trail.
        claimed = ValidationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED, attempts=seen["attempts"]).update(
            status=RunStatus.RUNNING,
            claim_token=token,
            started_at=now,
            heartbeat_at=now,
            stage="starting",
            attempts=attempt,
            attempt_log=[*seen["attempt_log"], _attempt_entry(attempt, worker, now)],
        )
        if not claimed:
            return None
        run = ValidationRun.objects.get(pk=run_id)  # its row stays locked by the UPDATE until commit
        audit_record(
            verb="validation.attempt_started",
            target=run,
            actor=_task_actor(run),
            before={"status": RunStatus.QUEUED},
            after={
                "status": RunStatus.RUNNING,
                "attempt": run.attempts,
                "max_attempts": settings.VALIDATION_MAX_ATTEMPTS,
                "worker": worker,
            },
        )
    return _claimed(run_id)


def _take_over(run_id: int, *, seen: dict, token: str, worker: str, now) -> ValidationRun | None:
    silent = _silent_for(seen["heartbeat_at"], now)
    lost = (
        f"the worker of attempt {seen['attempts']} sent no heartbeat for {silent:.0f} s (more than "
        f"{seen['stale_after_s']} s; last at {seen['heartbeat_at'].isoformat()}), so it is presumed dead"
    )
    # Fenced on what was read: the takeover happens only if the holder did not beat meanwhile,
    # and only one of two deliveries arriving at once gets it.
    fence = ValidationRun.objects.filter(
        pk=run_id, status=RunStatus.RUNNING, claim_token=seen["claim_token"], heartbeat_at=seen["heartbeat_at"]
    )
    if seen["cancel_requested"] or seen["attempts"] >= settings.VALIDATION_MAX_ATTEMPTS:
        _end_abandoned(fence, run_id, seen=seen, lost=lost)
        return None
    attempt = seen["attempts"] + 1
    with transaction.atomic():
        # One UPDATE, attempt log included (see _claim_queued); the fence keeps the log as it was read.
        claimed = fence.filter(attempts=seen["attempts"]).update(
            claim_token=token,
            attempts=attempt,
            attempt_log=[*seen["attempt_log"], _attempt_entry(attempt, worker, now, took_over_because=lost)],
            heartbeat_at=now,
            stage="starting",
            progress_percent=0,
            checks_done=0,
            current_check="",
        )
        if not claimed:
            return None
        run = ValidationRun.objects.get(pk=run_id)
        reason = f"Taken over: {lost}; attempt {run.attempts} of {settings.VALIDATION_MAX_ATTEMPTS} starts."
        audit_record(
            verb="validation.taken_over",
            target=run,
            actor=_task_actor(run),
            reason=reason,
            before={
                "status": RunStatus.RUNNING,
                "attempt": seen["attempts"],
                "heartbeat_at": seen["heartbeat_at"].isoformat(),
            },
            after={
                "status": RunStatus.RUNNING,
                "attempt": run.attempts,
                "max_attempts": settings.VALIDATION_MAX_ATTEMPTS,
                "worker": worker,
            },
        )
    return _claimed(run_id)


def _end_abandoned(fence, run_id: int, *, seen: dict, lost: str, by_reaper: bool = False) -> bool:
    """End a run whose worker is gone and which is not started again: cancelled if someone asked
    for that, else failed because its attempts are used up. True if this call ended it."""
    attempts, now = seen["attempts"], timezone.now()
    if seen["cancel_requested"]:
        status, message = RunStatus.CANCELLED, ""
    else:
        status = RunStatus.FAILED
        times = (
            ""
            if attempts <= 1
            else (
                f" It was started {attempts} times, the most VALIDATION_MAX_ATTEMPTS "
                "allows, so it is not started again."
            )
        )
        message = (
            f"The validation stopped: the worker running it sent no sign of life for "
            f"{_minutes(seen['stale_after_s'])} (it may have crashed or been restarted).{times} Start it again."
        )
    with transaction.atomic():
        # The fence is a conditional UPDATE: it matches only if nobody beat, took over or ended the
        # run since it was read, and it takes the row's lock for the rest of this transaction.
        if not fence.update(claim_token=""):
            return False
        run = ValidationRun.objects.get(pk=run_id)
        _move(run, status)
        run.finished_at, run.stage = now, ""
        run.error_message, run.error_detail = message, f"{lost}; attempts: {attempts}; ended at {now.isoformat()}"
        run.save()
        after = {"status": status, **({"reaped": True} if by_reaper else {}), "attempts": attempts, "worker_lost": True}
        audit_record(
            verb=FINISH_VERBS[status],
            target=run,
            actor=None if by_reaper else _task_actor(run),
            reason=message or lost,
            before={"status": RunStatus.RUNNING},
            after=after,
        )
    return True


def validation_recheck_schedule(*, run_id: int) -> float | None:
    """A delivery found the run held by a worker whose heartbeat is still fresh. That worker may
    have died a moment ago (a killed pool process's message comes back at once): send one more
    message for when its heartbeat will be stale, so the run is taken over then rather than when
    the reaper next looks. Returns the delay in seconds, or None when there is nothing to wait for."""
    seen = (
        ValidationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING)
        .values("heartbeat_at", "stale_after_s")
        .first()
    )
    if seen is None or seen["heartbeat_at"] is None:
        return None
    silent = _silent_for(seen["heartbeat_at"], timezone.now())
    delay = round(max(1.0, seen["stale_after_s"] - silent + 1.0), 1)
    try:
        _send(run_id, kwargs={"recheck": True}, countdown=delay)
    except Exception as exc:  # noqa: BLE001 — the reaper hands the run back if its worker is gone
        logger.warning("validation run %s: the takeover re-check could not be sent: %s", run_id, exc)
        return None
    return delay


class RunRecorder:
    """Receives the engine's events for one run and writes them to the database: results and
    findings at once (with the progress that goes with them), other progress at most twice a second
    (always the latest), and a heartbeat every few seconds.

    Every write is conditional on this worker's claim token: once the run was taken over (or
    ended behind its back) nothing more is written, and `stop` asks the engine to stop."""

    def __init__(self, run: ValidationRun, token: str):
        self.run = run
        self.token = token
        self.last_progress = 0.0
        self.last_beat = 0.0
        self.pending: dict | None = None
        self.stop = False

    def on_event(self, event: dict) -> None:
        if self.stop:
            return
        kind = event.get("type")
        if kind == "result":
            if validation_record_result(run=self.run, token=self.token, result=event["result"]) is None:
                self.stop = True
                return
            # Results are written at once, so write the progress that goes with them too: otherwise
            # the result counts on the run page run ahead of its progress bar.
            self._flush_progress(force=True)
        elif kind == "progress":
            done, total = int(event.get("done", 0)), int(event.get("total", 0))
            self.pending = {
                "checks_done": done,
                "checks_total": total,
                "current_check": str(event.get("current", ""))[:200],
                "progress_percent": min(100, int(100 * done / total)) if total else 0,
            }
            self._flush_progress(force=done >= total)
        elif kind == "stage":
            self._update(stage=str(event.get("stage", ""))[:60])
            version_id = self.run.model_version_id
            if event.get("model_features") and version_id is not None and not self.stop:
                self._record_model_features(version_id, event["model_features"])

    def _record_model_features(self, version_id: int, names) -> None:
        """The child read `feature_names_in_` off the loaded model (pickle and joblib files have no
        static form of them): kept on the version, checked there, never trusted as they come."""
        from models_registry.services import model_version_feature_names_record

        model_version_feature_names_record(version_id=version_id, names=names)

    def _flush_progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.pending is not None and (force or now - self.last_progress >= PROGRESS_EVERY_S):
            self.last_progress = now
            self._update(**self.pending)
            self.pending = None

    def cancel_requested(self) -> bool:
        """Polled by the engine several times a second; writes throttled progress and doubles as
        the heartbeat."""
        self._flush_progress()
        now = time.monotonic()
        if not self.stop and now - self.last_beat >= HEARTBEAT_EVERY_S:
            self.last_beat = now
            self._update()
            row = ValidationRun.objects.filter(pk=self.run.pk).values("cancel_requested").first()
            self.stop = self.stop or row is None or row["cancel_requested"]
        return self.stop

    def _update(self, **fields) -> None:
        if self.stop:
            return
        written = ValidationRun.objects.filter(pk=self.run.pk, status=RunStatus.RUNNING, claim_token=self.token).update(
            heartbeat_at=timezone.now(), **fields
        )
        if not written:  # taken over by another worker, or ended (reaped, cancelled): stop working for nothing
            self.stop = True


def _num(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _is_certification_rerun(run: ValidationRun) -> bool:
    """A re-run of a submission's frozen inputs checks that the results are reproduced; its
    warnings and failures are compared with the original run's, whose findings the reviewers
    decide, instead of becoming a second, undecidable copy of each finding. Asked once per run
    object (its results arrive one by one), not once per result."""
    if not hasattr(run, "_certification_rerun"):
        run._certification_rerun = ValidationRun.objects.filter(pk=run.pk, rerun_of__isnull=False).exists()  # type: ignore[attr-defined]  # a memo attribute on the instance
    return run._certification_rerun  # type: ignore[attr-defined]  # a memo attribute on the instance


def validation_record_result(*, run: ValidationRun, token: str, result: dict) -> CheckResultRecord | None:
    """Upsert one check result, and its finding for a warn or fail (not for a certification
    re-run). Keyed by (run, check_id), so writing the same result twice leaves one row. None, and
    nothing written, when `token` no longer holds the run (it was taken over or ended)."""
    with transaction.atomic():
        # The fence: this conditional UPDATE matches only while the token holds the run, and takes
        # the row's lock, so a takeover waits for this result or this result sees the takeover.
        if not ValidationRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, claim_token=token).update(
            heartbeat_at=timezone.now()
        ):
            return None
        record, _ = CheckResultRecord.objects.update_or_create(
            run=run,
            check_id=result["check_id"],
            defaults={
                "family": result.get("family", ""),
                "name": result.get("name", "")[:200],
                "status": result["status"],
                "severity": result.get("severity", "info"),
                "value": _num(result.get("value")),
                "threshold": result.get("threshold"),
                "ci": result.get("ci"),
                "summary": result.get("summary", ""),
                "details": result.get("details") or {},
                "charts": result.get("charts") or [],
                "finding": result.get("finding"),
                "error": result.get("error") or "",
                "duration_s": _num(result.get("duration_s")) or 0.0,
            },
        )
        finding = result.get("finding")
        if result["status"] in ("warn", "fail") and finding and not _is_certification_rerun(run):
            Finding.objects.update_or_create(
                run=run,
                check_id=result["check_id"],
                defaults={
                    "organisation_id": run.organisation_id,
                    "model_version_id": run.model_version_id,
                    "system_id": run.system_id,
                    "category": result.get("family", ""),
                    "check_status": result["status"],
                    "severity": result.get("severity", "medium"),
                    "title": str(finding.get("title", ""))[:300],
                    "description": finding.get("description") or "",
                    "affected": finding.get("affected"),
                    "evidence": finding.get("evidence"),
                    "recommendation": finding.get("recommendation") or "",
                    "eu_ai_act_article": str(finding.get("eu_ai_act_article") or "")[:40],
                },
            )
    return record


@contextlib.contextmanager
def _local_inputs(run: ValidationRun) -> Iterator[Any]:
    """The run's RunSpec, with local paths to its files for as long as the block runs."""
    from audits.engine import DataSpec, ModelSpec, RunSpec
    from models_registry import storage

    def copy(artifact, suffix):
        try:
            if not storage.exists(artifact.storage_key):
                raise FileNotFoundError(artifact.storage_key)
            return stack.enter_context(storage.local_copy(artifact.storage_key, suffix))
        except FileNotFoundError:
            raise ValidationFailed(
                f"The stored file {artifact.original_name} ({artifact.sha256[:12]}) is missing from artifact storage.",
                code="artifact_missing",
            ) from None
        except (OSError, ConnectionError, TimeoutError) as exc:
            raise StorageUnavailable(f"Artifact storage could not be read: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith(("botocore", "boto3", "urllib3")):
                raise StorageUnavailable(f"Artifact storage could not be read: {exc}") from exc
            raise

    def data(dataset):
        path = copy(dataset.artifact, "." + (dataset.file_format or "csv"))
        return DataSpec(path=str(path), read_options=dataset.read_options, sha256=dataset.artifact.sha256)

    with contextlib.ExitStack() as stack:
        version, test = run.model_version, run.test_dataset
        model = None
        if version is not None:
            model = ModelSpec(
                path=str(copy(version.artifact, "." + version.artifact.detected_format)),
                format=version.artifact.detected_format,
                inner_artifact=(version.scan_report or {}).get("inner_artifact"),
                sha256=version.artifact.sha256,
            )
        # The columns picked at start (older runs: the dataset's and the model card's).
        picked = (run.reproducibility or {}).get("columns") or {
            "target": test.target_column,
            "features": list(version.feature_columns) if version is not None and version.feature_columns else [],
            "sensitive": list(test.sensitive_columns or []),
        }
        yield RunSpec(
            task=run.task,
            target=picked["target"],
            test=data(test),
            suite=run.suite,
            model=model,
            train=data(run.train_dataset) if run.train_dataset_id else None,
            features=list(picked["features"]) or None,
            sensitive=list(picked["sensitive"]),
            prediction_column=test.prediction_column or None,
            score_column=test.score_column or None,
            policy_overrides=run.policy_overrides or {},
            seed=run.seed,
            time_limit_s=run.time_limit_s,
            memory_limit_mb=run.memory_limit_mb,
        )


def validation_execute(*, run: ValidationRun, token: str):
    """Run the engine for a run `token` holds, streaming its events into the database."""
    from audits.engine import execute_in_child

    recorder = RunRecorder(run, token)
    with _local_inputs(run) as spec:
        return execute_in_child(spec, on_event=recorder.on_event, cancel_requested=recorder.cancel_requested)


FINISH_VERBS = {
    RunStatus.SUCCEEDED: "validation.finished",
    RunStatus.FAILED: "validation.failed",
    RunStatus.CANCELLED: "validation.cancelled",
}


def validation_finish(
    *,
    run_id: int,
    token: str,
    status: str,
    error_message: str = "",
    error_detail: str = "",
    reproducibility: dict | None = None,
    peak_memory_mb: float | None = None,
    duration_s: float | None = None,
) -> ValidationRun | None:
    """End a running run held by `token` and record how it ended. None if it was already ended
    (reaped, or finished by an earlier delivery)."""
    with transaction.atomic():
        # Locked so a cancel request or the reaper cannot end the run at the same moment.
        run = ValidationRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != RunStatus.RUNNING or run.claim_token != token:
            return None
        _move(run, status)
        run.finished_at = timezone.now()
        run.error_message, run.error_detail = error_message[:5000], error_detail[-20000:]
        run.reproducibility = {
            **(reproducibility or {}),
            "inputs": run.reproducibility.get("inputs", {}),
            **({"columns": run.reproducibility["columns"]} if "columns" in run.reproducibility else {}),
        }
        run.peak_memory_mb, run.duration_s = peak_memory_mb, duration_s
        run.stage = ""
        if status == RunStatus.SUCCEEDED:
            run.progress_percent, run.current_check = 100, ""
        run.save()
        audit_record(
            verb=FINISH_VERBS[status],  # type: ignore[index]  # TextChoices members and their str values are one key
            target=run,
            actor=_task_actor(run),
            reason=error_message,
            before={"status": RunStatus.RUNNING},
            after={"status": status, **_outcome_summary(run)},
        )
    if status == RunStatus.SUCCEEDED:
        # After the finish commits: a run finishing at the same moment is then visible as
        # succeeded to one of the two supersessions, whichever takes the system's lock second.
        validation_findings_supersede(run=run)
    return run


def _same_target(run: ValidationRun) -> Q:
    """Runs that a newer run of `run`'s version and suite replaces (predictions-only runs: of the same test set)."""
    same = Q(system_id=run.system_id, model_version_id=run.model_version_id, suite=run.suite)
    return same & Q(test_dataset_id=run.test_dataset_id) if run.model_version_id is None else same


def supersession_lock(*, system_id: int) -> None:
    """One supersession per system at a time (until the caller's transaction ends), so two runs
    finishing together agree on the newest.

    FOR NO KEY UPDATE: it excludes another supersession, but not the foreign-key checks (FOR KEY
    SHARE) that the claim of another run of the same system makes when it commits. FOR UPDATE
    blocked them, and the claim, holding the organisation's audit chain, deadlocked with the
    supersession waiting for that chain: a run lost with two workers (issue #15, bench/workers.py)."""
    from models_registry.models import AISystem

    AISystem.objects.select_for_update(no_key=True).filter(pk=system_id).first()


def validation_findings_supersede(*, run: ValidationRun, actor: Any = None, occasion: str = "") -> list[Finding]:
    """Close as superseded the undecided findings of the other succeeded runs of the same version
    and suite, linked to the one that finished last, one audit event per finding; returns them.

    Decided findings stay as they are, and so do the findings of a run a submission refers to
    (unless it was rejected): the review of a submission decides its run's findings, a newer run
    does not. Certification re-runs neither supersede nor are superseded (they have no findings).

    Called when a run succeeds (acting for whoever started it) and when a review ends
    (`audits.certification.services.submission_sign`: `actor` is the signer, `occasion` says why
    now, "The review of SUB-3 ended (rejected)."): the findings the review kept open are closed then."""
    from audits.certification.choices import SubmissionStatus
    from audits.models import Submission

    with transaction.atomic():
        supersession_lock(system_id=run.system_id)
        runs = ValidationRun.objects.filter(_same_target(run), status=RunStatus.SUCCEEDED, rerun_of__isnull=True)
        # The current run is the one that finished last: the run a submission takes by default
        # (audits.certification.services.eligible_runs orders the same way).
        newest = runs.order_by("-finished_at", "-pk").first()
        if newest is None:
            return []
        older = runs.exclude(pk=newest.pk)
        reviewed = Submission.objects.exclude(status=SubmissionStatus.REJECTED).values("validation_run_id")
        findings = list(
            Finding.objects.select_for_update()
            .filter(run__in=older.exclude(pk__in=reviewed), status=FindingStatus.OPEN)
            .order_by("run_id", "check_id")
        )
        now = timezone.now()
        for finding in findings:
            finding.status, finding.superseded_by, finding.superseded_at = FindingStatus.SUPERSEDED, newest, now
            finding.save(update_fields=["status", "superseded_by", "superseded_at", "updated_at"])
            audit_record(
                verb="finding.superseded",
                target=finding,
                actor=actor if actor is not None else _task_actor(newest),
                before={"status": FindingStatus.OPEN, "run": finding.run_id},
                after={"status": FindingStatus.SUPERSEDED, "superseded_by_run": newest.pk},
                reason=(f"{occasion} " if occasion else "")
                + f"Validation #{newest.pk} of the same version and suite supersedes validation #{finding.run_id}.",
            )
    return findings


def _outcome_summary(run: ValidationRun) -> dict:
    from django.db.models import Count

    statuses = dict(run.results.values_list("status").annotate(n=Count("id")))
    severities = dict(run.findings.values_list("severity").annotate(n=Count("id")))
    return {
        "checks": statuses,
        "findings": severities,
        "duration_s": run.duration_s,
        "peak_memory_mb": run.peak_memory_mb,
        "policy_version": run.policy_version,
    }


def validation_fail(*, run_id: int, token: str, message: str, detail: str = "") -> ValidationRun | None:
    return validation_finish(
        run_id=run_id, token=token, status=RunStatus.FAILED, error_message=message, error_detail=detail
    )


def validation_reap_stale(*, now=None) -> list[int]:
    """Act on runs nobody is working on; returns the ids of the runs it ended.

    A running run whose worker stopped sending heartbeats (for its `stale_after_s`, the same limit
    the takeover uses) is handed back to the broker while it has attempts left, so a worker takes
    it over without waiting for Redis to re-deliver the dead worker's message; it is failed when
    its attempts are used up, or when no worker took it over within VALIDATION_QUEUED_TIMEOUT_S.
    A queued run no worker picked up in time (or that the broker never accepted) is failed."""
    now = now or timezone.now()
    return _reap_silent_running(now) + _reap_never_picked_up(now)


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _reap_silent_running(now) -> list[int]:
    ended = []
    running = ValidationRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__isnull=False).values(
        "pk", "claim_token", "heartbeat_at", "attempts", "stale_after_s", "cancel_requested", "published_at"
    )
    for seen in list(running):
        silent = _silent_for(seen["heartbeat_at"], now)
        if silent <= seen["stale_after_s"]:
            continue
        fence = ValidationRun.objects.filter(
            pk=seen["pk"], status=RunStatus.RUNNING, claim_token=seen["claim_token"], heartbeat_at=seen["heartbeat_at"]
        )
        lost = (
            f"no heartbeat for {silent:.0f} s (last at {seen['heartbeat_at'].isoformat()}); "
            f"seen by the reaper at {now.isoformat()}"
        )
        if seen["cancel_requested"] or seen["attempts"] >= settings.VALIDATION_MAX_ATTEMPTS:
            if _end_abandoned(fence, seen["pk"], seen=seen, lost=lost, by_reaper=True):
                ended.append(seen["pk"])
        elif silent > seen["stale_after_s"] + settings.VALIDATION_QUEUED_TIMEOUT_S:
            if _end_not_taken_over(fence, seen["pk"], silent=silent, lost=lost, now=now):  # type: ignore[arg-type]  # set on this path (checked by the caller / validated above)
                ended.append(seen["pk"])
        else:
            _hand_back(fence, seen)
    return ended


def _hand_back(fence, seen: dict) -> None:
    """Send the run's message again, once per lost worker: only if its last message went out before
    the dead worker's last heartbeat (that worker had it; the slack covers a worker that claimed the
    run before the web process recorded the publish). The delivery then takes the run over."""
    if seen["published_at"] is None or seen["published_at"] > seen["heartbeat_at"] + HAND_BACK_SLACK:
        return  # already handed back (or in the outbox): the takeover is on its way
    if fence.filter(published_at=seen["published_at"]).update(published_at=None, next_publish_at=None):
        logger.warning(
            "validation run %s: its worker went silent; handed back to the broker for a takeover", seen["pk"]
        )
        validation_publish(run_id=seen["pk"])


def _end_not_taken_over(fence, run_id: int, *, silent: float, lost: str, now) -> bool:
    message = (
        f"The validation stopped: its worker sent no sign of life for {_minutes(int(silent))} and no other "
        "worker took it over; is a worker running? Ask an administrator to start one, then start the "
        "validation again."
    )
    with transaction.atomic():
        if not fence.update(claim_token=""):
            return False
        run = ValidationRun.objects.get(pk=run_id)
        _move(run, RunStatus.FAILED)
        run.finished_at, run.stage, run.error_message, run.error_detail = now, "", message, lost
        run.save()
        audit_record(
            verb="validation.failed",
            target=run,
            actor=None,
            reason=message,
            before={"status": RunStatus.RUNNING},
            after={"status": RunStatus.FAILED, "reaped": True, "attempts": run.attempts, "worker_lost": True},
        )
    return True


def _reap_never_picked_up(now) -> list[int]:
    timeout = settings.VALIDATION_QUEUED_TIMEOUT_S
    cutoff = now - timedelta(seconds=timeout)
    # Counted from its last hand-over to the broker, or from its start if the broker never took it.
    overdue = Q(status=RunStatus.QUEUED) & (
        Q(published_at__isnull=True, created_at__lt=cutoff) | Q(published_at__lt=cutoff)
    )

    def message(run) -> str:
        if run.published_at is None and run.publish_error:
            return (
                f"The portal could not hand this run to a worker within {_minutes(timeout)}: the job broker "
                "was unreachable. Ask an administrator to check the broker (Redis), then start the "
                "validation again."
            )
        return (
            f"No worker picked this run up within {_minutes(timeout)}; is a worker running? Ask an "
            "administrator to start one, then start the validation again."
        )

    def detail(run) -> str:
        sent = (
            f"handed to the broker at {run.published_at.isoformat()}"
            if run.published_at
            else f"never accepted by the broker ({run.publish_attempts} attempts; last error: {run.publish_error})"
            if run.publish_error
            else ""
        )
        return "; ".join(
            part for part in (f"queued at {run.created_at.isoformat()}", sent, f"reaped at {now.isoformat()}") if part
        )

    return _reap(now, overdue, message, after={"never_started": True}, detail=detail)


def _reap(now, conditions: Q, message, *, after: dict, detail) -> list[int]:
    """Fail every run matching `conditions`, one row lock at a time, re-checking each under its
    lock: a worker may claim, heartbeat or finish it between the scan and the lock."""
    reaped = []
    for run_id in list(ValidationRun.objects.filter(conditions).values_list("pk", flat=True)):
        with transaction.atomic():
            run = ValidationRun.objects.select_for_update().filter(conditions, pk=run_id).first()
            if run is None:  # it came back to life, was claimed or finished since the scan
                continue
            before, reason = run.status, message(run)
            _move(run, RunStatus.FAILED)
            run.finished_at, run.error_message, run.error_detail = now, reason, detail(run)
            run.save()
            audit_record(
                verb="validation.failed",
                target=run,
                actor=None,
                reason=reason,
                before={"status": before},
                after={"status": RunStatus.FAILED, "reaped": True, **after},
            )
            reaped.append(run_id)
    return reaped
