"""Validation runs: starting and cancelling them (web and API), and the worker's side of a run
(claim, heartbeat and progress, results as they stream in, finish, reaping stale runs).

The checks and the model run in a child process (`audits.engine`); this module only moves data
between that process and the database. Heavy libraries (numpy, sklearn, shap) are imported lazily.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audits.choices import RunStatus, Suite, can_move
from audits.models import CheckResultRecord, Finding, ValidationPolicySettings, ValidationRun
from audits.trail import audit_record
from core import context as audit_context
from core.errors import Conflict, NotAllowed, NotFound, PortalError, ValidationFailed
from core.permissions import has_permission

# Which suite a run gets when nobody picks one: the stricter the EU AI Act tier, the more checks.
SUITE_BY_RISK_TIER = {"high": Suite.FULL, "prohibited": Suite.FULL, "limited": Suite.STANDARD,
                      "minimal": Suite.STANDARD, "out_of_scope": Suite.STANDARD, "unclassified": Suite.STANDARD}
TASKS = ("binary", "multiclass", "regression")
HEARTBEAT_EVERY_S = 2.0
PROGRESS_EVERY_S = 0.5  # at most two progress writes per second


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
            raise ValidationFailed(f"Unknown policy key {key!r}.", code="invalid_policy",
                                   extra={"field": "locked_keys"})
    return keys


def validation_policy_settings_update(*, actor, allow_overrides: bool, locked_keys: list[str] | None = None,
                                      reason: str = "", based_on: str | None = None) -> ValidationPolicySettings:
    """Organisation admins decide whether runs may override the policy, and which keys stay locked.
    `based_on` is the fingerprint of the settings the admin saw; a different current one is a Conflict."""
    _require(actor, "org.manage")
    keys = _clean_locked_keys(locked_keys)
    with transaction.atomic():
        # Locked so two admins saving at once cannot interleave their before/after snapshots.
        row, _ = ValidationPolicySettings.objects.select_for_update().get_or_create(
            organisation_id=actor.organisation_id)
        before = {"allow_overrides": row.allow_overrides, "locked_keys": row.locked_keys}
        if based_on is not None and based_on != validation_policy_settings_fingerprint(settings_row=row):
            raise Conflict("Someone changed these settings while you were editing them. The page now shows "
                           "the current settings; check them and save again.", code="policy_settings_changed",
                           extra={"current": before})
        row.allow_overrides, row.locked_keys = bool(allow_overrides), keys
        row.save()
        audit_record(verb="validation_policy.updated", target=row, actor=actor, reason=reason, before=before,
                     after={"allow_overrides": row.allow_overrides, "locked_keys": keys})
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
        raise ValidationFailed("Policy overrides must map policy keys to values.", code="invalid_policy",
                               extra={"field": "policy_overrides"})
    if overrides:
        org_settings = validation_policy_settings_get(organisation_id=organisation_id)
        if not org_settings.allow_overrides:
            raise NotAllowed("Your organisation does not allow policy overrides; the validation runs with "
                             "the standard policy.", code="overrides_not_allowed", extra={"field": "policy_overrides"})
        locked = sorted(set(_flat_keys(overrides)) & set(org_settings.locked_keys or []))
        if locked:
            raise NotAllowed(f"Your organisation has locked these policy keys: {', '.join(locked)}.",
                             code="policy_key_locked", extra={"field": "policy_overrides", "keys": locked})
    try:
        return Policy.from_overrides(overrides).to_dict()
    except PolicyError as exc:
        raise ValidationFailed(str(exc), code="invalid_policy", extra={"field": "policy_overrides"}) from None


# --- start and cancel --------------------------------------------------------------------------

def _check_inputs(*, actor, model_version, system, train_dataset, test_dataset, task):
    """Returns the system of the run; every object must belong to it and to the actor's organisation."""
    if test_dataset is None:
        raise ValidationFailed("Pick the test dataset to validate on.", code="test_dataset_required",
                               extra={"field": "test_dataset"})
    for obj, label in ((model_version, "model version"), (system, "AI system"),
                       (train_dataset, "dataset"), (test_dataset, "dataset")):
        _own(actor, obj, label)
    if model_version is not None:
        system_id = model_version.system_id
    else:
        system_id = system.pk if system is not None else test_dataset.system_id
    if system is not None and system.pk != system_id:
        raise ValidationFailed("The model version belongs to another AI system.", code="version_other_system",
                               extra={"field": "model_version"})
    for dataset, field in ((test_dataset, "test_dataset"), (train_dataset, "train_dataset")):
        if dataset is not None and dataset.system_id != system_id:
            raise ValidationFailed(f"{dataset} belongs to another AI system; pick a dataset of this system.",
                                   code="dataset_other_system", extra={"field": field})
    if train_dataset is not None and train_dataset.pk == test_dataset.pk:
        raise ValidationFailed("The training and test datasets are the same dataset.", code="same_dataset",
                               extra={"field": "train_dataset"})
    if not test_dataset.target_column:
        raise ValidationFailed(f"{test_dataset} has no target column, so predictions cannot be compared with the "
                               "truth. Register it again with its target column.", code="test_dataset_without_target",
                               extra={"field": "test_dataset"})
    if model_version is None:
        if not test_dataset.prediction_column:
            raise ValidationFailed("Without a model version the test dataset must hold the predictions "
                                   "(a prediction column).", code="predictions_required",
                                   extra={"field": "model_version"})
        if task not in TASKS:
            raise ValidationFailed(f"Task must be one of {', '.join(TASKS)}.", code="invalid_task",
                                   extra={"field": "task"})
    else:
        _check_model(model_version, test_dataset)
    return model_version.system if model_version is not None else (system or test_dataset.system)


def _check_model(model_version, test_dataset) -> None:
    if model_version.scan_verdict != "safe":
        raise ValidationFailed("This model version was refused by the safety scan and cannot be loaded.",
                               code="model_not_safe", extra={"field": "model_version"})
    columns = {column.get("name") for column in test_dataset.schema or [] if isinstance(column, dict)}
    missing = [c for c in model_version.feature_columns or [] if columns and c not in columns]
    if missing:
        raise ValidationFailed(f"The test dataset lacks feature columns of the model: {', '.join(missing)}.",
                               code="missing_feature_columns", extra={"field": "test_dataset", "columns": missing})


def _input_hashes(model_version, train_dataset, test_dataset) -> dict:
    return {"model_sha256": model_version.artifact.sha256 if model_version else None,
            "test_dataset_sha256": test_dataset.artifact.sha256,
            "train_dataset_sha256": train_dataset.artifact.sha256 if train_dataset else None}


def validation_start(*, actor, test_dataset, model_version=None, system=None, train_dataset=None,
                     suite: str | None = None, policy_overrides: dict | None = None, seed: int = 0,
                     task: str | None = None) -> ValidationRun:
    """Create a queued run and hand it to a worker once the transaction commits."""
    from audits.checks.policy import POLICY_VERSION

    _require(actor, "validation.start")
    task = model_version.task if model_version is not None else (task or "binary")
    system = _check_inputs(actor=actor, model_version=model_version, system=system, train_dataset=train_dataset,
                           test_dataset=test_dataset, task=task)
    suite = suite or default_suite_for(system)
    if suite not in Suite.values:
        raise ValidationFailed(f"Suite must be one of {', '.join(Suite.values)}.", code="invalid_suite",
                               extra={"field": "suite"})
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ValidationFailed("The seed is a whole number from 0 to 2147483647.", code="invalid_seed",
                               extra={"field": "seed"})
    policy = validation_policy_resolve(organisation_id=actor.organisation_id, overrides=policy_overrides)
    with transaction.atomic():
        run = ValidationRun.objects.create(
            organisation_id=actor.organisation_id, system=system, model_version=model_version,
            train_dataset=train_dataset, test_dataset=test_dataset, task=task, suite=suite,
            policy_overrides=policy_overrides or {}, policy=policy, policy_version=POLICY_VERSION, seed=seed,
            time_limit_s=settings.VALIDATION_TIME_LIMIT_S, memory_limit_mb=settings.VALIDATION_MEMORY_LIMIT_MB,
            requested_by=actor, reproducibility={"inputs": _input_hashes(model_version, train_dataset, test_dataset)})
        audit_record(verb="validation.started", target=run, actor=actor, after={
            "system": system.name, "model_version": model_version.version_label if model_version else None,
            "test_dataset": str(test_dataset), "train_dataset": str(train_dataset) if train_dataset else None,
            "suite": suite, "policy_overrides": policy_overrides or {}, "policy_version": POLICY_VERSION,
            "seed": seed, **run.reproducibility["inputs"]})
        run_id = run.pk
        # Enqueued only once the run is committed, so the worker always finds its row.
        transaction.on_commit(lambda: _enqueue(run_id))
    return run


def _enqueue(run_id: int) -> None:
    from audits.tasks import validation_run_execute

    validation_run_execute.delay(run_id)


def validation_cancel(*, actor, run: ValidationRun, reason: str = "") -> ValidationRun:
    """A queued run is cancelled at once; a running one is asked to stop after its current check."""
    _require(actor, "validation.start")
    _own(actor, run, "validation run")
    with transaction.atomic():
        # The row lock orders this against the worker's finish: exactly one of them ends the run.
        locked = ValidationRun.objects.select_for_update().get(pk=run.pk)
        if not locked.is_active:
            raise Conflict(f"This validation already {locked.get_status_display().lower()}; "
                           "there is nothing to cancel.", code="run_finished")
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
        audit_record(verb=verb, target=locked, actor=actor, reason=reason,
                     before={"status": run.status}, after={"status": locked.status, "cancel_requested": True})
    return locked


def _move(run: ValidationRun, new: str) -> None:
    if not can_move(run.status, new):
        raise Conflict(f"A {run.status} validation cannot become {new}.", code="invalid_transition")
    run.status = new


# --- the worker's side -------------------------------------------------------------------------

def validation_claim(*, run_id: int, token: str, resume: bool = False) -> ValidationRun | None:
    """Take a queued run (or resume the run this token already holds, after a retry). None when
    the run is gone, cancelled, finished or held by another delivery: the caller just exits."""
    now = timezone.now()
    runs = ValidationRun.objects.filter(pk=run_id)
    if resume:
        claimed = runs.filter(status=RunStatus.RUNNING, claim_token=token).update(heartbeat_at=now, stage="retrying")
    else:
        claimed = runs.filter(status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, claim_token=token, started_at=now, heartbeat_at=now, stage="starting")
    if not claimed:
        return None
    return ValidationRun.objects.select_related(
        "model_version__artifact", "test_dataset__artifact", "train_dataset__artifact", "system").get(pk=run_id)


class RunRecorder:
    """Receives the engine's events for one run and writes them to the database: results and
    findings at once (with the progress that goes with them), other progress at most twice a second
    (always the latest), and a heartbeat every few seconds."""

    def __init__(self, run: ValidationRun):
        self.run = run
        self.last_progress = 0.0
        self.last_beat = 0.0
        self.pending: dict | None = None
        self.stop = False

    def on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "result":
            validation_record_result(run=self.run, result=event["result"])
            # Results are written at once, so write the progress that goes with them too: otherwise
            # the result counts on the run page run ahead of its progress bar.
            self._flush_progress(force=True)
        elif kind == "progress":
            done, total = int(event.get("done", 0)), int(event.get("total", 0))
            self.pending = {"checks_done": done, "checks_total": total,
                            "current_check": str(event.get("current", ""))[:200],
                            "progress_percent": min(100, int(100 * done / total)) if total else 0}
            self._flush_progress(force=done >= total)
        elif kind == "stage":
            self._update(stage=str(event.get("stage", ""))[:60])

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
        if now - self.last_beat >= HEARTBEAT_EVERY_S:
            self.last_beat = now
            self._update()
            row = ValidationRun.objects.filter(pk=self.run.pk).values("status", "cancel_requested").first()
            # Stop as well when the run was ended behind our back (the reaper gave up on it).
            self.stop = row is None or row["cancel_requested"] or row["status"] != RunStatus.RUNNING
        return self.stop

    def _update(self, **fields) -> None:
        ValidationRun.objects.filter(pk=self.run.pk, status=RunStatus.RUNNING).update(
            heartbeat_at=timezone.now(), **fields)


def _num(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _is_certification_rerun(run: ValidationRun) -> bool:
    """A re-run of a submission's frozen inputs checks that the results are reproduced; its
    warnings and failures are compared with the original run's, whose findings the reviewers
    decide, instead of becoming a second, undecidable copy of each finding. Asked once per run
    object (its results arrive one by one), not once per result."""
    if not hasattr(run, "_certification_rerun"):
        run._certification_rerun = ValidationRun.objects.filter(pk=run.pk, rerun_of__isnull=False).exists()
    return run._certification_rerun


def validation_record_result(*, run: ValidationRun, result: dict) -> CheckResultRecord:
    """Upsert one check result, and its finding for a warn or fail (not for a certification
    re-run). Keyed by (run, check_id), so writing the same result twice leaves one row."""
    with transaction.atomic():
        record, _ = CheckResultRecord.objects.update_or_create(run=run, check_id=result["check_id"], defaults={
            "family": result.get("family", ""), "name": result.get("name", "")[:200], "status": result["status"],
            "severity": result.get("severity", "info"), "value": _num(result.get("value")),
            "threshold": result.get("threshold"), "ci": result.get("ci"), "summary": result.get("summary", ""),
            "details": result.get("details") or {}, "charts": result.get("charts") or [],
            "finding": result.get("finding"), "error": result.get("error") or "",
            "duration_s": _num(result.get("duration_s")) or 0.0})
        finding = result.get("finding")
        if result["status"] in ("warn", "fail") and finding and not _is_certification_rerun(run):
            Finding.objects.update_or_create(run=run, check_id=result["check_id"], defaults={
                "organisation_id": run.organisation_id, "model_version_id": run.model_version_id,
                "system_id": run.system_id, "category": result.get("family", ""), "check_status": result["status"],
                "severity": result.get("severity", "medium"), "title": str(finding.get("title", ""))[:300],
                "description": finding.get("description") or "", "affected": finding.get("affected"),
                "evidence": finding.get("evidence"), "recommendation": finding.get("recommendation") or "",
                "eu_ai_act_article": str(finding.get("eu_ai_act_article") or "")[:40]})
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
            raise ValidationFailed(f"The stored file {artifact.original_name} ({artifact.sha256[:12]}) is missing "
                                   "from artifact storage.", code="artifact_missing") from None
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
            model = ModelSpec(path=str(copy(version.artifact, "." + version.artifact.detected_format)),
                              format=version.artifact.detected_format,
                              inner_artifact=(version.scan_report or {}).get("inner_artifact"),
                              sha256=version.artifact.sha256)
        yield RunSpec(
            task=run.task, target=test.target_column, test=data(test), suite=run.suite, model=model,
            train=data(run.train_dataset) if run.train_dataset_id else None,
            features=list(version.feature_columns) if version is not None and version.feature_columns else None,
            sensitive=list(test.sensitive_columns or []), prediction_column=test.prediction_column or None,
            score_column=test.score_column or None, policy_overrides=run.policy_overrides or {}, seed=run.seed,
            time_limit_s=run.time_limit_s, memory_limit_mb=run.memory_limit_mb)


def validation_execute(*, run: ValidationRun):
    """Run the engine for a claimed run, streaming its events into the database."""
    from audits.engine import execute_in_child

    recorder = RunRecorder(run)
    with _local_inputs(run) as spec:
        return execute_in_child(spec, on_event=recorder.on_event, cancel_requested=recorder.cancel_requested)


FINISH_VERBS = {RunStatus.SUCCEEDED: "validation.finished", RunStatus.FAILED: "validation.failed",
                RunStatus.CANCELLED: "validation.cancelled"}


def validation_finish(*, run_id: int, token: str, status: str, error_message: str = "", error_detail: str = "",
                      reproducibility: dict | None = None, peak_memory_mb: float | None = None,
                      duration_s: float | None = None) -> ValidationRun | None:
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
        run.reproducibility = {**(reproducibility or {}), "inputs": run.reproducibility.get("inputs", {})}
        run.peak_memory_mb, run.duration_s = peak_memory_mb, duration_s
        run.stage = ""
        if status == RunStatus.SUCCEEDED:
            run.progress_percent, run.current_check = 100, ""
        run.save()
        # The worker acts for whoever enqueued the run (restored audit context), else its requester.
        actor = None if audit_context.current().actor_id else run.requested_by
        audit_record(verb=FINISH_VERBS[status], target=run, actor=actor, reason=error_message,
                     before={"status": RunStatus.RUNNING}, after={"status": status, **_outcome_summary(run)})
    return run


def _outcome_summary(run: ValidationRun) -> dict:
    from django.db.models import Count

    statuses = dict(run.results.values_list("status").annotate(n=Count("id")))
    severities = dict(run.findings.values_list("severity").annotate(n=Count("id")))
    return {"checks": statuses, "findings": severities, "duration_s": run.duration_s,
            "peak_memory_mb": run.peak_memory_mb, "policy_version": run.policy_version}


def validation_fail(*, run_id: int, token: str, message: str, detail: str = "") -> ValidationRun | None:
    return validation_finish(run_id=run_id, token=token, status=RunStatus.FAILED, error_message=message,
                             error_detail=detail)


def validation_reap_stale(*, now=None) -> list[int]:
    """Fail runs nobody is working on: running runs whose worker stopped sending heartbeats (it
    died, or lost its database) and queued runs no worker picked up in time (none is running)."""
    now = now or timezone.now()
    return _reap_silent_running(now) + _reap_never_picked_up(now)


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _reap_silent_running(now) -> list[int]:
    stale_after = settings.VALIDATION_STALE_AFTER_S
    cutoff = now - timedelta(seconds=stale_after)
    message = (f"The validation stopped: the worker running it sent no sign of life for {_minutes(stale_after)} "
               "(it may have crashed or been restarted). Start it again.")
    return _reap(now, {"status": RunStatus.RUNNING, "heartbeat_at__lt": cutoff}, message, after={},
                 detail=lambda run: f"last heartbeat at {run.heartbeat_at.isoformat()}; reaped at {now.isoformat()}")


def _reap_never_picked_up(now) -> list[int]:
    timeout = settings.VALIDATION_QUEUED_TIMEOUT_S
    cutoff = now - timedelta(seconds=timeout)
    message = (f"No worker picked this run up within {_minutes(timeout)}; is a worker running? Ask an "
               "administrator to start one, then start the validation again.")
    return _reap(now, {"status": RunStatus.QUEUED, "created_at__lt": cutoff}, message,
                 after={"never_started": True},
                 detail=lambda run: f"queued at {run.created_at.isoformat()}; reaped at {now.isoformat()}")


def _reap(now, conditions: dict, message: str, *, after: dict, detail) -> list[int]:
    """Fail every run matching `conditions`, one row lock at a time, re-checking each under its
    lock: a worker may claim, heartbeat or finish it between the scan and the lock."""
    reaped = []
    for run_id in list(ValidationRun.objects.filter(**conditions).values_list("pk", flat=True)):
        with transaction.atomic():
            run = ValidationRun.objects.select_for_update().filter(pk=run_id, **conditions).first()
            if run is None:  # it came back to life, was claimed or finished since the scan
                continue
            before = run.status
            _move(run, RunStatus.FAILED)
            run.finished_at, run.error_message, run.error_detail = now, message, detail(run)
            run.save()
            audit_record(verb="validation.failed", target=run, actor=None, reason=message,
                         before={"status": before}, after={"status": RunStatus.FAILED, "reaped": True, **after})
            reaped.append(run_id)
    return reaped
