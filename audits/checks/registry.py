"""Check registry: every check declares its id, family, suites and requirements in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ALL_TASKS = ("binary", "multiclass", "regression")
CLASSIFICATION = ("binary", "multiclass")
SUITE_NAMES = ("quick", "standard", "full")


@dataclass(frozen=True)
class CheckSpec:
    check_id: str
    family: str
    name: str
    func: Callable
    suites: tuple[str, ...]
    article: str
    recommendation: str
    needs_model: bool = False
    needs_train: bool = False
    needs_proba: bool = False
    needs_sensitive: bool = False
    tasks: tuple[str, ...] = ALL_TASKS


REGISTRY: dict[str, CheckSpec] = {}


def check(
    check_id: str, family: str, name: str, *, suites: str, article: str, recommendation: str, **requirements
) -> Callable:
    """Register a check. `suites` is the first suite it belongs to; every larger suite has it too."""
    first = SUITE_NAMES.index(suites)

    def decorate(func: Callable) -> Callable:
        if check_id in REGISTRY:
            raise ValueError(f"duplicate check id {check_id}")
        REGISTRY[check_id] = CheckSpec(
            check_id, family, name, func, SUITE_NAMES[first:], article, recommendation, **requirements
        )
        return func

    return decorate
