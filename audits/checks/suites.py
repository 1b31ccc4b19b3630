"""The three suites. Membership is declared on each check (`@check(..., suites="standard")`:
the first suite that runs it; larger suites include smaller ones):

- quick:    core performance, output contract, data review basics (no bootstrap CIs).
- standard: + robustness, edge cases, fairness, calibration, train-test gap, CIs.
- full:     + SHAP, local explanations, mitigation suggestion, membership inference, weak slices.
"""

from __future__ import annotations

# Importing the family modules registers their checks.
from . import data_quality, edge_cases, explainability, fairness, performance, robustness, security  # noqa: F401
from .registry import REGISTRY, SUITE_NAMES, CheckSpec

FAMILY_ORDER = ("data_quality", "performance", "edge_cases", "robustness", "fairness", "explainability", "security")
WITH_CI = {"quick": False, "standard": True, "full": True}


def checks_for_suite(suite: str) -> list[CheckSpec]:
    if suite not in SUITE_NAMES:
        raise ValueError(f"unknown suite {suite!r}; choose one of {SUITE_NAMES}")
    specs = [s for s in REGISTRY.values() if suite in s.suites]
    return sorted(specs, key=lambda s: (FAMILY_ORDER.index(s.family), s.check_id))


def catalogue() -> list[dict]:
    """Registered checks as plain dicts (for documentation and the portal's check picker)."""
    return [
        {
            "check_id": s.check_id,
            "family": s.family,
            "name": s.name,
            "suites": list(s.suites),
            "needs_model": s.needs_model,
            "needs_train": s.needs_train,
            "needs_proba": s.needs_proba,
            "needs_sensitive": s.needs_sensitive,
            "tasks": list(s.tasks),
            "eu_ai_act_article": s.article,
        }
        for s in sorted(REGISTRY.values(), key=lambda s: s.check_id)
    ]
