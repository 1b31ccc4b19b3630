"""Turning the rules module's data into what the pages show: the questionnaire grouped by section
with each question's answer and problems, and a plain-language headline for a result.

No business decisions here: visibility, contradictions and outcomes all come from the rules module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.http import QueryDict
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from governance.record_answers import Offer
from governance.rules import (
    QUESTION_BY_ID,
    QUESTIONS,
    RULES_VERSION,
    SECTIONS,
    classify,
    validate_answers,
    visible_questions,
)
from governance.rules.conditions import Condition, evaluate, referenced_questions
from governance.rules.content.rules import ART_5_POINTS, CARVE_OUTS, FLAGS, art_5_flag
from governance.rules.content.short_forms import ART_5_SHORT_NAMES, SHORT_FORMS
from governance.rules.questionnaire import visible_answers
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
    reason: str = ""
    link: str = ""
    note_errors: dict[str, str] = field(default_factory=dict)
    offer: Offer | None = None  # what the system's registry record says (record_answers)
    document: dict | None = None

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


def questionnaire_view(
    answers: Mapping[str, Any],
    *,
    show_missing: bool = False,
    notes: Mapping[str, Mapping[str, str]] | None = None,
    note_errors: Mapping[str, Mapping[str, str]] | None = None,
    offers: Mapping[str, Offer] | None = None,
    documents: Mapping[str, dict] | None = None,
) -> QuestionnaireView:
    """The visible questions, in the rules module's order, grouped by section, each with its
    answer, whether it is missing, the contradictions and invalid values that concern it, its
    reason and evidence link (``notes``) with what was wrong with them (``note_errors``), the
    document attached to it in the saved draft (``documents``) and, while unanswered, the answer
    the system's record offers (``offers``, by question id)."""
    notes, note_errors, offers, documents = notes or {}, note_errors or {}, offers or {}, documents or {}
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
                reason=notes.get(question.id, {}).get("reason", ""),
                link=notes.get(question.id, {}).get("link", ""),
                note_errors=dict(note_errors.get(question.id, {})),
                offer=None if answers.get(question.id) else offers.get(question.id),
                document=documents.get(question.id),
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


def answer_rows(answers: Mapping[str, Any], notes: Mapping[str, Mapping[str, str]] | None = None) -> list[dict]:
    """The stored answers as (question, answer) rows in questionnaire order, for the record, each
    with the reason and evidence link given for it (the link only when it is a web address)."""
    rows, notes = [], notes or {}
    for question in QUESTIONS:
        if question.id in answers:
            note = notes.get(question.id) or {}
            rows.append(
                {
                    "id": question.id,
                    "text": question.text,
                    "short": short_form(question.id),
                    "answer": question.label_for(answers[question.id]),
                    "reason": note.get("reason", ""),
                    "link": safe_link(note.get("link", "")),
                    "unsafe_link": note.get("link", "") if not safe_link(note.get("link", "")) else "",
                    "document": note.get("document") or None,
                }
            )
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


# --- auditability of a determination (issue #14) ------------------------------------------------


def documents_of(notes: Mapping[str, Any] | None) -> dict[str, dict]:
    """The documents attached to answers in stored notes: {question id: reference}."""
    return {
        qid: note["document"]
        for qid, note in (notes or {}).items()
        if isinstance(note, Mapping) and isinstance(note.get("document"), Mapping)
    }


def notes_from_post(data: QueryDict) -> dict[str, dict[str, str]]:
    """The reason and evidence link typed under each question (fields ``reason-<id>`` and
    ``link-<id>``); questions with neither are left out."""
    notes = {}
    for question in QUESTIONS:
        reason, link = data.get(f"reason-{question.id}", ""), data.get(f"link-{question.id}", "")
        if reason.strip() or link.strip():
            notes[question.id] = {"reason": reason, "link": link}
    return notes


def safe_link(link: str) -> str:
    """The link when it is an http(s) web address, else "" (a stored javascript: or data: URL is
    never rendered as a link, whatever the record holds)."""
    parts = urlsplit(link or "")
    return link if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def short_form(question_id: str) -> str:
    question = QUESTION_BY_ID.get(question_id)
    return SHORT_FORMS.get(question_id) or (question.text if question else question_id)


def rationale_steps(steps: Iterable[str]) -> list[SafeString]:
    """Rationale steps with each quoted question ("<full text>") shown by its short form (the
    full text on hover) and the full texts one click away, in a "Full questions" fold after the
    step. Steps that quote no known question (older rules, other wording) are shown as stored."""
    by_text = sorted({q.text: q for q in QUESTIONS}.values(), key=lambda q: len(q.text), reverse=True)
    rendered = []
    for step in steps:
        html, quoted_questions = str(escape(step)), []
        for question in by_text:
            quoted = str(escape(f'"{question.text}"'))
            if quoted in html:
                short = format_html('<q class="q-short" title="{}">{}</q>', question.text, short_form(question.id))
                html = html.replace(quoted, short)
                quoted_questions.append(question)
        if quoted_questions:
            quoted_questions.sort(key=lambda q: html.find(f'title="{escape(q.text)}"'))
            html += format_html(
                ' <details class="q-fulltexts"><summary>Full question{}</summary><ul>{}</ul></details>',
                "s" if len(quoted_questions) > 1 else "",
                format_html_join("", "<li>{}</li>", ((q.text,) for q in quoted_questions)),
            )
        rendered.append(mark_safe(html))  # noqa: S308  built from escaped text and format_html only
    return rendered


def _relied_on(condition: Condition, answers: Mapping[str, Any]) -> list[dict]:
    """The answered questions a condition reads, as (short form, full text, answer) rows."""
    rows = []
    for qid in referenced_questions(condition, FLAGS):
        if qid in answers and qid in QUESTION_BY_ID:
            question = QUESTION_BY_ID[qid]
            rows.append(
                {"id": qid, "short": short_form(qid), "text": question.text, "answer": question.label_for(answers[qid])}
            )
    return rows


ART_5_CONCLUSIONS = {
    "applies": "Applies: prohibited",
    "exception": "Exception: not prohibited",
    "does_not_apply": "Does not apply",
    "not_answered": "Not answered",
}


def art_5_screen(answers: Mapping[str, Any]) -> list[dict]:
    """The negative Art. 5 screen, one row per point (a) to (h): its short name, the answers it
    relies on, and whether it applies, an exception lifts it, or it does not apply. Computed from
    the stored answers with the rules' own flags and carve-outs; empty when the screen was not
    reached (not an AI system, or excluded by Art. 2)."""
    seen = visible_answers(answers)
    if not evaluate(FLAGS["screening"], seen, FLAGS):
        return []
    rows = []
    for point in ART_5_POINTS:
        condition = FLAGS[art_5_flag(point)]
        exceptions = [c for c in CARVE_OUTS if c.reference == f"Art. {point}" and evaluate(c.condition, seen, FLAGS)]
        relied = _relied_on(condition, seen)
        if evaluate(condition, seen, FLAGS):
            conclusion = "applies"
        elif exceptions:
            conclusion = "exception"
        else:
            conclusion = "does_not_apply" if relied else "not_answered"
        rows.append(
            {
                "point": point,
                "letter": point[-3:],
                "name": ART_5_SHORT_NAMES[point],
                "relied_on": relied,
                "conclusion": conclusion,
                "conclusion_text": ART_5_CONCLUSIONS[conclusion],
                "exceptions": [c.message for c in exceptions],
            }
        )
    return rows


def _positive_leaves(condition: Condition | None) -> Iterator[Condition]:
    """The question leaves of a condition outside any "not" (flags expanded): the answers that
    make it hold, not the exceptions that failed to lift it."""
    if condition is None:
        return
    for key in ("all", "any"):
        if key in condition:
            for sub in condition[key]:
                yield from _positive_leaves(sub)
            return
    if "flag" in condition:
        yield from _positive_leaves(FLAGS.get(condition["flag"]))
    elif "q" in condition and "answered" not in condition:
        yield condition


def _answers_quoted(condition: Condition, answers: Mapping[str, Any]) -> str:
    """ "you answered “Yes” to “Talks to people”" for the answers that make ``condition`` hold."""
    quotes: dict[str, str] = {}
    for leaf in _positive_leaves(condition):
        qid = leaf["q"]
        if qid in quotes or qid not in answers or qid not in QUESTION_BY_ID:
            continue
        if evaluate(leaf, answers, FLAGS):
            quotes[qid] = f"“{QUESTION_BY_ID[qid].label_for(answers[qid])}” to “{short_form(qid)}”"
    return "you answered " + ", ".join(quotes.values()) if quotes else ""


_Y = ("yes", "unsure")
_POST_RBI: Condition = {
    "all": [{"flag": "rbi_system"}, {"q": "rbi_real_time", "eq": "no"}, {"q": "rbi_law_enforcement", "in": _Y}]
}
_GPAI_PROVIDER: Condition = {"all": [{"q": "involves_gpai", "in": _Y}, {"q": "gpai_model_provider", "in": _Y}]}
_RBI_EXCEPTION = next((c.condition for c in CARVE_OUTS if c.code == "rbi_authorised_exception"), None)

# Obligation code -> (the condition that derives it, the article it rests on). Codes not listed
# follow from the high-risk route (Art. 6(1) or 6(2)), or fall back to their legal basis text.
_WHY: dict[str, tuple[Condition | None, str]] = {
    "art_4_ai_literacy": (FLAGS.get("ai_system"), "Art. 4"),
    "art_50_1_interaction_disclosure": (FLAGS.get("art50_1"), "Art. 50(1)"),
    "art_50_2_output_marking": (FLAGS.get("art50_2"), "Art. 50(2)"),
    "art_50_3_exposure_notice": (FLAGS.get("art50_3"), "Art. 50(3)"),
    "art_50_4_deep_fake_disclosure": (FLAGS.get("art50_4_deep_fake"), "Art. 50(4)"),
    "art_50_4_text_disclosure": (FLAGS.get("art50_4_public_interest_text"), "Art. 50(4)"),
    "art_5_4_rbi_use_notification": (_RBI_EXCEPTION, "Art. 5(4)"),
    "art_26_10_post_rbi_authorisation": (_POST_RBI, "Art. 26(10)"),
    "art_6_4_assessment_documentation": (FLAGS.get("art_6_3_applies"), "Art. 6(3)"),
    "art_49_2_registration": (FLAGS.get("art_6_3_applies"), "Art. 6(3)"),
    "art_52_1_systemic_risk_notification": (FLAGS.get("gpai_systemic_risk"), "Art. 51(1)"),
    "art_55_1_systemic_risk_obligations": (FLAGS.get("gpai_systemic_risk"), "Art. 51(1)"),
    "art_54_authorised_representative": ({"q": "gpai_third_country", "in": _Y}, "Art. 54"),
}


def _route(result: Mapping[str, Any]) -> tuple[Condition | None, str]:
    """The condition and article of the route that makes the result prohibited or high-risk."""
    if result.get("art_5_points"):
        point = result["art_5_points"][0]
        return FLAGS.get(art_5_flag(point)), f"Art. {point}"
    if result.get("annex_iii_points") and not result.get("annex_i_section"):
        point = result["annex_iii_points"][0]
        return FLAGS.get("annex3_" + point.replace("(", "").replace(")", "")), f"Annex III point {point} (Art. 6(2))"
    if result.get("annex_i_section"):
        return FLAGS.get("annex_i_high_risk"), f"Annex I Section {result['annex_i_section']} (Art. 6(1))"
    return None, ""


def obligation_why(
    *, code: str, article: str, result: Mapping[str, Any], answers: Mapping[str, Any], role: str = ""
) -> str:
    """One line saying why an obligation applies: the article and the answer(s) it rests on, e.g.
    "Applies because of Art. 50(1): you answered “Yes” to “Talks to people”". Without a clean
    derivation: the article and the text of its legal basis."""
    seen = visible_answers(answers)
    condition, basis = _WHY.get(code, (None, ""))
    if not basis and code.startswith("art_53_"):
        condition, basis = _GPAI_PROVIDER, "Art. 53(1)"
    if not basis:
        condition, basis = _route(result)
    quoted = _answers_quoted(condition, seen) if condition else ""
    if quoted:
        line = f"Applies because of {basis}: {quoted}"
        switches = result.get("role_switches") or ()
        if switches and role == "provider" and code not in _WHY and not code.startswith("art_53_"):
            line += f"; {', '.join(switches)} makes you the provider"
        return line + "."
    texts = [b.get("text", "") for b in result.get("legal_bases", []) if b.get("article") == article and b.get("text")]
    return f"{article}: {texts[0]}" if texts else f"Applies under {article}."


# --- "unsure" answers: a result that needs review (issue #14 defect 7) --------------------------------

OPEN_POINT_QUESTION_CHARS = 120
OPEN_POINT_EFFECT_CHARS = 240
NEEDS_REVIEW = "Needs review (provisional)"
_GENERIC_EFFECT = (
    "The stricter reading was assumed wherever the rules use this answer; no step of the result quotes it."
)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut}…"


def _effects(question: Question, rationale: list[str]) -> list[str]:
    """What the stricter reading changed: the conclusion of each rationale step that quotes the
    question as answered "unsure" (the rules write `"<question>" (treated as "…", the stricter reading)`)."""
    quoted = [f'"{form}" (treated as' for form in (question.text, SHORT_FORMS.get(question.id, "")) if form]
    effects = []
    for step in rationale:
        if any(marker in step for marker in quoted):
            conclusion = step.rsplit(" → ", 1)[-1]
            line = _shorten(conclusion, OPEN_POINT_EFFECT_CHARS)
            if line not in effects:
                effects.append(line)
    return effects


def _basis_refs(result: Mapping[str, Any]) -> list[str]:
    return [basis.get("annex") or basis.get("article") or "" for basis in result.get("legal_bases", [])]


def _other_reading(question: Question, answers: Mapping[str, Any] | None, result: Mapping[str, Any]) -> str:
    """What the result would be with this one answer given the other way (the same rules on the
    same answers otherwise), and the legal bases only the stricter reading cites. Empty when the
    answers are not given, the result is another rules version's, or nothing differs."""
    if not answers or question.unsure_means not in ("yes", "no") or result.get("rules_version") != RULES_VERSION:
        return ""
    other = "no" if question.unsure_means == "yes" else "yes"
    alternative = classify({**answers, question.id: other}).to_dict()
    parts = []
    lenient = outcome_headline(alternative["outcome"], alternative)
    if lenient != outcome_headline(str(result.get("outcome", "")), result):
        opened = len(alternative.get("missing", [])) - len(result.get("missing", []))
        then = f", pending the {opened} further question(s) that answer opens" if opened > 0 else ""
        parts.append(f'answered "{question.label_for(other)}", the result would be: {lenient}{then}')
    cited_by_both = set(_basis_refs(alternative))
    only_stricter = [ref for ref in _basis_refs(result) if ref and ref not in cited_by_both]
    if only_stricter:
        parts.append(f"only the stricter reading cites {', '.join(only_stricter)}")
    line = "; ".join(parts)
    return line[:1].upper() + line[1:]


def open_points(
    result: Mapping[str, Any],
    justifications: Mapping[str, str] | None = None,
    answers: Mapping[str, Any] | None = None,
) -> list[dict]:
    """One open point per "unsure" answer the result relied on: the question (short and full
    text), the stricter reading assumed (the rules' `unsure_means`), what that reading changed
    (the rationale steps that quote it, or a generic line; with the ``answers``, also what the
    other answer would give) and the approver's justification, if any."""
    justifications = justifications or {}
    rationale = [str(step) for step in result.get("rationale", [])]
    points = []
    for qid in result.get("unsure_answers", []) or []:
        question = QUESTION_BY_ID.get(qid)
        if question is None:  # a question this rules version no longer has: keep the point visible
            points.append(
                {
                    "id": qid,
                    "question": qid,
                    "question_full": qid,
                    "assumed": "the stricter reading",
                    "effects": [_GENERIC_EFFECT],
                    "other_reading": "",
                    "justification": justifications.get(qid, ""),
                }
            )
            continue
        short = SHORT_FORMS.get(qid) or _shorten(question.text, OPEN_POINT_QUESTION_CHARS)
        assumed = f'"{question.label_for(question.unsure_means)}"' if question.unsure_means else "the stricter reading"
        points.append(
            {
                "id": qid,
                "question": short,
                "question_full": question.text,
                "assumed": assumed,
                "effects": _effects(question, rationale) or [_GENERIC_EFFECT],
                "other_reading": _other_reading(question, answers, result),
                "justification": justifications.get(qid, ""),
            }
        )
    return points


def needs_unsure_review(result: Mapping[str, Any], justifications: Mapping[str, str] | None = None) -> bool:
    """True while an "unsure" answer the result relied on has neither been resolved (a new
    submission with a definite answer) nor justified by the approver: the result is provisional."""
    justifications = justifications or {}
    return any(not str(justifications.get(qid, "")).strip() for qid in result.get("unsure_answers", []) or [])


def review_headline(headline: str, result: Mapping[str, Any]) -> str:
    """The headline of a result that rests on open "unsure" answers: never a verdict, the stricter
    result only as what to prepare for."""
    count = len(result.get("unsure_answers", []) or [])
    points = f"{count} unsure answer{'s' if count != 1 else ''} open"
    return f"{NEEDS_REVIEW}: {points}; read the stricter way, the result would be: {headline}"
