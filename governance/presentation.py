"""Turning the rules module's data into what the pages show: the questionnaire grouped by section
with each question's answer and problems, and a plain-language headline for a result.

No business decisions here: visibility, contradictions and outcomes all come from the rules module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from governance.rules import QUESTION_BY_ID, QUESTIONS, SECTIONS, validate_answers, visible_questions
from governance.rules.schema import MULTI, Question


def answers_from_post(data: QueryDict) -> dict[str, Any]:
    """The answers in a submitted questionnaire form: one field per question id, lists for
    multi-select questions; blank fields are unanswered."""
    answers: dict[str, Any] = {}
    for question in QUESTIONS:
        if question.kind == MULTI:
            values = [value for value in data.getlist(question.id) if value]
            if values:
                answers[question.id] = values
        else:
            value = data.get(question.id, "")
            if value:
                answers[question.id] = value
    return answers


@dataclass
class QuestionView:
    question: Question
    value: Any
    number: int
    missing: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def options(self) -> list[dict]:
        """Options with a `checked` flag, in the question's order."""
        chosen = self.value if isinstance(self.value, list) else [self.value]
        return [{**option, "checked": option["value"] in chosen} for option in self.question.to_dict()["options"]]

    @property
    def is_multi(self) -> bool:
        return self.question.kind == MULTI


@dataclass
class SectionView:
    id: str
    title: str
    description: str
    questions: list[QuestionView]


@dataclass
class QuestionnaireView:
    sections: list[SectionView]
    contradictions: list[dict]
    missing_count: int
    answered_count: int
    visible_count: int

    @property
    def is_complete(self) -> bool:
        return self.missing_count == 0


def questionnaire_view(answers: Mapping[str, Any], *, show_missing: bool = False) -> QuestionnaireView:
    """The visible questions, in the rules module's order, grouped by section, each with its
    answer, whether it is missing, and the contradictions and invalid values that concern it."""
    validation = validate_answers(answers)
    problems: dict[str, list[str]] = {}
    for item in validation.contradictions:
        for qid in item.question_ids:
            problems.setdefault(qid, []).append(item.message)
    for item in validation.invalid_answers:
        problems.setdefault(item.question_id, []).append(f"Not a valid answer: {item.message}.")
    missing = set(validation.missing)
    by_section: dict[str, list[QuestionView]] = {}
    visible = visible_questions(answers)
    for number, question in enumerate(visible, start=1):
        by_section.setdefault(question.section, []).append(
            QuestionView(
                question=question,
                value=answers.get(question.id),
                number=number,
                missing=show_missing and question.id in missing,
                problems=problems.get(question.id, []),
            )
        )
    sections = [SectionView(s.id, s.title, s.description, by_section[s.id]) for s in SECTIONS if s.id in by_section]
    return QuestionnaireView(
        sections=sections,
        contradictions=[item.to_dict() for item in validation.contradictions],
        missing_count=len(missing),
        answered_count=len(visible) - len(missing),
        visible_count=len(visible),
    )


def answer_rows(answers: Mapping[str, Any]) -> list[dict]:
    """The stored answers as (question, answer) rows in questionnaire order, for the record."""
    rows = []
    for question in QUESTIONS:
        if question.id in answers:
            rows.append({"id": question.id, "text": question.text, "answer": question.label_for(answers[question.id])})
    unknown = [qid for qid in answers if qid not in QUESTION_BY_ID]
    rows += [{"id": qid, "text": qid, "answer": str(answers[qid])} for qid in unknown]
    return rows


_ART_6_3_DUTIES = "document the assessment (Art. 6(4)) and register the system (Art. 49(2))"


def outcome_headline(outcome: str, result: Mapping[str, Any]) -> str:
    """One line in plain language, e.g. "High-risk via Annex III point 5(b) (Art. 6(2))"."""
    if outcome == "prohibited":
        points = ", ".join(f"Art. {point}" for point in result.get("art_5_points", []))
        return f"Prohibited practice under {points}" if points else "Prohibited practice (Art. 5)"
    if outcome == "high_risk_annex_i":
        section = result.get("annex_i_section") or "A"
        return f"High-risk via Annex I Section {section} (Art. 6(1))"
    if outcome == "high_risk_annex_iii":
        points = ", ".join(result.get("annex_iii_points", []))
        return (
            f"High-risk via Annex III point {points} (Art. 6(2))" if points else "High-risk via Annex III (Art. 6(2))"
        )
    if outcome == "not_high_risk_art_6_3":
        letter = result.get("art_6_3_condition") or ""
        return f"Not high-risk under Art. 6(3){letter}; you must still {_ART_6_3_DUTIES}"
    if outcome == "out_of_scope":
        excluded = result.get("excluded_by")
        if result.get("gpai"):  # only Art. 2(12) lets the GPAI model regime survive
            return f"System out of scope ({excluded or 'Art. 2'}); {'; '.join(regime_lines(result))}"
        return f"Out of scope ({excluded})" if excluded else "Out of scope of the AI Act"
    if outcome == "not_ai_system":
        return "Not an AI system (Art. 3(1)); the AI Act does not apply"
    regimes = regime_lines(result)
    return "; ".join(regimes) if regimes else _MINIMAL


_MINIMAL = "Minimal risk: no specific AI Act duties beyond AI literacy (Art. 4)"


def regime_lines(result: Mapping[str, Any]) -> list[str]:
    """The regimes that apply when no Art. 5 or Art. 6 route does: Art. 50 transparency (with its
    paragraphs) and the GPAI model regime (with the Art. 51(1) point relied on); empty = minimal."""
    lines = []
    paragraphs = result.get("transparency") or []
    if paragraphs:
        lines.append(f"Transparency obligations ({', '.join(f'Art. {p}' for p in paragraphs)})")
    if result.get("gpai") == "gpai_systemic_risk":
        cited = {basis.get("article") for basis in result.get("legal_bases", [])}
        points = [ref for ref in ("Art. 51(1)(a)", "Art. 51(1)(b)") if ref in cited] or ["Art. 51(1)"]
        lines.append(f"General-purpose AI model with systemic risk ({', '.join(points)}, Art. 53, Art. 55)")
    elif result.get("gpai") == "gpai":
        lines.append("General-purpose AI model (Art. 53)")
    return lines


def overlay_lines(result: Mapping[str, Any]) -> list[str]:
    """Duties that apply on top of the outcome: transparency (Art. 50) and GPAI models."""
    lines = [f"Transparency duties under Art. {paragraph}" for paragraph in result.get("transparency", [])]
    if result.get("gpai") == "gpai_systemic_risk":
        lines.append("Provider of a general-purpose AI model with systemic risk (Art. 51, 53, 55)")
    elif result.get("gpai") == "gpai":
        lines.append("Provider of a general-purpose AI model without systemic risk (Art. 53)")
    lines += [f"Role switch: {switch} makes you the provider" for switch in result.get("role_switches", [])]
    return lines
