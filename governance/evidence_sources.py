"""Evidence kept by apps that depend on governance: validation runs.

Runs live in `audits`, which depends on governance and never the other way round (core <-
models_registry <- governance <- audits). So audits registers a *source* at start-up
(`audits/evidence_source.py`, called from `AuditsConfig.ready`) and governance asks it for plain
dicts. Without a source there is no run to pick, and linking one is refused.

A run, as a source returns it::

    {"id": 12, "organisation_id": 1, "system_id": 3, "status": "succeeded", "suite": "standard",
     "model_version": "1.4.0",            # "" for a predictions-only run
     "finished_at": datetime | None,
     "counts": {"pass": 30, "warn": 2, "fail": 1, ...},          # every check of the run
     "families": {"fairness": {"pass": 5, "fail": 1}, ...},       # the same, per check family
     "failed_checks": [{"check_id": "FAIR-01", "name": "...", "family": "fairness"}, ...]}
"""

from __future__ import annotations

from typing import Any, Protocol

from django.utils import formats, timezone

from core.errors import ValidationFailed

SUCCEEDED = "succeeded"


class ValidationRunSource(Protocol):
    def succeeded_runs(self, *, user, system_id: int) -> list[dict[str, Any]]:
        """The system's succeeded runs the user may see, newest first."""

    def run(self, *, user, run_id: int) -> dict[str, Any] | None:
        """One run of the user's organisation, whatever its status; None when there is none."""


_sources: dict[str, ValidationRunSource] = {}


def register_validation_run_source(provider: ValidationRunSource) -> None:
    """Called once from the providing app's AppConfig.ready(); a second call replaces the first."""
    _sources["validation_run"] = provider


def validation_run_choices(*, user, system_id: int) -> list[dict[str, Any]]:
    """The runs that may be linked as evidence for the system's obligations."""
    source = _sources.get("validation_run")
    if source is None:
        return []
    return [run for run in source.succeeded_runs(user=user, system_id=system_id) if run["status"] == SUCCEEDED]


def validation_run_label(run: dict[str, Any]) -> str:
    """#12 · 1.4.0 · standard suite · finished 3 Mar 2026 · 30 pass / 2 warn / 1 fail"""
    finished = run.get("finished_at")
    when = formats.date_format(timezone.localtime(finished), "j M Y") if finished else "not finished"
    counts = run.get("counts") or {}
    return " · ".join(
        (
            f"#{run['id']}",
            run.get("model_version") or "predictions only",
            f"{run['suite']} suite",
            f"finished {when}",
            _counts_text(counts),
        )
    )


def _counts_text(counts: dict[str, int]) -> str:
    return " / ".join(f"{counts.get(status, 0)} {status}" for status in ("pass", "warn", "fail"))


def validation_run_for_evidence(
    *, user, organisation_id: int, system_id: int, run_id: Any, family: str
) -> dict[str, Any]:
    """The run, if it may be evidence for an obligation of `system_id`: it exists in the same
    organisation, belongs to the same system, succeeded and has checks of `family`. Otherwise a
    ValidationFailed that says which of these it is not."""
    source = _sources.get("validation_run")
    if source is None:
        raise ValidationFailed("Validation runs are not available in this portal.", code="no_validation_source")
    try:
        run_id = int(run_id)
    except (TypeError, ValueError):
        raise ValidationFailed(f"“{run_id}” is not a validation run id.", code="invalid_validation_run") from None
    run = source.run(user=user, run_id=run_id)
    if run is None or run["organisation_id"] != organisation_id:
        raise ValidationFailed(
            f"There is no validation run #{run_id} in your organisation.",
            code="unknown_validation_run",
            extra={"run": run_id},
        )
    if run["system_id"] != system_id:
        raise ValidationFailed(
            f"Validation run #{run_id} is of another AI system; link a run of this obligation's system.",
            code="wrong_system",
            extra={"run": run_id},
        )
    if run["status"] != SUCCEEDED or run.get("finished_at") is None:
        raise ValidationFailed(
            f"Validation run #{run_id} is {run['status']}; only a succeeded run can be evidence.",
            code="run_not_succeeded",
            extra={"run": run_id, "status": run["status"]},
        )
    if family not in (run.get("families") or {}):
        raise ValidationFailed(
            f"Validation run #{run_id} has no {family.replace('_', ' ')} checks; it covers "
            + (", ".join(sorted(run.get("families") or {})) or "no checks")
            + ".",
            code="family_not_in_run",
            extra={"run": run_id, "family": family},
        )
    return run


def validation_run_snapshot(run: dict[str, Any], *, family: str) -> dict[str, Any]:
    """What the evidence keeps of the run, as it was when linked."""
    return {
        "run": run["id"],
        "suite": run["suite"],
        "model_version": run.get("model_version") or "",
        "finished_at": run["finished_at"].isoformat(),
        "counts": dict(run.get("counts") or {}),
        "family": family,
        "family_counts": dict((run.get("families") or {}).get(family, {})),
        "families": {name: dict(counts) for name, counts in (run.get("families") or {}).items()},
        "failed_checks": [dict(check) for check in run.get("failed_checks") or []],
    }
