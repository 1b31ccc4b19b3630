"""Run a suite of checks over a ValidationContext.

The runner is the task boundary of the library: a check that raises never takes the run down.
A model exception becomes a `fail` finding (the model crashed: that is evidence); any other
exception becomes `not_evaluable` with the technical text in `error` (our check crashed).
"""

from __future__ import annotations

import hashlib
import platform
import time
import traceback
from collections.abc import Callable

import pandas as pd

from .base import CheckResult, ChecksError, ModelCallError, Outcome, RunOptions, ValidationContext, make_finding
from .policy import POLICY_VERSION
from .registry import CheckSpec
from .suites import WITH_CI, checks_for_suite

ProgressFn = Callable[[int, int, str], None]
DEFAULT_SEVERITY = {"fail": "high", "warn": "medium", "pass": "info", "info": "info", "not_evaluable": "info"}


class Cancelled(ChecksError):
    """should_cancel() returned true; `results` holds the checks finished before the stop."""

    def __init__(self, results: list[CheckResult]):
        self.results = results
        super().__init__(f"validation run cancelled after {len(results)} checks")


def run_suite(
    ctx: ValidationContext,
    suite: str,
    *,
    progress: ProgressFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run every check of `suite` in a fixed order and return one result per check.
    `on_result` sees each result as soon as its check finishes (the worker streams them out)."""
    specs = checks_for_suite(suite)
    run = RunOptions(suite=suite, with_ci=WITH_CI[suite])
    results: list[CheckResult] = []
    for i, spec in enumerate(specs):
        if should_cancel is not None and should_cancel():
            raise Cancelled(results)
        if progress is not None:
            progress(i, len(specs), spec.name)
        results.append(run_check(ctx, spec, run))
        if on_result is not None:
            on_result(results[-1])
    if progress is not None:
        progress(len(specs), len(specs), "")
    return results


def run_check(ctx: ValidationContext, spec: CheckSpec, run: RunOptions) -> CheckResult:
    start = time.perf_counter()
    error = None
    reason = _skip_reason(ctx, spec)
    try:
        outcome = Outcome(status="not_evaluable", summary=reason) if reason else spec.func(ctx, run)
    except ModelCallError as exc:
        outcome = _model_crash(exc)
    except Exception as exc:  # task boundary: a buggy check must not stop the other checks
        error = "".join(traceback.format_exception(exc))[-4000:]
        outcome = Outcome(
            status="not_evaluable", summary=f"The check could not be completed: {type(exc).__name__}: {exc}"
        )
    return _to_result(spec, outcome, time.perf_counter() - start, error)


def _skip_reason(ctx: ValidationContext, spec: CheckSpec) -> str | None:
    if ctx.task not in spec.tasks:
        return f"Applies to {', '.join(spec.tasks)} tasks only (this is {ctx.task})."
    if spec.needs_model and not ctx.has_model:
        return "Needs a model to call; this is a predictions-only run."
    if spec.needs_train and ctx.train is None:
        return "Needs the training data, which was not provided."
    if spec.needs_proba and not ctx.has_proba:
        return "Needs predicted probabilities, which the model or dataset does not provide."
    if spec.needs_sensitive and not ctx.sensitive:
        return "Needs at least one sensitive attribute; none was declared."
    return None


def _model_crash(exc: ModelCallError) -> Outcome:
    return Outcome(
        status="fail",
        severity="critical",
        title="The model crashed",
        summary=f"The model raised {exc.exc_type} when called with {exc.n_rows} rows: {exc.exc_text}",
        evidence={"method": exc.method, "exception": exc.exc_type, "message": exc.exc_text},
        recommendation="Fix the model or its serving wrapper so that it accepts every input the "
        "intended use can produce, or rejects it with a documented error.",
    )


def _to_result(spec: CheckSpec, o: Outcome, duration: float, error: str | None) -> CheckResult:
    finding = None
    if o.status in ("warn", "fail"):
        finding = make_finding(
            title=o.title or f"{spec.name}: {o.status}",
            description=o.summary,
            affected=o.affected,
            evidence=o.evidence if o.evidence is not None else o.value,
            recommendation=o.recommendation or spec.recommendation,
            article=spec.article,
        )
    return CheckResult(
        check_id=spec.check_id,
        family=spec.family,
        name=spec.name,
        status=o.status,
        severity=o.severity or DEFAULT_SEVERITY[o.status],
        value=o.value,
        threshold=o.threshold,
        ci=o.ci,
        summary=o.summary,
        details=o.details,
        charts=o.charts,
        finding=finding,
        duration_s=round(duration, 4),
        error=error,
    )


def reproducibility(ctx: ValidationContext, suite: str) -> dict:
    """What an auditor needs to re-run the suite and get the same results."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for pkg in ("numpy", "pandas", "scipy", "scikit-learn", "shap", "fairlearn", "plotly"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "suite": suite,
        "seed": ctx.seed,
        "policy_version": POLICY_VERSION,
        "policy_fingerprint": ctx.policy.fingerprint(),
        "policy": ctx.policy.to_dict(),
        "library_versions": versions,
        "task": ctx.task,
        "target": ctx.target,
        "features": list(ctx.features),
        "sensitive": list(ctx.sensitive),
        "model": None if ctx.model is None else type(ctx.model).__name__,
        "data": {s: _fingerprint(df) for s, df in (("train", ctx.train), ("test", ctx.test)) if df is not None},
        "checks": [s.check_id for s in checks_for_suite(suite)],
    }


def _fingerprint(df: pd.DataFrame) -> dict:
    h = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return {"rows": len(df), "columns": list(map(str, df.columns)), "sha256": hashlib.sha256(h.tobytes()).hexdigest()}
