"""Writes for the inventory. Each one checks permission, validates, owns its transaction and records
an audit event; refused uploads are recorded too, and leave no file behind.

Uploads are scanned (models) or profiled (datasets) in a child process (`uploads.upload_check`).
The request gives it UPLOAD_SCAN_INLINE_SECONDS: a file decided in that time is registered (or
refused) at once, as it always was; a slower one is stored, registered as pending, and decided by
a Celery task with the full limits (UPLOAD_SCAN_TIME_LIMIT_S, UPLOAD_SCAN_MEMORY_LIMIT_MB), which
marks it safe or refused; refused files are removed from storage. A pending or refused version or
dataset cannot be validated. A periodic sweep refuses pending scans nobody finished."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from core.models import User
from core.permissions import has_permission
from core.trail import audit_record
from models_registry import storage
from models_registry.choices import (
    AffectedGroup,
    ArtifactKind,
    DatasetRole,
    Framework,
    LifecycleStage,
    OperatorRole,
    Sector,
    Task,
)
from models_registry.models import AISystem, Artifact, Dataset, DatasetStatus, ModelVersion, ScanState, Tag
from models_registry.signals import system_changed, version_registered
from models_registry.uploads import CheckOutcome, human_size, sha256_of, upload_check, upload_on_disk

SYSTEM_FIELDS = (
    "name",
    "purpose",
    "intended_use",
    "deployment_context",
    "affected_persons",
    "lifecycle_stage",
    "operator_role",
    "owner_team",
    "business_owner",
    "processes_personal_data",
    "processes_special_categories",
    "third_party_vendor",
    "sector",
    "affected_groups",
)
logger = logging.getLogger(__name__)
VERSION_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,59}$")


def _require(actor: User, permission: str, system: AISystem | None = None) -> None:
    # Another organisation's system first, and as NotFound (404), as everywhere in the portal: it
    # must read the same as one that does not exist, whatever the actor's role.
    if system is not None and system.organisation_id != actor.organisation_id:
        raise NotFound("That AI system does not exist.", code="not_found")
    if not has_permission(actor, permission):
        raise NotAllowed(f"Your role does not allow {permission}.", code="not_allowed")


def _clean_tags(tags) -> list[str]:
    names = []
    for tag in tags or []:
        name = str(tag).strip().lower()[:50]
        if name and name not in names:
            names.append(name)
    return names


def _system_snapshot(system: AISystem) -> dict:
    data = {field: getattr(system, field) for field in SYSTEM_FIELDS}
    data["tags"] = sorted(system.tags.values_list("name", flat=True)) if system.pk else []
    return data


def _validate_system(data: dict) -> None:
    if not str(data.get("name", "")).strip():
        raise ValidationFailed("Give the AI system a name.", code="name_required", extra={"field": "name"})
    if not str(data.get("purpose", "")).strip():
        raise ValidationFailed("Describe the system's purpose.", code="purpose_required", extra={"field": "purpose"})
    for field, choices in (("lifecycle_stage", LifecycleStage), ("operator_role", OperatorRole)):
        if data.get(field) is not None and data[field] not in choices.values:
            raise ValidationFailed(
                f"{field.replace('_', ' ').capitalize()} must be one of {', '.join(choices.values)}.",
                code=f"invalid_{field}",
                extra={"field": field},
            )


def _clean_system_record(fields: dict) -> dict:
    """The sector and affected groups as stored: a known sector or blank (not stated), and the
    affected groups as a list of known values, each once, in the order AffectedGroup lists them.
    Anything else is refused, so nothing is saved."""
    if "sector" in fields:
        sector = fields["sector"] if fields["sector"] is not None else ""
        if not isinstance(sector, str) or (sector and sector not in Sector.values):
            raise ValidationFailed(
                f"Sector must be blank (not stated) or one of {', '.join(Sector.values)}.",
                code="invalid_sector",
                extra={"field": "sector"},
            )
        fields["sector"] = sector
    if "affected_groups" in fields:
        groups = fields["affected_groups"] if fields["affected_groups"] is not None else []
        unknown = (
            [groups]
            if not isinstance(groups, (list, tuple))
            else [g for g in groups if not isinstance(g, str) or g not in AffectedGroup.values]
        )
        if unknown:
            raise ValidationFailed(
                f"Affected groups must be a list of {', '.join(AffectedGroup.values)}; not {', '.join(map(repr, unknown))}.",
                code="invalid_affected_groups",
                extra={"field": "affected_groups"},
            )
        fields["affected_groups"] = [g for g in AffectedGroup.values if g in groups]
    return fields


def _set_tags(system: AISystem, names: list[str]) -> None:
    tags = [Tag.objects.get_or_create(organisation_id=system.organisation_id, name=name)[0] for name in names]
    system.tags.set(tags)


def system_create(*, actor: User, tags: list[str] | None = None, **fields: Any) -> AISystem:
    _require(actor, "system.create")
    unknown = set(fields) - set(SYSTEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.", code="unknown_fields")
    _validate_system(fields)
    _clean_system_record(fields)
    fields["name"] = fields["name"].strip()
    try:
        with transaction.atomic():
            system = AISystem.objects.create(organisation_id=actor.organisation_id, created_by=actor, **fields)  # type: ignore[misc]  # organisation_id is nullable only for platform users, who never reach a service
            _set_tags(system, _clean_tags(tags))
            audit_record(verb="system.created", target=system, actor=actor, after=_system_snapshot(system))
    except IntegrityError:
        raise Conflict(
            f"An AI system named {fields['name']!r} already exists in your organisation.",
            code="duplicate_system_name",
            extra={"field": "name"},
        ) from None
    return system


def system_update(
    *, actor: User, system: AISystem, reason: str = "", tags: list[str] | None = None, **changes: Any
) -> AISystem:
    """Change registered facts. Facts the EU AI Act classification relies on (purpose, intended
    use, role, deployment context, sector, affected groups) notify the governance app, which flags the determination."""
    _require(actor, "system.change", system)
    unknown = set(changes) - set(SYSTEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.", code="unknown_fields")
    _clean_system_record(changes)
    try:
        with transaction.atomic():
            locked = AISystem.objects.select_for_update().get(pk=system.pk)
            before = _system_snapshot(locked)
            for field, value in changes.items():
                setattr(locked, field, value.strip() if isinstance(value, str) and field == "name" else value)
            _validate_system({f: getattr(locked, f) for f in SYSTEM_FIELDS})
            locked.save()
            if tags is not None:
                _set_tags(locked, _clean_tags(tags))
            after = _system_snapshot(locked)
            changed = {k for k in after if after[k] != before[k]}
            if not changed:
                return locked
            audit_record(
                verb="system.updated",
                target=locked,
                actor=actor,
                reason=reason,
                before={k: before[k] for k in sorted(changed)},
                after={k: after[k] for k in sorted(changed)},
            )
            system_changed.send(sender=AISystem, system=locked, changed_fields=changed, actor=actor)
    except IntegrityError:
        raise Conflict(
            "Another AI system in your organisation already has that name.",
            code="duplicate_system_name",
            extra={"field": "name"},
        ) from None
    return locked


# --- files -----------------------------------------------------------------------------------


def _refuse(
    *,
    actor: User,
    system: AISystem,
    verb: str,
    name: str,
    message: str,
    code: str,
    extra: dict | None = None,
    sha256: str = "",
    size: int | None = None,
) -> None:
    """Record a refused upload in its own transaction (it must survive the error) and raise."""
    with transaction.atomic():
        audit_record(
            verb=verb,
            target=system,
            actor=actor,
            reason=message,
            after={
                "file": name,
                "code": code,
                "sha256": sha256,
                "size": size,
                "reasons": (extra or {}).get("reasons", []),
            },
        )
    raise ValidationFailed(message, code=code, extra=extra or {})


def _check_size(uploaded, *, actor, system, verb) -> None:
    if uploaded is None:
        raise ValidationFailed("Choose a file to upload.", code="file_required", extra={"field": "file"})
    if uploaded.size > settings.MAX_UPLOAD_SIZE:
        _refuse(
            actor=actor,
            system=system,
            verb=verb,
            name=uploaded.name,
            code="too_large",
            message=f"The file is {human_size(uploaded.size)}; the limit is {human_size(settings.MAX_UPLOAD_SIZE)}.",
        )
    if uploaded.size == 0:
        _refuse(
            actor=actor, system=system, verb=verb, name=uploaded.name, code="empty_file", message="The file is empty."
        )


def _artifact_row(
    *, actor: User, key: str, sha256: str, size: int, kind: str, name: str, detected_format: str
) -> Artifact:
    """The organisation's row for stored bytes; created inside the caller's transaction so a
    failed registration rolls it back (and the caller removes bytes it stored)."""
    artifact, _ = Artifact.objects.get_or_create(
        organisation_id=actor.organisation_id,
        kind=kind,
        sha256=sha256,
        defaults={
            "size": size,
            "storage_key": key,
            "original_name": name[:255],
            "detected_format": detected_format,
            "uploaded_by": actor,
        },
    )
    return artifact


def _cleanup_on_failure(key: str, created: bool) -> None:
    if created and not Artifact.objects.filter(storage_key=key).exists():
        storage.delete(key)


def _store(path: Path, *, sha256: str, actor: User, kind: str) -> tuple[str, bool]:
    """Stored once per organisation: under the key its artifact row already has (older uploads keep
    the global key they were stored under), else under the organisation's key for the hash."""
    known = (
        Artifact.objects.filter(organisation_id=actor.organisation_id, kind=kind, sha256=sha256)  # type: ignore[misc]  # organisation_id is nullable only for platform users, who never reach a service
        .values_list("storage_key", flat=True)
        .first()
    )
    return storage.store(path, sha256, organisation_id=actor.organisation_id, key=known)


def _check(
    *, kind: str, path: Path, name: str, inline: bool, options: dict | None = None, memo_key: tuple | None = None
) -> CheckOutcome:
    """The scan or profile in its child process: with the request's short budget, or the full one."""
    budget = settings.UPLOAD_SCAN_TIME_LIMIT_S
    if inline:
        budget = min(settings.UPLOAD_SCAN_INLINE_SECONDS, budget)
        if budget == 0:  # configured to check every upload in the background
            return CheckOutcome(status="time_limit", answer={}, pid=0, peak_rss_mb=0.0, wall_s=0.0)
    return upload_check(
        kind=kind,
        path=path,
        original_name=name,
        time_limit_s=budget,
        memory_limit_mb=settings.UPLOAD_SCAN_MEMORY_LIMIT_MB,
        options=options,
        memo_key=memo_key,
    )


def _deferred(outcome: CheckOutcome) -> bool:
    """The request's budget ran out before the full limit: the worker takes over."""
    return outcome.status == "time_limit" and settings.UPLOAD_SCAN_INLINE_SECONDS < settings.UPLOAD_SCAN_TIME_LIMIT_S


def _limit_reason(outcome: CheckOutcome, *, what: str) -> dict:
    """The refusal when the child hit a limit or died: a stable code and a sentence for the uploader."""
    if outcome.status == "time_limit":
        limit = settings.UPLOAD_SCAN_TIME_LIMIT_S
        return {
            "code": "scan_time_limit",
            "severity": "high",
            "detail": f"stopped after {outcome.wall_s:.1f} s",
            "message": f"The {what} took longer than its limit of {limit} s and was stopped, so the file was "
            "refused; a file this slow to check is a risk in itself (for example millions of "
            "pickle operations). Save it in a simpler form (skops, or joblib of the fitted "
            "estimator) or upload a smaller extract.",
        }
    if outcome.status == "memory_limit":
        limit = settings.UPLOAD_SCAN_MEMORY_LIMIT_MB
        return {
            "code": "scan_memory_limit",
            "severity": "high",
            "detail": f"peak {outcome.peak_rss_mb:.0f} MB",
            "message": f"The {what} needed more than its memory limit of {limit} MB and was stopped, so the "
            "file was refused. Save it in a simpler form or upload a smaller extract.",
        }
    return {
        "code": "scan_crashed",
        "severity": "high",
        "detail": outcome.detail[-300:],
        "message": f"The {what} stopped unexpectedly on this file, so it was refused.",
    }


def _model_report(outcome: CheckOutcome, *, framework: str) -> dict:
    """The scan report of a finished (or stopped) scan, with the framework cross-check as one more
    reason: a report whose verdict is "safe" or "refused", never an exception."""
    if not outcome.finished:
        reason = _limit_reason(outcome, what="safety scan")
        return {
            "verdict": "refused",
            "detected_format": "unknown",
            "reasons": [reason],
            "notes": [],
            "globals_seen": [],
            "scanner": {},
            "inner_artifact": None,
        }
    report = dict(outcome.answer["report"])
    if report["verdict"] == "safe" and (report["detected_format"] == "onnx") != (framework == Framework.ONNX):
        report["verdict"] = "refused"
        report["reasons"] = [
            {
                "code": "framework_mismatch",
                "severity": "high",
                "detail": "",
                "message": f"The file is a {report['detected_format']} model but the framework says {framework}.",
            }
        ]
    return report


def _dataset_answer(outcome: CheckOutcome) -> dict:
    """{"profile": ...} or {"error": {"code", "message", "extra"}}, limits and crashes included."""
    if outcome.finished:
        return outcome.answer
    reason = _limit_reason(outcome, what="dataset profile")
    return {"error": {"code": reason["code"], "message": reason["message"], "extra": {"detail": reason["detail"]}}}


def _enqueue_check(kind: str, object_id: int) -> bool:
    """Hand a pending check to the broker. Never raises: the upload is committed whatever the broker
    does, and the sweep sends pending checks no worker claimed again (a second message is harmless:
    the claim lets one delivery run it)."""
    from core.enqueue import task_enqueue

    # By name (models_registry/tasks.py): the tasks import this module, not the other way round.
    name = "models_registry.model_version_scan" if kind == "model" else "models_registry.dataset_profile"
    try:
        task_enqueue(name, args=(object_id,))
    except Exception as exc:  # noqa: BLE001 — the broker boundary: logged, the sweep sends it again
        logger.warning(
            "the %s check of %s could not be handed to the broker (the sweep retries it): %s", kind, object_id, exc
        )
        return False
    return True


def _clean_columns(columns) -> list[str]:
    if isinstance(columns, str):
        columns = re.split(r"[,\n]", columns)
    cleaned = [str(c).strip() for c in columns or [] if str(c).strip()]
    duplicates = sorted({c for c in cleaned if cleaned.count(c) > 1})
    if duplicates:
        raise ValidationFailed(
            f"Columns listed twice: {', '.join(duplicates)}.", code="duplicate_columns", extra={"columns": duplicates}
        )
    return cleaned


def _validate_version_fields(*, system, version_label, framework, task, claimed_metrics) -> None:
    if not VERSION_LABEL.match(version_label or ""):
        raise ValidationFailed(
            "A version label is 1–60 letters, digits, dots, dashes, plus or underscores, e.g. 1.4.0 or 2026-11-rc1.",
            code="invalid_version_label",
            extra={"field": "version_label"},
        )
    if ModelVersion.objects.filter(system=system, version_label=version_label).exists():
        raise Conflict(
            f"Version {version_label} of {system} already exists; uploaded files are immutable, "
            "so register the change as a new version.",
            code="duplicate_version_label",
            extra={"field": "version_label"},
        )
    if framework not in Framework.values:
        raise ValidationFailed(f"Framework must be one of {', '.join(Framework.values)}.", code="invalid_framework")
    if task not in Task.values:
        raise ValidationFailed(f"Task must be one of {', '.join(Task.values)}.", code="invalid_task")
    if not isinstance(claimed_metrics, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in claimed_metrics.values()
    ):
        raise ValidationFailed(
            'Claimed metrics must map metric names to numbers, e.g. {"auc": 0.91}.',
            code="invalid_claimed_metrics",
            extra={"field": "claimed_metrics"},
        )


def model_version_register(
    *,
    actor: User,
    system: AISystem,
    version_label: str,
    file,
    framework: str,
    task: str,
    feature_columns=(),
    intended_use: str = "",
    limitations: str = "",
    training_data_description: str = "",
    claimed_metrics: dict | None = None,
    substantial_modification: bool = False,
) -> ModelVersion:
    """Scan the uploaded model statically (in a child process; it is never unpickled), store it by
    hash, and register the version. A refused file is recorded in the audit trail and not kept. A
    scan that outlasts the request's budget leaves the version pending (``scan_verdict``), decided
    by a worker."""
    _require(actor, "model.upload", system)
    claimed_metrics = claimed_metrics or {}
    version_label = (version_label or "").strip()
    _validate_version_fields(
        system=system, version_label=version_label, framework=framework, task=task, claimed_metrics=claimed_metrics
    )
    features = _clean_columns(feature_columns)
    verb = "model_version.upload_refused"
    _check_size(file, actor=actor, system=system, verb=verb)
    with upload_on_disk(file) as path:
        sha256, size = sha256_of(path)
        outcome = _check(kind="model", path=path, name=file.name, inline=True, memo_key=(actor.organisation_id, sha256))
        report = None if _deferred(outcome) else _model_report(outcome, framework=framework)
        if report is not None and report["verdict"] != "safe":
            reasons = report["reasons"]
            _refuse(
                actor=actor,
                system=system,
                verb=verb,
                name=file.name,
                sha256=sha256,
                size=size,
                code=reasons[0]["code"] if reasons else "refused",
                message="The model file was refused: " + "; ".join(r["message"] for r in reasons[:3]),
                extra={"reasons": reasons, "scan": report},
            )
        key, created = _store(path, sha256=sha256, actor=actor, kind=ArtifactKind.MODEL)
    verdict = ScanState.PENDING if report is None else ScanState.SAFE
    try:
        with transaction.atomic():
            artifact = _artifact_row(
                actor=actor,
                key=key,
                sha256=sha256,
                size=size,
                kind=ArtifactKind.MODEL,
                name=file.name,
                detected_format=report["detected_format"] if report else "",
            )
            version = ModelVersion.objects.create(  # type: ignore[misc]  # organisation_id is nullable only for platform users, who never reach a service
                organisation_id=actor.organisation_id,
                system=system,
                version_label=version_label,
                artifact=artifact,
                framework=framework,
                task=task,
                feature_columns=features,
                intended_use=intended_use,
                limitations=limitations,
                training_data_description=training_data_description,
                claimed_metrics=claimed_metrics,
                substantial_modification=substantial_modification,
                scan_verdict=verdict,
                scan_report=report or {},
                **_declared_feature_names(report),
                uploaded_by=actor,
            )
            audit_record(
                verb="model_version.registered",
                target=version,
                actor=actor,
                after={
                    "system": system.name,
                    "version_label": version_label,
                    "sha256": sha256,
                    "size": size,
                    "format": artifact.detected_format,
                    "scan": verdict,
                    "substantial_modification": substantial_modification,
                },
            )
            if report is None:
                version_id = version.pk
                # Enqueued once committed, so the worker finds the row (and a rollback sends nothing).
                transaction.on_commit(lambda: _enqueue_check("model", version_id))
            else:
                version_registered.send(sender=ModelVersion, version=version, actor=actor)
    except IntegrityError:
        _cleanup_on_failure(key, created)
        raise Conflict(
            f"Version {version_label} of {system} was registered by someone else a moment ago.",
            code="duplicate_version_label",
            extra={"field": "version_label"},
        ) from None
    return version


def _profile_options(*, target_column: str, prediction_column: str, score_column: str, sensitive: list[str]) -> dict:
    return {"target": target_column, "prediction": prediction_column, "score": score_column, "sensitive": sensitive}


def _profiled_fields(profile: dict) -> dict:
    """The dataset row's fields a finished profile fills in."""
    return {
        "file_format": profile["file_format"],
        "read_options": profile["read_options"],
        "row_count": profile["row_count"],
        "column_count": profile["column_count"],
        "schema": profile["columns"],
        "pii_columns": profile["pii_columns"],
    }


def dataset_register(
    *,
    actor: User,
    system: AISystem,
    name: str,
    role: str,
    file,
    target_column: str = "",
    prediction_column: str = "",
    score_column: str = "",
    sensitive_columns=(),
) -> Dataset:
    """Read and profile the uploaded table (schema, missing values, personal data; in a child
    process), store it by hash and register it as the next version of the named dataset. A profile
    that outlasts the request's budget leaves the dataset pending (``profile_status``)."""
    _require(actor, "dataset.upload", system)
    name = (name or "").strip() or Path(getattr(file, "name", "") or "dataset").name.split(".")[0]
    if role not in DatasetRole.values:
        raise ValidationFailed(
            f"Role must be one of {', '.join(DatasetRole.values)}.", code="invalid_role", extra={"field": "role"}
        )
    sensitive = _clean_columns(sensitive_columns)
    options = _profile_options(
        target_column=target_column, prediction_column=prediction_column, score_column=score_column, sensitive=sensitive
    )
    verb = "dataset.upload_refused"
    _check_size(file, actor=actor, system=system, verb=verb)
    with upload_on_disk(file) as path:
        sha256, size = sha256_of(path)
        outcome = _check(
            kind="dataset",
            path=path,
            name=file.name,
            inline=True,
            options=options,
            memo_key=(actor.organisation_id, sha256),
        )
        answer = None if _deferred(outcome) else _dataset_answer(outcome)
        if answer is not None and "error" in answer:
            error = answer["error"]
            _refuse(
                actor=actor,
                system=system,
                verb=verb,
                name=file.name,
                sha256=sha256,
                size=size,
                code=error["code"],
                message=error["message"],
                extra=error["extra"],
            )
        key, created = _store(path, sha256=sha256, actor=actor, kind=ArtifactKind.DATASET)
    profile = answer["profile"] if answer is not None else None
    fields = (
        _profiled_fields(profile)
        if profile
        else {
            "file_format": "parquet" if file.name.lower().endswith(".parquet") else "csv",
            "read_options": {},
            "row_count": 0,
            "column_count": 0,
            "schema": [],
            "pii_columns": [],
        }
    )
    try:
        with transaction.atomic():
            artifact = _artifact_row(
                actor=actor,
                key=key,
                sha256=sha256,
                size=size,
                kind=ArtifactKind.DATASET,
                name=file.name,
                detected_format=profile["file_format"] if profile else "",
            )
            # The row lock on the system serialises version numbering of its datasets.
            AISystem.objects.select_for_update().get(pk=system.pk)
            last = Dataset.objects.filter(system=system, name=name).order_by("-version").first()
            dataset = Dataset.objects.create(  # type: ignore[misc]  # organisation_id is nullable only for platform users, who never reach a service
                organisation_id=actor.organisation_id,
                system=system,
                name=name,
                version=(last.version + 1) if last else 1,
                role=role,
                artifact=artifact,
                target_column=target_column,
                prediction_column=prediction_column,
                score_column=score_column,
                sensitive_columns=sensitive,
                uploaded_by=actor,
                profile_status=DatasetStatus.PROFILED if profile else DatasetStatus.PENDING,
                **fields,
            )
            audit_record(
                verb="dataset.registered",
                target=dataset,
                actor=actor,
                after={
                    "system": system.name,
                    "name": name,
                    "version": dataset.version,
                    "role": role,
                    "sha256": sha256,
                    "rows": dataset.row_count,
                    "columns": dataset.column_count,
                    "pii_columns": dataset.pii_columns,
                    "profile": dataset.profile_status,
                },
            )
            if profile is None:
                dataset_id = dataset.pk
                transaction.on_commit(lambda: _enqueue_check("dataset", dataset_id))
    except IntegrityError:
        _cleanup_on_failure(key, created)
        raise Conflict(
            "Another upload of this dataset finished at the same moment; try again.", code="dataset_version_race"
        ) from None
    return dataset


def _delete_registered(*, actor: User, obj, verb: str, reason: str) -> None:
    from django.db.models import ProtectedError

    _require(actor, "model.upload" if isinstance(obj, ModelVersion) else "dataset.upload", obj.system)
    if not reason.strip():
        raise ValidationFailed("Say why it is deleted; the reason is kept in the audit trail.", code="reason_required")
    artifact = obj.artifact
    try:
        with transaction.atomic():
            audit_record(
                verb=verb, target=obj, actor=actor, reason=reason, before={"sha256": artifact.sha256, "name": str(obj)}
            )
            obj.delete()
            orphan = not (artifact.model_versions.exists() or artifact.datasets.exists())
            if orphan:
                key = artifact.storage_key
                artifact.delete()
                if not Artifact.objects.filter(storage_key=key).exists():
                    transaction.on_commit(lambda: storage.delete(key))
    except ProtectedError:
        raise Conflict(
            f"{obj} is used as evidence elsewhere (a validation run or a submission) and cannot be deleted.",
            code="in_use",
        ) from None


def model_version_delete(*, actor: User, version: ModelVersion, reason: str) -> None:
    _delete_registered(actor=actor, obj=version, verb="model_version.deleted", reason=reason)


def dataset_delete(*, actor: User, dataset: Dataset, reason: str) -> None:
    _delete_registered(actor=actor, obj=dataset, verb="dataset.deleted", reason=reason)


def upload_cut_off(*, actor: User, system: AISystem, kind: str, received: int) -> None:
    """The upload handler stopped reading an oversized file: record the refusal and raise."""
    _require(actor, "model.upload" if kind == "model" else "dataset.upload", system)
    _refuse(
        actor=actor,
        system=system,
        verb=f"{'model_version' if kind == 'model' else 'dataset'}.upload_refused",
        name="(not stored)",
        code="too_large",
        size=received,
        message=f"The upload was stopped at {human_size(received)}: the limit is "
        f"{human_size(settings.MAX_UPLOAD_SIZE)}. Nothing was stored.",
    )


# --- background scans: the worker's side of a pending upload --------------------------------------


def _claim(model, pk: int, *, status_field: str, prefix: str) -> str | None:
    """Claim a pending row with a conditional UPDATE, so a re-delivered task finds it taken. A claim
    older than the scan's time limit (its worker died) may be taken over."""
    token = uuid.uuid4().hex
    now = timezone.now()
    abandoned = now - timedelta(seconds=settings.UPLOAD_SCAN_TIME_LIMIT_S + 60)
    claimed = (
        model.objects.filter(pk=pk, **{status_field: "pending"})
        .filter(Q(**{f"{prefix}_claimed_at__isnull": True}) | Q(**{f"{prefix}_claimed_at__lt": abandoned}))
        .update(**{f"{prefix}_claimed_at": now, f"{prefix}_claim_token": token})
    )
    return token if claimed else None


def _stored_check(*, kind: str, artifact: Artifact, options: dict | None = None) -> CheckOutcome | None:
    """The full check of a stored file (None if the file is gone from storage)."""
    suffix = "".join(Path(artifact.original_name).suffixes[-2:])
    try:
        with storage.local_copy(artifact.storage_key, suffix=suffix) as path:
            return _check(kind=kind, path=path, name=artifact.original_name, inline=False, options=options)
    except FileNotFoundError:
        return None


MISSING_FILE = {
    "code": "stored_file_missing",
    "severity": "high",
    "detail": "",
    "message": "The uploaded file is no longer in storage, so it could not be checked; upload it again.",
}


def _release_file(artifact: Artifact) -> None:
    """A refused row keeps its artifact row (the trail refers to it) but not the bytes, unless a row
    that is not refused still uses them (the same file registered twice)."""
    key = artifact.storage_key
    in_use = (
        ModelVersion.objects.filter(artifact__storage_key=key).exclude(scan_verdict=ScanState.REFUSED).exists()
        or Dataset.objects.filter(artifact__storage_key=key).exclude(profile_status=DatasetStatus.REFUSED).exists()
    )
    if not in_use:
        transaction.on_commit(lambda: storage.delete(key))


def model_version_scan_run(*, version_id: int) -> ModelVersion | None:
    """The worker's scan of a pending version: claim it, scan the stored file with the full limits,
    record the verdict. None when it was not ours to decide (taken, decided, deleted)."""
    token = _claim(ModelVersion, version_id, status_field="scan_verdict", prefix="scan")
    if token is None:
        return None
    version = ModelVersion.objects.select_related("artifact").filter(pk=version_id).first()
    if version is None:
        return None
    outcome = _stored_check(kind="model", artifact=version.artifact)
    if outcome is None:
        report = {"verdict": ScanState.REFUSED, "detected_format": "unknown", "reasons": [MISSING_FILE]}
    else:
        report = _model_report(outcome, framework=version.framework)
        report["scan_peak_rss_mb"], report["scan_wall_s"] = outcome.peak_rss_mb, outcome.wall_s  # type: ignore[assignment]  # the report is a JSON dict of mixed values
    return _model_version_scan_decide(version_id=version_id, token=token, report=report)


def _model_version_scan_decide(*, version_id: int, token: str, report: dict) -> ModelVersion | None:
    with transaction.atomic():
        # The lock and the token order this against a sweep or a delete that got there first.
        version = (
            ModelVersion.objects.select_for_update()
            .select_related("artifact", "system", "uploaded_by")
            .filter(pk=version_id, scan_verdict=ScanState.PENDING, scan_claim_token=token)
            .first()
        )
        if version is None:
            return None
        _model_version_decide(version, report=report, actor=None)
    return version


def _declared_feature_names(report: dict | None) -> dict:
    """The model's own input columns from a safe scan report (read statically by the scan)."""
    from models_registry.safety.feature_names import clean_names

    names = clean_names((report or {}).get("feature_names")) if (report or {}).get("verdict") == "safe" else []
    if not names:
        return {"model_feature_names": [], "model_feature_names_source": ""}
    fmt = (report or {}).get("detected_format", "")
    return {"model_feature_names": names, "model_feature_names_source": FEATURE_NAME_SOURCES.get(fmt, fmt)}


FEATURE_NAME_SOURCES = {
    "skops": "the skops file's schema",
    "onnx": "the ONNX graph's inputs",
    "mlflow": "the MLflow signature",
    "loaded": "the validation engine's loaded model",  # <= 40 chars (the column)
}


def model_version_feature_names_record(*, version_id: int, names: list) -> bool:
    """Record the input columns the validation engine's sandboxed child read from a loaded model
    (`feature_names_in_` of a pickle or joblib file), when the version has none recorded yet.
    The names come from an untrusted process: anything but a clean list of names is ignored."""
    from models_registry.safety.feature_names import clean_names

    names = clean_names(names)
    if not names:
        return False
    with transaction.atomic():
        # Locked so two runs of one version finishing at once record the names once.
        version = ModelVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.model_feature_names:
            return False
        version.model_feature_names = names
        version.model_feature_names_source = FEATURE_NAME_SOURCES["loaded"]
        version.save(update_fields=["model_feature_names", "model_feature_names_source"])
        audit_record(
            verb="model_version.feature_names_recorded",
            target=version,
            actor=None,
            after={"model_feature_names": names[:50], "count": len(names), "source": "loaded model"},
        )
    return True


def _model_version_decide(version: ModelVersion, *, report: dict, actor, reason: str = "") -> None:
    """Record a pending version's verdict (inside the caller's transaction, on the locked row)."""
    version.scan_verdict, version.scan_report = report["verdict"], report
    for name, value in _declared_feature_names(report).items():
        setattr(version, name, value)
    version.save(
        update_fields=["scan_verdict", "scan_report", "model_feature_names", "model_feature_names_source", "updated_at"]
    )
    reasons = report.get("reasons") or []
    after = {
        "scan": version.scan_verdict,
        "format": report.get("detected_format"),
        "reasons": [{"code": r["code"], "message": r["message"]} for r in reasons],
    }
    if version.scan_verdict == ScanState.SAFE:
        Artifact.objects.filter(pk=version.artifact_id, detected_format="").update(
            detected_format=report["detected_format"]
        )
        audit_record(
            verb="model_version.scan_completed",
            target=version,
            actor=actor,
            before={"scan": ScanState.PENDING},
            after=after,
        )
        version_registered.send(sender=ModelVersion, version=version, actor=version.uploaded_by)
        return
    audit_record(
        verb="model_version.scan_refused",
        target=version,
        actor=actor,
        before={"scan": ScanState.PENDING},
        after=after,
        reason=reason or "; ".join(r["message"] for r in reasons[:3]),
    )
    _release_file(version.artifact)


def dataset_profile_run(*, dataset_id: int) -> Dataset | None:
    """The worker's profile of a pending dataset: claim it, profile the stored file with the full
    limits, record the schema or the refusal. None when it was not ours to decide."""
    token = _claim(Dataset, dataset_id, status_field="profile_status", prefix="profile")
    if token is None:
        return None
    dataset = Dataset.objects.select_related("artifact").filter(pk=dataset_id).first()
    if dataset is None:
        return None
    options = _profile_options(
        target_column=dataset.target_column,
        prediction_column=dataset.prediction_column,
        score_column=dataset.score_column,
        sensitive=list(dataset.sensitive_columns),
    )
    outcome = _stored_check(kind="dataset", artifact=dataset.artifact, options=options)
    answer = (
        _dataset_answer(outcome)
        if outcome is not None
        else {"error": {"code": MISSING_FILE["code"], "message": MISSING_FILE["message"], "extra": {}}}
    )
    with transaction.atomic():
        locked = (
            Dataset.objects.select_for_update()
            .select_related("artifact", "system")
            .filter(pk=dataset_id, profile_status=DatasetStatus.PENDING, profile_claim_token=token)
            .first()
        )
        if locked is None:
            return None
        _dataset_decide(locked, answer=answer, actor=None)
    return locked


def _dataset_decide(dataset: Dataset, *, answer: dict, actor, reason: str = "") -> None:
    """Record a pending dataset's profile or refusal (inside the caller's transaction, on the locked row)."""
    if "profile" in answer:
        for field, value in _profiled_fields(answer["profile"]).items():
            setattr(dataset, field, value)
        dataset.profile_status = DatasetStatus.PROFILED
        dataset.save()
        Artifact.objects.filter(pk=dataset.artifact_id, detected_format="").update(detected_format=dataset.file_format)
        audit_record(
            verb="dataset.profiled",
            target=dataset,
            actor=actor,
            before={"profile": DatasetStatus.PENDING},
            after={
                "profile": dataset.profile_status,
                "rows": dataset.row_count,
                "columns": dataset.column_count,
                "pii_columns": dataset.pii_columns,
            },
        )
        return
    error = answer["error"]
    dataset.profile_status, dataset.profile_error = DatasetStatus.REFUSED, error
    dataset.save(update_fields=["profile_status", "profile_error", "updated_at"])
    audit_record(
        verb="dataset.profile_refused",
        target=dataset,
        actor=actor,
        reason=reason or error["message"],
        before={"profile": DatasetStatus.PENDING},
        after={"profile": dataset.profile_status, "code": error["code"], "message": error["message"]},
    )
    _release_file(dataset.artifact)


def upload_scans_expire(*, now=None) -> dict:
    """Periodic (beat): refuse pending scans and profiles older than UPLOAD_SCAN_PENDING_TIMEOUT_S that
    no worker is working on (never picked up, or its worker died), so nothing stays pending forever;
    send younger ones no worker claimed again. Returns the ids refused and resent."""
    now = now or timezone.now()
    timeout = settings.UPLOAD_SCAN_PENDING_TIMEOUT_S
    minutes = max(1, round(timeout / 60))
    message = (
        f"No worker finished checking this file within {minutes} minutes (is a worker running?), so it "
        "was refused; upload it again."
    )
    reason = {
        "code": "scan_stalled",
        "severity": "high",
        "detail": f"pending since more than {timeout} s",
        "message": message,
    }
    expired = {
        "versions": _expire(
            ModelVersion,
            now,
            status_field="scan_verdict",
            prefix="scan",
            decide=lambda row: _model_version_decide(
                row,
                actor=None,
                reason=message,
                report={**row.scan_report, "verdict": ScanState.REFUSED, "reasons": [reason]},
            ),
        ),
        "datasets": _expire(
            Dataset,
            now,
            status_field="profile_status",
            prefix="profile",
            decide=lambda row: _dataset_decide(
                row,
                actor=None,
                reason=message,
                answer={"error": {"code": reason["code"], "message": message, "extra": {}}},
            ),
        ),
    }
    resent = {
        "versions": _resend(ModelVersion, now, status_field="scan_verdict", prefix="scan"),
        "datasets": _resend(Dataset, now, status_field="profile_status", prefix="profile"),
    }
    return {**expired, "resent": resent}


def _resend(model, now, *, status_field: str, prefix: str) -> list[int]:
    """Pending checks no worker claimed for two minutes (the broker was down at upload, or lost the
    message) are sent again, until the sweep's timeout refuses them."""
    kind = "model" if model is ModelVersion else "dataset"
    unclaimed = model.objects.filter(
        **{status_field: "pending", f"{prefix}_claimed_at__isnull": True, "created_at__lt": now - timedelta(minutes=2)}
    )
    return [pk for pk in unclaimed.values_list("pk", flat=True) if _enqueue_check(kind, pk)]


def _expire(model, now, *, status_field: str, prefix: str, decide) -> list[int]:
    cutoff = now - timedelta(seconds=settings.UPLOAD_SCAN_PENDING_TIMEOUT_S)
    working = now - timedelta(seconds=settings.UPLOAD_SCAN_TIME_LIMIT_S + 60)  # a live worker's claim
    stale = Q(**{status_field: "pending", "created_at__lt": cutoff}) & (
        Q(**{f"{prefix}_claimed_at__isnull": True}) | Q(**{f"{prefix}_claimed_at__lt": working})
    )
    expired = []
    for pk in list(model.objects.filter(stale).values_list("pk", flat=True)):
        with transaction.atomic():
            # Re-checked under the row lock: a worker may have claimed or decided it since the scan.
            row = model.objects.select_for_update().select_related("artifact", "system").filter(stale, pk=pk).first()
            if row is None:
                continue
            decide(row)
            expired.append(pk)
    return expired
