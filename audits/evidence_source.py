"""The audits side of validation-run evidence. Governance may not import audits, so this module
registers a source with `governance.evidence_sources` (from AuditsConfig.ready) and answers its
questions with plain dicts; governance decides what may be linked."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from audits.choices import CheckStatus, RunStatus
from audits.models import CheckResultRecord, ValidationRun

# The picker offers the newest runs; an older one can still be linked by id through the API.
CHOICES_LIMIT = 100


def _runs(user):
    return ValidationRun.objects.restrict(user, "validation.view").select_related("model_version")


def _families(run_ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    """{run id: {family: {status: count}}} for many runs in one query."""
    rows = (
        CheckResultRecord.objects.filter(run_id__in=run_ids)
        .order_by()
        .values_list("run_id", "family", "status")
        .annotate(n=Count("id"))
    )
    result: dict[int, dict[str, dict[str, int]]] = {}
    for run_id, family, status, n in rows:
        result.setdefault(run_id, {}).setdefault(family, {})[status] = n
    return result


def _failed_checks(run_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """{run id: [{check_id, name, family}]} of the failed checks, for many runs in one query."""
    rows = (
        CheckResultRecord.objects.filter(run_id__in=run_ids, status=CheckStatus.FAIL)
        .order_by("run_id", "check_id")
        .values_list("run_id", "check_id", "name", "family")
    )
    result: dict[int, list[dict[str, str]]] = {}
    for run_id, check_id, name, family in rows:
        result.setdefault(run_id, []).append({"check_id": check_id, "name": name, "family": family})
    return result


def _as_dict(
    run: ValidationRun, families: dict[str, dict[str, int]], failed: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for by_status in families.values():
        for status, n in by_status.items():
            counts[status] = counts.get(status, 0) + n
    return {
        "id": run.pk,
        "organisation_id": run.organisation_id,
        "system_id": run.system_id,
        "status": run.status,
        "suite": run.suite,
        "model_version": run.model_version.version_label if run.model_version_id else "",
        "finished_at": run.finished_at,
        "counts": counts,
        "families": families,
        "failed_checks": failed or [],
    }


class ValidationRunEvidenceSource:
    def succeeded_runs(self, *, user, system_id: int) -> list[dict[str, Any]]:
        runs = list(
            _runs(user)
            .filter(system_id=system_id, status=RunStatus.SUCCEEDED)
            .order_by("-finished_at", "-id")[:CHOICES_LIMIT]
        )
        ids = [run.pk for run in runs]
        families, failed = _families(ids), _failed_checks(ids)
        return [_as_dict(run, families.get(run.pk, {}), failed.get(run.pk)) for run in runs]

    def run(self, *, user, run_id: int) -> dict[str, Any] | None:
        run = _runs(user).filter(pk=run_id).first()
        if run is None:
            return None
        return _as_dict(run, _families([run.pk]).get(run.pk, {}), _failed_checks([run.pk]).get(run.pk))


def register() -> None:
    from governance.evidence_sources import register_validation_run_source

    register_validation_run_source(ValidationRunEvidenceSource())
