"""The declarative condition language shared by the engine and the UI."""

from __future__ import annotations

import pytest

from governance.rules.conditions import ConditionError, evaluate, referenced_questions

FLAGS = {"adult": {"q": "age", "in": ["18+", "65+"]}, "loop": {"flag": "loop"}}

CASES = {
    "eq matches the raw answer": ({"q": "a", "eq": "yes"}, {"a": "yes"}, True),
    "eq does not match unsure": ({"q": "a", "eq": "yes"}, {"a": "unsure"}, False),
    "in matches any listed value": ({"q": "a", "in": ["yes", "unsure"]}, {"a": "unsure"}, True),
    "an unanswered question matches nothing": ({"q": "a", "in": ["yes", "no"]}, {}, False),
    "contains looks inside a multi-select": ({"q": "m", "contains": "x"}, {"m": ["y", "x"]}, True),
    "contains ignores a plain string": ({"q": "m", "contains": "x"}, {"m": "x"}, False),
    "answered true needs an answer": ({"q": "a", "answered": True}, {}, False),
    "answered false holds when unanswered": ({"q": "a", "answered": False}, {}, True),
    "an empty all holds": ({"all": []}, {}, True),
    "an empty any does not hold": ({"any": []}, {}, False),
    "not negates": ({"not": {"q": "a", "eq": "yes"}}, {}, True),
    "a flag is expanded": ({"flag": "adult"}, {"age": "65+"}, True),
    "no condition always holds": (None, {}, True),
}


@pytest.mark.parametrize("condition, answers, expected", CASES.values(), ids=CASES.keys())
def test_conditions_evaluate_as_documented(condition, answers, expected):
    assert evaluate(condition, answers, FLAGS) is expected


@pytest.mark.parametrize(
    "condition",
    [{"flag": "missing"}, {"flag": "loop"}, {"q": "a"}, {"x": 1}],
    ids=["unknown flag", "flag cycle", "leaf without operator", "unknown node"],
)
def test_malformed_conditions_fail_loudly(condition):
    with pytest.raises(ConditionError):
        evaluate(condition, {"a": "yes"}, FLAGS)


def test_referenced_questions_expands_flags_in_order():
    condition = {"all": [{"q": "b", "eq": "no"}, {"flag": "adult"}, {"q": "b", "eq": "yes"}]}

    assert referenced_questions(condition, FLAGS) == ["b", "age"]
