"""The questionnaire: ordered questions, visibility and answer validation.

Answers are a mapping of question id to a JSON value: "yes" / "no" / "unsure" for yes/no
questions, an option code for single-select questions, a list of option codes for multi-select
questions. ``None`` or an absent key means unanswered.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from governance.rules.conditions import CONDITION_LANGUAGE, evaluate, iter_leaves, referenced_questions
from governance.rules.content.high_risk import ANNEX_I_QUESTIONS, ANNEX_III_QUESTIONS, ART_6_3_QUESTIONS
from governance.rules.content.prohibited import PROHIBITED_QUESTIONS
from governance.rules.content.rules import CONTRADICTION_RULES, FLAGS
from governance.rules.content.scope import GPAI_QUESTIONS, ROLE_QUESTIONS, SCOPE_QUESTIONS
from governance.rules.content.transparency import TRANSPARENCY_QUESTIONS
from governance.rules.schema import (
    MULTI,
    SINGLE,
    YES_NO_UNSURE,
    Contradiction,
    InvalidAnswer,
    Question,
    Section,
    ValidationOutcome,
)
from governance.rules.version import RULES_VERSION

SECTIONS: tuple[Section, ...] = (
    Section(
        "scope",
        "Is it in scope?",
        "Whether the system is an AI system at all, and whether one of the Art. 2 exclusions applies.",
    ),
    Section(
        "roles", "Your role", "Your organisation's role for this system, and whether Art. 25 makes you its provider."
    ),
    Section(
        "gpai",
        "General-purpose AI models",
        "Duties of providers of general-purpose AI models, with or without systemic risk (Art. 51-55).",
    ),
    Section(
        "prohibited",
        "Prohibited practices",
        "Each practice banned by Art. 5(1), points (a) to (h), with its exceptions.",
    ),
    Section("annex_i", "Products under EU safety law", "Art. 6(1): AI in products covered by the Annex I legislation."),
    Section("annex_iii", "High-risk uses", "Art. 6(2): the use cases listed in Annex III."),
    Section(
        "art_6_3",
        "Is a listed use still high-risk?",
        "Art. 6(3): the conditions under which an Annex III system is not high-risk.",
    ),
    Section("transparency", "Transparency", "Art. 50 duties to inform people, which apply on top of any other result."),
)

QUESTIONS: tuple[Question, ...] = (
    SCOPE_QUESTIONS
    + ROLE_QUESTIONS
    + GPAI_QUESTIONS
    + PROHIBITED_QUESTIONS
    + ANNEX_I_QUESTIONS
    + ANNEX_III_QUESTIONS
    + ART_6_3_QUESTIONS
    + TRANSPARENCY_QUESTIONS
)

QUESTION_BY_ID: dict[str, Question] = {question.id: question for question in QUESTIONS}


class ContentError(ValueError):
    """The questionnaire content is inconsistent; raised at import so it never ships."""


def _check_content() -> None:
    if len(QUESTION_BY_ID) != len(QUESTIONS):
        raise ContentError("duplicate question ids")
    section_ids = [section.id for section in SECTIONS]
    position = {question.id: index for index, question in enumerate(QUESTIONS)}
    last_section = 0
    for index, question in enumerate(QUESTIONS):
        if question.section not in section_ids:
            raise ContentError(f"{question.id}: unknown section {question.section!r}")
        if section_ids.index(question.section) < last_section:
            raise ContentError(f"{question.id}: sections out of order")
        last_section = section_ids.index(question.section)
        for referenced in referenced_questions(question.visible_if, FLAGS):
            # The UI evaluates visibility top-down, so a question may depend only on earlier ones.
            if position.get(referenced, len(QUESTIONS)) >= index:
                raise ContentError(f"{question.id}: visibility reads later question {referenced!r}")
    for condition in list(FLAGS.values()) + [rule.condition for rule in CONTRADICTION_RULES]:
        for leaf in iter_leaves(condition, FLAGS):
            if leaf["q"] not in QUESTION_BY_ID:
                raise ContentError(f"condition reads unknown question {leaf['q']!r}")


_check_content()


def questionnaire_as_dict() -> dict[str, Any]:
    """The whole questionnaire as JSON-serialisable data for the API and the UI."""
    return {
        "rules_version": RULES_VERSION,
        "answer_format": {
            YES_NO_UNSURE: '"yes" | "no" | "unsure"',
            SINGLE: "one option value (string)",
            MULTI: "a non-empty list of distinct option values; an exclusive option stands alone",
        },
        "unsure_policy": (
            "An 'unsure' answer counts as the answer leading to the stricter result: as 'yes' "
            "where yes widens duties, as 'no' where yes would grant an exception or exclusion. "
            "Each question states this in 'unsure_means'; the rationale says when it was used."
        ),
        "condition_language": CONDITION_LANGUAGE,
        "sections": [section.to_dict() for section in SECTIONS],
        "questions": [question.to_dict() for question in QUESTIONS],
        "flags": copy.deepcopy(FLAGS),
    }


# Questions that were single-select before becoming multi-select: a stored string answer is read
# as a one-item list, so determinations stored before the change keep their meaning.
SINGLE_BECAME_MULTI = frozenset({"annex1_act"})  # since rules 2026.12-1


def _upgrade(question: Question, value: Any) -> Any:
    if question.id in SINGLE_BECAME_MULTI and isinstance(value, str):
        return [value]
    return value


def _answer_error(question: Question, value: Any) -> str | None:
    """Why ``value`` is not a valid answer to ``question``, or None if it is valid."""
    value = _upgrade(question, value)
    allowed = question.allowed_values
    if question.kind in (YES_NO_UNSURE, SINGLE):
        if not isinstance(value, str) or value not in allowed:
            return f"expected one of {list(allowed)}"
        return None
    if not isinstance(value, (list, tuple)) or not value:
        return "expected a non-empty list of option values"
    if any(not isinstance(item, str) or item not in allowed for item in value):
        return f"expected values among {list(allowed)}"
    if len(set(value)) != len(value):
        return "duplicate values"
    exclusive = {option.value for option in question.options if option.exclusive}
    if len(value) > 1 and exclusive.intersection(value):
        return f"{sorted(exclusive.intersection(value))} cannot be combined with other options"
    return None


def _normalise(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _walk(answers: Mapping[str, Any]) -> tuple[list[Question], dict[str, Any], list[InvalidAnswer]]:
    """Visible questions in order, the valid answers to them, and invalid answers."""
    visible: list[Question] = []
    effective: dict[str, Any] = {}
    invalid: list[InvalidAnswer] = []
    for question in QUESTIONS:
        if not evaluate(question.visible_if, effective, FLAGS):
            continue
        visible.append(question)
        value = answers.get(question.id)
        if value is None:
            continue
        error = _answer_error(question, value)
        if error:
            invalid.append(InvalidAnswer(question.id, value, error))
        else:
            effective[question.id] = _normalise(_upgrade(question, value))
    return visible, effective, invalid


def visible_questions(answers: Mapping[str, Any]) -> list[Question]:
    """Questions that still matter given the answers so far, in questionnaire order."""
    return _walk(answers)[0]


def visible_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The valid answers to visible questions: the only answers the engine reads."""
    return _walk(answers)[1]


def find_contradictions(answers: Mapping[str, Any]) -> tuple[Contradiction, ...]:
    """Contradictions among all supplied answers (hidden ones included: a stale answer that
    conflicts with a new one is worth a look)."""
    valid = {
        qid: _normalise(_upgrade(QUESTION_BY_ID[qid], value))
        for qid, value in answers.items()
        if qid in QUESTION_BY_ID and value is not None and _answer_error(QUESTION_BY_ID[qid], value) is None
    }
    return tuple(
        Contradiction(rule.code, rule.question_ids, rule.message)
        for rule in CONTRADICTION_RULES
        if evaluate(rule.condition, valid, FLAGS)
    )


def validate_answers(answers: Mapping[str, Any]) -> ValidationOutcome:
    """Unknown ids, invalid values, missing required visible answers and contradictions.

    ``missing`` lists visible required questions without a *valid* answer, so an invalid
    answer shows up both in ``invalid_answers`` and in ``missing``.
    """
    if not isinstance(answers, Mapping):
        raise TypeError("answers must be a mapping of question id to answer")
    visible, effective, invalid = _walk(answers)
    visible_ids = {question.id for question in visible}
    for qid, value in answers.items():
        # Invalid answers to hidden questions are reported too: the data is wrong either way.
        if qid in QUESTION_BY_ID and qid not in visible_ids and value is not None:
            error = _answer_error(QUESTION_BY_ID[qid], value)
            if error:
                invalid.append(InvalidAnswer(qid, value, error))
    return ValidationOutcome(
        unknown_question_ids=tuple(sorted(qid for qid in answers if qid not in QUESTION_BY_ID)),
        invalid_answers=tuple(invalid),
        missing=tuple(question.id for question in visible if question.required and question.id not in effective),
        contradictions=find_contradictions(answers),
        ignored_hidden=tuple(
            qid
            for qid, value in answers.items()
            if qid in QUESTION_BY_ID and qid not in visible_ids and value is not None
        ),
    )
