"""Answer builders for the rules tests.

``complete(**answers)`` fills every visible, unanswered question with a neutral default, so a
test names only the answers that matter to it and still gets a complete questionnaire.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from governance.rules import QUESTION_BY_ID, classify, visible_questions
from governance.rules.schema import MULTI, SINGLE, Determination

# A copy of the team's reference on the Act ships in the checkout: tests read nothing outside it.
REFERENCE_FILE = Path(__file__).resolve().parents[3] / "docs" / "reference" / "eu-ai-act.md"

_DEFAULTS: dict[str, Any] = {
    "is_ai_system": "yes",
    "eu_nexus": "yes",
    "roles": ["provider"],
    "deployer_type": "other",
    "annex1_act": ["machinery"],
    "annex3_areas": ["none"],
    "art6_3_conditions": ["none"],
    "rbi_objective": "none",
    # Asked since rules 2026.12-1: an emotion-recognition case at work or school meant workers or
    # pupils before, so a test that does not say otherwise keeps that meaning.
    "art5_f_workers_or_students": "yes",
    # Until rules 2026.12-1 rbi_authorised bundled national law, authorisation, FRIA and registration;
    # the split-out conditions default to met, so rbi_authorised alone keeps deciding old cases.
    "rbi_national_law": "yes",
    "rbi_fria_registration": "yes",
}


def complete(**answers: Any) -> dict[str, Any]:
    """``answers`` plus neutral defaults ("no", "none") for every other visible question."""
    for key in answers:
        assert key in QUESTION_BY_ID, f"unknown question id in test: {key}"
    filled = dict(answers)
    auto: set[str] = set()
    while True:
        pending = [q for q in visible_questions(filled) if q.id not in filled]
        if not pending:
            visible = {q.id for q in visible_questions(filled)}
            # Drop defaults that a later default has hidden again.
            return {k: v for k, v in filled.items() if k not in auto or k in visible}
        for question in pending:
            auto.add(question.id)
            filled[question.id] = _default(question, filled)


def _default(question, filled: dict[str, Any]) -> Any:
    if question.id == "provider_offering":
        # Before rules 2026.12-1 a provider of a GPAI model answered gpai_model_provider and was
        # asked the system questions too: "both" keeps such a case's meaning; otherwise a system.
        return "both" if filled.get("gpai_model_provider") in ("yes", "unsure") else "ai_system"
    if question.id in _DEFAULTS:
        return _DEFAULTS[question.id]
    if question.kind == MULTI:
        return ["none"]
    if question.kind == SINGLE:
        return question.options[-1].value
    return "no"


def classify_complete(**answers: Any) -> Determination:
    determination = classify(complete(**answers))
    assert determination.is_complete, determination.missing
    assert not determination.contradictions, determination.contradictions
    return determination


def area(area_code: str, **answers: Any) -> dict[str, Any]:
    """Answers selecting one Annex III area."""
    return {"annex3_areas": [area_code], **answers}


@cache
def reference_text() -> str:
    return REFERENCE_FILE.read_text(encoding="utf-8")


_REF = re.compile(r"(?<![\w(])(\d{1,3})((?:\((?:\d{1,3}|[a-z]{1,4})\))+)")
_DEF_ROW = re.compile(r"^\|[^|]+\|\s*\((\d{1,3})\)\s*\|", re.M)
_HEAD = re.compile(r"\*\*(?:Art\. )?(\d{1,3}(?:\(\w+\))+)\.?\*\*")
_SUB = re.compile(r"^\s*[-|]\s*(?:\*\*)?\(([a-z]{1,4}|\d{1,2})\)")
_INLINE = re.compile(r"\((i{1,3}|iv|v|[a-h])\) ")
_ANNEX_III = re.compile(r"^(?:- )?\*\*(\d(?:\([a-e]\))?)(?:\*\*|\. )")


@cache
def known_article_refs() -> frozenset[str]:
    """Article references derivable from the reference file, as "5(1)(f)", "50", "3(40)"...

    Sources: literal mentions such as "Art. 5(1)(h)(iii)" (with all their prefixes), the
    definition tables of Art. 3 ("| ... | (40) |"), and points listed under a bold heading such as
    "**Art. 25(1).**" followed by "- (a)".
    """
    text = reference_text()
    found: set[str] = set(re.findall(r"Art\. (\d{1,3})\b", text))
    found.update(re.findall(r"Art(?:icles?|\.) \d{1,3}[–-](\d{1,3})", text))
    for number, path in _REF.findall(text):
        parts = re.findall(r"\([^)]+\)", path)
        for end in range(len(parts) + 1):
            found.add(number + "".join(parts[:end]))
    found.update(f"3({n})" for n in _DEF_ROW.findall(text))
    context: str | None = None
    for line in text.splitlines():
        head = _HEAD.search(line)
        if head:
            context = head.group(1)
        elif line.startswith("#"):
            heading = re.search(r"Art\. (\d{1,3}(?:\(\w+\))*)", line)
            context = heading.group(1) if heading else None
        sub = _SUB.match(line)
        if context and sub:
            found.add(f"{context}({sub.group(1)})")
        literal = _REF.search(line)
        if literal:
            base = "".join(literal.groups())
            found.update(f"{base}({item})" for item in _INLINE.findall(line))
    return frozenset(found)


@cache
def known_annex_refs() -> frozenset[str]:
    """ "Annex III point N(x)" for every point listed in section 3.3, plus Annex I sections."""
    text = reference_text()
    section = text.split("### 3.3", 1)[1].split("### 3.4", 1)[0]
    points = set()
    for line in section.splitlines():
        match = _ANNEX_III.match(line.strip())
        if match:
            points.add(f"Annex III point {match.group(1)}")
    sections = {f"Annex I Section {s}" for s in re.findall(r"Annex I, Section ([AB])", text)}
    return frozenset(points | sections)


def reference_exists(reference: str) -> bool:
    if reference.startswith("Annex"):
        return reference in known_annex_refs()
    assert reference.startswith("Art. "), reference
    return reference.removeprefix("Art. ") in known_article_refs()
