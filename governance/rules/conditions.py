"""Declarative conditions: the small language used for visibility, rules and contradictions.

A condition is plain JSON so the API can expose it and the browser can evaluate it:

    {"q": "<question id>", "eq": <value>}          the raw answer equals value
    {"q": "<question id>", "in": [<values>]}       the raw answer is one of values
    {"q": "<question id>", "contains": <value>}    a multi-select answer includes value
    {"q": "<question id>", "answered": true}       the question has an answer
    {"all": [<condition>, ...]}                    every sub-condition holds (empty: true)
    {"any": [<condition>, ...]}                    at least one holds (empty: false)
    {"not": <condition>}                           negation
    {"flag": "<flag name>"}                        a named condition from FLAGS

Conditions are evaluated on *raw* answers. How "unsure" counts is written into each condition
explicitly, with the helpers below: ``y(q)`` (yes or unsure: unsure leads to the stricter path)
and ``yes(q)`` (an explicit yes only: used for exceptions and exclusions, where unsure must not
relieve anyone of a duty). A test checks that every condition agrees with the question's
declared ``unsure_means``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Condition = dict[str, Any]

_LEAF_OPERATORS = ("eq", "in", "contains", "answered")

# Shipped with the questionnaire export so the browser can implement the same evaluator.
CONDITION_LANGUAGE: dict[str, str] = {
    "q+eq": "the raw answer to question q equals the value",
    "q+in": "the raw answer to question q is one of the values",
    "q+contains": "the multi-select answer to question q includes the value",
    "q+answered": "question q has (true) or has not (false) been answered",
    "all": "every sub-condition holds (an empty list holds)",
    "any": "at least one sub-condition holds (an empty list does not)",
    "not": "the sub-condition does not hold",
    "flag": "the named condition in 'flags' holds",
    "answers": "only answers to visible questions count; evaluate questions top-down",
}


class ConditionError(ValueError):
    """A condition is malformed or names an unknown flag."""


def y(question_id: str) -> Condition:
    """Yes, or unsure treated as yes (the stricter reading)."""
    return {"q": question_id, "in": ["yes", "unsure"]}


def yes(question_id: str) -> Condition:
    """An explicit yes only; unsure does not count."""
    return {"q": question_id, "eq": "yes"}


def no(question_id: str) -> Condition:
    """An explicit no only."""
    return {"q": question_id, "eq": "no"}


def is_(question_id: str, value: str) -> Condition:
    return {"q": question_id, "eq": value}


def has(question_id: str, value: str) -> Condition:
    return {"q": question_id, "contains": value}


def all_(*conditions: Condition) -> Condition:
    return {"all": list(conditions)}


def any_(*conditions: Condition) -> Condition:
    return {"any": list(conditions)}


def not_(condition: Condition) -> Condition:
    return {"not": condition}


def flag(name: str) -> Condition:
    return {"flag": name}


def evaluate(
    condition: Condition | None,
    answers: Mapping[str, Any],
    flags: Mapping[str, Condition],
    _stack: tuple[str, ...] = (),
) -> bool:
    """Evaluate ``condition`` against raw ``answers``; ``None`` means always true."""
    if condition is None:
        return True
    if "all" in condition:
        return all(evaluate(c, answers, flags, _stack) for c in condition["all"])
    if "any" in condition:
        return any(evaluate(c, answers, flags, _stack) for c in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], answers, flags, _stack)
    if "flag" in condition:
        name = condition["flag"]
        if name not in flags:
            raise ConditionError(f"unknown flag {name!r}")
        if name in _stack:
            raise ConditionError(f"flag cycle: {' -> '.join(_stack + (name,))}")
        return evaluate(flags[name], answers, flags, _stack + (name,))
    if "q" in condition:
        return _evaluate_leaf(condition, answers)
    raise ConditionError(f"malformed condition: {condition!r}")


def _evaluate_leaf(condition: Condition, answers: Mapping[str, Any]) -> bool:
    value = answers.get(condition["q"])
    if "answered" in condition:
        return (value is not None) == bool(condition["answered"])
    if value is None:
        return False
    if "eq" in condition:
        return value == condition["eq"]
    if "in" in condition:
        return isinstance(value, str) and value in condition["in"]
    if "contains" in condition:
        return isinstance(value, list) and condition["contains"] in value
    raise ConditionError(f"leaf without operator: {condition!r}")


def iter_leaves(
    condition: Condition | None,
    flags: Mapping[str, Condition] | None = None,
    _seen: frozenset[str] = frozenset(),
) -> Iterator[Condition]:
    """Yield every question leaf; with ``flags`` given, named flags are expanded."""
    if condition is None:
        return
    for key in ("all", "any"):
        if key in condition:
            for sub in condition[key]:
                yield from iter_leaves(sub, flags, _seen)
            return
    if "not" in condition:
        yield from iter_leaves(condition["not"], flags, _seen)
    elif "flag" in condition:
        name = condition["flag"]
        if flags is not None and name not in _seen:
            yield from iter_leaves(flags[name], flags, _seen | {name})
    elif "q" in condition:
        if not any(op in condition for op in _LEAF_OPERATORS):
            raise ConditionError(f"leaf without operator: {condition!r}")
        yield condition
    else:
        raise ConditionError(f"malformed condition: {condition!r}")


def referenced_questions(condition: Condition | None, flags: Mapping[str, Condition] | None = None) -> list[str]:
    """Question ids a condition reads, in first-seen order, without duplicates."""
    seen: dict[str, None] = {}
    for leaf in iter_leaves(condition, flags):
        seen.setdefault(leaf["q"], None)
    return list(seen)


def referenced_flags(condition: Condition | None) -> list[str]:
    """Flag names a condition uses directly (not expanded)."""
    if condition is None:
        return []
    for key in ("all", "any"):
        if key in condition:
            return [name for sub in condition[key] for name in referenced_flags(sub)]
    if "not" in condition:
        return referenced_flags(condition["not"])
    if "flag" in condition:
        return [condition["flag"]]
    return []
