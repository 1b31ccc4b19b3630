"""Screens: blocks of questions that an ordinary business system answers "no" to, grouped so the
questionnaire can offer one "none of these applies" per block while keeping one answer per
element in the record (legal completeness: each point is still answered, and shown, one by one).

A screen lists its head questions: yes/no questions whose "no" closes their branch (their
follow-ups stay hidden). "None of these" answers "no" to every visible, unanswered head of the
block; a block whose visible heads are all "no" is shown folded, with the list still visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from governance.rules.content.short_forms import SHORT_FORMS
from governance.rules.questionnaire import visible_questions


@dataclass(frozen=True)
class Screen:
    id: str
    section: str
    title: str
    none_label: str
    heads: tuple[str, ...]


SCREENS: tuple[Screen, ...] = (
    Screen(
        "art2_exclusions",
        "scope",
        "Exclusions from the AI Act (Art. 2)",
        "None of these exclusions applies",
        ("military_exclusive", "third_country_authority", "research_only", "pre_market_rd", "personal_use"),
    ),
    Screen(
        "art5_practices",
        "prohibited",
        "Prohibited practices (Art. 5(1)(a)-(h))",
        "None of these practices applies",
        (
            "art5_a_techniques",
            "art5_b_exploits_vulnerability",
            "art5_c_social_scoring",
            "art5_d_crime_prediction",
            "art5_e_facial_database",
            "emotion_recognition",
            "biometric_categorisation",
            "biometric_identification",
        ),
    ),
    Screen(
        "art50_triggers",
        "transparency",
        "Transparency triggers (Art. 50)",
        "None of these applies",
        ("art50_1_interacts", "art50_2_synthetic_content", "art50_4_deep_fake", "art50_4_public_interest_text"),
    ),
)

SCREEN_BY_ID = {screen.id: screen for screen in SCREENS}


@dataclass(frozen=True)
class ScreenState:
    screen: Screen
    visible: tuple[str, ...]  # heads shown for these answers
    unanswered: tuple[str, ...]
    folded: bool  # every visible head is answered "no"

    @property
    def id(self) -> str:
        return self.screen.id

    @property
    def listed(self) -> list[str]:
        """The visible heads' short forms: the list stays visible when the block is folded."""
        return [SHORT_FORMS.get(qid, qid) for qid in self.visible]


def screen_states(answers: Mapping[str, Any]) -> list[ScreenState]:
    """The screens with at least one visible head, in questionnaire order."""
    shown = {question.id for question in visible_questions(answers)}
    states = []
    for screen in SCREENS:
        visible = tuple(qid for qid in screen.heads if qid in shown)
        if not visible:
            continue
        unanswered = tuple(qid for qid in visible if answers.get(qid) in (None, ""))
        folded = all(answers.get(qid) == "no" for qid in visible)
        states.append(ScreenState(screen, visible, unanswered, folded))
    return states


def answer_none_of(screen_id: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """``answers`` with "no" for every visible, unanswered head of the screen; answers already
    given are kept (a "yes" stays a yes). Unknown screen: KeyError."""
    screen = SCREEN_BY_ID[screen_id]
    shown = {question.id for question in visible_questions(answers)}
    updated = dict(answers)
    for qid in screen.heads:
        if qid in shown and updated.get(qid) in (None, ""):
            updated[qid] = "no"
    return updated
