"""Django-free validation checks: take a model (or predictions), data and a policy, return
`CheckResult`s an auditor can rely on.

    from audits.checks import Policy, ValidationContext, run_suite
    ctx = ValidationContext(task="binary", model=model, train=train, test=test, target="income",
                            sensitive=["sex", "race"], policy=Policy.from_overrides({...}), seed=0)
    results = run_suite(ctx, "standard", progress=..., should_cancel=...)
"""

from .base import CheckResult, ChecksError, ModelCallError, ValidationContext
from .policy import POLICY_VERSION, Policy, PolicyError
from .runner import Cancelled, reproducibility, run_suite
from .suites import catalogue, checks_for_suite

__all__ = [
    "CheckResult",
    "ChecksError",
    "ModelCallError",
    "ValidationContext",
    "POLICY_VERSION",
    "Policy",
    "PolicyError",
    "Cancelled",
    "reproducibility",
    "run_suite",
    "catalogue",
    "checks_for_suite",
]
