"""Writes for the inventory. Each one checks permission, validates, owns its transaction and records
an audit event; refused uploads are recorded too, and leave no file behind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from audits.trail import audit_record
from core.errors import Conflict, NotAllowed, ValidationFailed
from core.models import User
from core.permissions import has_permission
from models_registry import storage
from models_registry.choices import ArtifactKind, DatasetRole, Framework, LifecycleStage, OperatorRole, Task
from models_registry.models import AISystem, Artifact, Dataset, ModelVersion, Tag
from models_registry.signals import system_changed, version_registered
from models_registry.uploads import human_size, sha256_of, upload_on_disk

SYSTEM_FIELDS = ("name", "purpose", "intended_use", "deployment_context", "affected_persons",
                 "lifecycle_stage", "operator_role", "owner_team", "business_owner",
                 "processes_personal_data", "processes_special_categories", "third_party_vendor")
VERSION_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,59}$")


def _require(actor: User, permission: str, system: AISystem | None = None) -> None:
    if not has_permission(actor, permission):
        raise NotAllowed(f"Your role does not allow {permission}.", code="not_allowed")
    if system is not None and system.organisation_id != actor.organisation_id:
        raise NotAllowed("This AI system belongs to another organisation.", code="not_allowed")


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
            raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} must be one of "
                                   f"{', '.join(choices.values)}.", code=f"invalid_{field}", extra={"field": field})


def _set_tags(system: AISystem, names: list[str]) -> None:
    tags = [Tag.objects.get_or_create(organisation_id=system.organisation_id, name=name)[0] for name in names]
    system.tags.set(tags)


def system_create(*, actor: User, tags: list[str] | None = None, **fields: Any) -> AISystem:
    _require(actor, "system.create")
    unknown = set(fields) - set(SYSTEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.", code="unknown_fields")
    _validate_system(fields)
    fields["name"] = fields["name"].strip()
    try:
        with transaction.atomic():
            system = AISystem.objects.create(organisation_id=actor.organisation_id, created_by=actor, **fields)
            _set_tags(system, _clean_tags(tags))
            audit_record(verb="system.created", target=system, actor=actor, after=_system_snapshot(system))
    except IntegrityError:
        raise Conflict(f"An AI system named {fields['name']!r} already exists in your organisation.",
                       code="duplicate_system_name", extra={"field": "name"}) from None
    return system


def system_update(*, actor: User, system: AISystem, reason: str = "", tags: list[str] | None = None,
                  **changes: Any) -> AISystem:
    """Change registered facts. Facts the EU AI Act classification relies on (purpose, intended
    use, role, deployment context) notify the governance app, which flags the determination."""
    _require(actor, "system.change", system)
    unknown = set(changes) - set(SYSTEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.", code="unknown_fields")
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
            audit_record(verb="system.updated", target=locked, actor=actor, reason=reason,
                         before={k: before[k] for k in sorted(changed)}, after={k: after[k] for k in sorted(changed)})
            system_changed.send(sender=AISystem, system=locked, changed_fields=changed, actor=actor)
    except IntegrityError:
        raise Conflict("Another AI system in your organisation already has that name.",
                       code="duplicate_system_name", extra={"field": "name"}) from None
    return locked


# --- files -----------------------------------------------------------------------------------

def _refuse(*, actor: User, system: AISystem, verb: str, name: str, message: str, code: str,
            extra: dict | None = None, sha256: str = "", size: int | None = None) -> None:
    """Record a refused upload in its own transaction (it must survive the error) and raise."""
    with transaction.atomic():
        audit_record(verb=verb, target=system, actor=actor, reason=message,
                     after={"file": name, "code": code, "sha256": sha256, "size": size,
                            "reasons": (extra or {}).get("reasons", [])})
    raise ValidationFailed(message, code=code, extra=extra or {})


def _check_size(uploaded, *, actor, system, verb) -> None:
    from django.conf import settings

    if uploaded is None:
        raise ValidationFailed("Choose a file to upload.", code="file_required", extra={"field": "file"})
    if uploaded.size > settings.MAX_UPLOAD_SIZE:
        _refuse(actor=actor, system=system, verb=verb, name=uploaded.name, code="too_large",
                message=f"The file is {human_size(uploaded.size)}; the limit is {human_size(settings.MAX_UPLOAD_SIZE)}.")
    if uploaded.size == 0:
        _refuse(actor=actor, system=system, verb=verb, name=uploaded.name, code="empty_file",
                message="The file is empty.")


def _artifact_row(*, actor: User, key: str, sha256: str, size: int, kind: str, name: str,
                  detected_format: str) -> Artifact:
    """The organisation's row for stored bytes; created inside the caller's transaction so a
    failed registration rolls it back (and the caller removes bytes it stored)."""
    artifact, _ = Artifact.objects.get_or_create(
        organisation_id=actor.organisation_id, kind=kind, sha256=sha256,
        defaults={"size": size, "storage_key": key, "original_name": name[:255],
                  "detected_format": detected_format, "uploaded_by": actor})
    return artifact


def _cleanup_on_failure(key: str, created: bool) -> None:
    if created and not Artifact.objects.filter(storage_key=key).exists():
        storage.delete(key)


def _clean_columns(columns) -> list[str]:
    if isinstance(columns, str):
        columns = re.split(r"[,\n]", columns)
    cleaned = [str(c).strip() for c in columns or [] if str(c).strip()]
    duplicates = sorted({c for c in cleaned if cleaned.count(c) > 1})
    if duplicates:
        raise ValidationFailed(f"Columns listed twice: {', '.join(duplicates)}.", code="duplicate_columns",
                               extra={"columns": duplicates})
    return cleaned


def _validate_version_fields(*, system, version_label, framework, task, claimed_metrics) -> None:
    if not VERSION_LABEL.match(version_label or ""):
        raise ValidationFailed("A version label is 1–60 letters, digits, dots, dashes, plus or underscores, "
                               "e.g. 1.4.0 or 2026-11-rc1.", code="invalid_version_label", extra={"field": "version_label"})
    if ModelVersion.objects.filter(system=system, version_label=version_label).exists():
        raise Conflict(f"Version {version_label} of {system} already exists; uploaded files are immutable, "
                       "so register the change as a new version.", code="duplicate_version_label",
                       extra={"field": "version_label"})
    if framework not in Framework.values:
        raise ValidationFailed(f"Framework must be one of {', '.join(Framework.values)}.", code="invalid_framework")
    if task not in Task.values:
        raise ValidationFailed(f"Task must be one of {', '.join(Task.values)}.", code="invalid_task")
    if not isinstance(claimed_metrics, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in claimed_metrics.values()):
        raise ValidationFailed("Claimed metrics must map metric names to numbers, e.g. {\"auc\": 0.91}.",
                               code="invalid_claimed_metrics", extra={"field": "claimed_metrics"})


def model_version_register(*, actor: User, system: AISystem, version_label: str, file, framework: str,
                           task: str, feature_columns=(), intended_use: str = "", limitations: str = "",
                           training_data_description: str = "", claimed_metrics: dict | None = None,
                           substantial_modification: bool = False) -> ModelVersion:
    """Scan the uploaded model statically (it is never unpickled here), store it by hash, and
    register the version. A refused file is recorded in the audit trail and not kept."""
    from models_registry.safety import scan_model_file

    _require(actor, "model.upload", system)
    claimed_metrics = claimed_metrics or {}
    version_label = (version_label or "").strip()
    _validate_version_fields(system=system, version_label=version_label, framework=framework, task=task,
                             claimed_metrics=claimed_metrics)
    features = _clean_columns(feature_columns)
    verb = "model_version.upload_refused"
    _check_size(file, actor=actor, system=system, verb=verb)
    with upload_on_disk(file) as path:
        sha256, size = sha256_of(path)
        report = scan_model_file(path, file.name)
        if report.verdict != "safe":
            reasons = [{"code": r.code, "message": r.message, "detail": r.detail, "severity": r.severity}
                       for r in report.reasons]
            _refuse(actor=actor, system=system, verb=verb, name=file.name, sha256=sha256, size=size,
                    code=reasons[0]["code"] if reasons else "refused",
                    message="The model file was refused: " + "; ".join(r["message"] for r in reasons[:3]),
                    extra={"reasons": reasons, "scan": report.to_dict()})
        if (report.detected_format == "onnx") != (framework == Framework.ONNX):
            _refuse(actor=actor, system=system, verb=verb, name=file.name, sha256=sha256, size=size,
                    code="framework_mismatch",
                    message=f"The file is a {report.detected_format} model but the framework says {framework}.")
        key, created = storage.store(path, sha256)
    try:
        with transaction.atomic():
            artifact = _artifact_row(actor=actor, key=key, sha256=sha256, size=size, kind=ArtifactKind.MODEL,
                                     name=file.name, detected_format=report.detected_format)
            version = ModelVersion.objects.create(
                organisation_id=actor.organisation_id, system=system, version_label=version_label,
                artifact=artifact, framework=framework, task=task, feature_columns=features,
                intended_use=intended_use, limitations=limitations,
                training_data_description=training_data_description, claimed_metrics=claimed_metrics,
                substantial_modification=substantial_modification, scan_verdict=report.verdict,
                scan_report=report.to_dict(), uploaded_by=actor)
            audit_record(verb="model_version.registered", target=version, actor=actor,
                         after={"system": system.name, "version_label": version_label, "sha256": sha256,
                                "size": size, "format": report.detected_format, "scan": report.verdict,
                                "substantial_modification": substantial_modification})
            version_registered.send(sender=ModelVersion, version=version, actor=actor)
    except IntegrityError:
        _cleanup_on_failure(key, created)
        raise Conflict(f"Version {version_label} of {system} was registered by someone else a moment ago.",
                       code="duplicate_version_label", extra={"field": "version_label"}) from None
    return version


def dataset_register(*, actor: User, system: AISystem, name: str, role: str, file, target_column: str = "",
                     prediction_column: str = "", score_column: str = "", sensitive_columns=()) -> Dataset:
    """Read and profile the uploaded table (schema, missing values, personal data), store it by hash
    and register it as the next version of the named dataset."""
    from models_registry.datasets import DatasetError, profile_dataset

    _require(actor, "dataset.upload", system)
    name = (name or "").strip() or Path(getattr(file, "name", "") or "dataset").name.split(".")[0]
    if role not in DatasetRole.values:
        raise ValidationFailed(f"Role must be one of {', '.join(DatasetRole.values)}.", code="invalid_role",
                               extra={"field": "role"})
    sensitive = _clean_columns(sensitive_columns)
    verb = "dataset.upload_refused"
    _check_size(file, actor=actor, system=system, verb=verb)
    with upload_on_disk(file) as path:
        sha256, size = sha256_of(path)
        try:
            profile = profile_dataset(path, file.name, target=target_column or None,
                                      prediction=prediction_column or None, score=score_column or None,
                                      sensitive=sensitive)
        except DatasetError as exc:
            _refuse(actor=actor, system=system, verb=verb, name=file.name, sha256=sha256, size=size,
                    code=exc.code, message=exc.message, extra=exc.extra)
        key, created = storage.store(path, sha256)
    summary = profile.to_dict()
    try:
        with transaction.atomic():
            artifact = _artifact_row(actor=actor, key=key, sha256=sha256, size=size, kind=ArtifactKind.DATASET,
                                     name=file.name, detected_format=profile.file_format)
            # The row lock on the system serialises version numbering of its datasets.
            AISystem.objects.select_for_update().get(pk=system.pk)
            last = Dataset.objects.filter(system=system, name=name).order_by("-version").first()
            dataset = Dataset.objects.create(
                organisation_id=actor.organisation_id, system=system, name=name,
                version=(last.version + 1) if last else 1, role=role, artifact=artifact,
                file_format=profile.file_format, read_options=summary["read_options"],
                target_column=target_column, prediction_column=prediction_column, score_column=score_column,
                sensitive_columns=sensitive, row_count=profile.row_count, column_count=profile.column_count,
                schema=summary["columns"], pii_columns=summary["pii_columns"], uploaded_by=actor)
            audit_record(verb="dataset.registered", target=dataset, actor=actor,
                         after={"system": system.name, "name": name, "version": dataset.version, "role": role,
                                "sha256": sha256, "rows": profile.row_count, "columns": profile.column_count,
                                "pii_columns": summary["pii_columns"]})
    except IntegrityError:
        _cleanup_on_failure(key, created)
        raise Conflict("Another upload of this dataset finished at the same moment; try again.",
                       code="dataset_version_race") from None
    return dataset


def _delete_registered(*, actor: User, obj, verb: str, reason: str) -> None:
    from django.db.models import ProtectedError

    _require(actor, "model.upload" if isinstance(obj, ModelVersion) else "dataset.upload", obj.system)
    if not reason.strip():
        raise ValidationFailed("Say why it is deleted; the reason is kept in the audit trail.", code="reason_required")
    artifact = obj.artifact
    try:
        with transaction.atomic():
            audit_record(verb=verb, target=obj, actor=actor, reason=reason,
                         before={"sha256": artifact.sha256, "name": str(obj)})
            obj.delete()
            orphan = not (artifact.model_versions.exists() or artifact.datasets.exists())
            if orphan:
                key = artifact.storage_key
                artifact.delete()
                if not Artifact.objects.filter(storage_key=key).exists():
                    transaction.on_commit(lambda: storage.delete(key))
    except ProtectedError:
        raise Conflict(f"{obj} is used as evidence elsewhere (a validation run or a submission) and "
                       "cannot be deleted.", code="in_use") from None


def model_version_delete(*, actor: User, version: ModelVersion, reason: str) -> None:
    _delete_registered(actor=actor, obj=version, verb="model_version.deleted", reason=reason)


def dataset_delete(*, actor: User, dataset: Dataset, reason: str) -> None:
    _delete_registered(actor=actor, obj=dataset, verb="dataset.deleted", reason=reason)



def upload_cut_off(*, actor: User, system: AISystem, kind: str, received: int) -> None:
    """The upload handler stopped reading an oversized file: record the refusal and raise."""
    from django.conf import settings

    _require(actor, "model.upload" if kind == "model" else "dataset.upload", system)
    _refuse(actor=actor, system=system, verb=f"{'model_version' if kind == 'model' else 'dataset'}.upload_refused",
            name="(not stored)", code="too_large", size=received,
            message=f"The upload was stopped at {human_size(received)}: the limit is "
                    f"{human_size(settings.MAX_UPLOAD_SIZE)}. Nothing was stored.")
