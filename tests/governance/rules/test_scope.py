"""Art. 3(1) and the Art. 2 exclusions, including the limits of the open-source exclusion."""

from __future__ import annotations

import pytest

from governance.rules import Outcome, classify, derive_obligations, visible_questions
from tests.governance.rules.helpers import area, classify_complete, complete


def test_a_rules_engine_written_by_people_is_not_an_ai_system():
    determination = classify_complete(is_ai_system="no")

    assert determination.outcome is Outcome.NOT_AI_SYSTEM
    assert determination.risk_tier == "out_of_scope"
    assert derive_obligations(determination) == []


def test_unsure_whether_it_is_an_ai_system_counts_as_an_ai_system():
    determination = classify_complete(is_ai_system="unsure")

    assert determination.outcome is Outcome.MINIMAL_RISK
    assert "is_ai_system" in determination.unsure_answers


def test_an_unanswered_questionnaire_cannot_be_classified_yet():
    determination = classify({})

    assert not determination.is_complete
    assert determination.missing == ("is_ai_system", "involves_gpai")
    assert any("not answered yet" in step for step in determination.rationale)


EXCLUSIONS = {
    "a system with no link to the EU is out of scope under Art. 2(1)": (dict(eu_nexus="no"), "Art. 2(1)"),
    "a weapons-targeting system used only by the army is out of scope under Art. 2(3)": (
        dict(military_exclusive="yes", military_civilian_use="no"),
        "Art. 2(3)",
    ),
    "a third-country police force under a cooperation agreement is out of scope under Art. 2(4)": (
        dict(third_country_authority="yes"),
        "Art. 2(4)",
    ),
    "a model built only for a scientific study is out of scope under Art. 2(6)": (
        dict(research_only="yes"),
        "Art. 2(6)",
    ),
    "a prototype still in the lab is out of scope under Art. 2(8)": (dict(pre_market_rd="yes"), "Art. 2(8)"),
    "a hobbyist using AI at home is out of scope under Art. 2(10)": (dict(personal_use="yes"), "Art. 2(10)"),
    "an open-source minimal-risk library is out of scope under Art. 2(12)": (
        dict(open_source_licence="yes"),
        "Art. 2(12)",
    ),
}


@pytest.mark.parametrize("answers, reference", EXCLUSIONS.values(), ids=EXCLUSIONS.keys())
def test_each_art_2_exclusion_puts_the_system_out_of_scope(answers, reference):
    determination = classify_complete(**answers)

    assert determination.outcome is Outcome.OUT_OF_SCOPE
    assert determination.excluded_by == reference
    assert determination.risk_tier == "out_of_scope"
    assert any(basis.article == reference for basis in determination.legal_bases)
    assert derive_obligations(determination) == []


EXCLUSION_NEAR_MISSES = {
    "unsure about an EU link keeps the system in scope": dict(eu_nexus="unsure"),
    "a dual-use system also sold to civilians is in scope": dict(
        military_exclusive="yes", military_civilian_use="unsure"
    ),
    "unsure about exclusive military use keeps the system in scope": dict(military_exclusive="unsure"),
    "a third-country authority unsure about safeguards stays in scope": dict(third_country_authority="unsure"),
    "a research spin-off product is in scope": dict(research_only="no"),
    "testing in real-world conditions is in scope": dict(pre_market_rd="no"),
    "professional use by an employee is in scope": dict(personal_use="no"),
}


@pytest.mark.parametrize("answers", EXCLUSION_NEAR_MISSES.values(), ids=EXCLUSION_NEAR_MISSES.keys())
def test_exclusion_near_misses_stay_in_scope(answers):
    determination = classify_complete(**answers)

    assert determination.outcome is Outcome.MINIMAL_RISK
    assert determination.excluded_by is None


OPEN_SOURCE_LIMITS = {
    "an open-source high-risk system is not excluded": (
        area("employment", annex3_4a_recruitment="yes"),
        Outcome.HIGH_RISK_ANNEX_III,
        "it is high-risk",
    ),
    "an open-source chatbot under Art. 50 is not excluded": (
        dict(art50_1_interacts="yes"),
        Outcome.TRANSPARENCY,
        "Art. 50 applies",
    ),
    "an open-source prohibited system is not excluded": (
        dict(art5_e_facial_database="yes", art5_e_untargeted_scraping="yes"),
        Outcome.PROHIBITED,
        "it falls under Art. 5",
    ),
}


@pytest.mark.parametrize("answers, outcome, reason", OPEN_SOURCE_LIMITS.values(), ids=OPEN_SOURCE_LIMITS.keys())
def test_the_open_source_exclusion_has_limits(answers, outcome, reason):
    determination = classify_complete(open_source_licence="yes", **answers)

    assert determination.outcome is outcome
    assert determination.excluded_by is None
    assert any(
        f"Art. 2(12) open-source exclusion does not apply because {reason}" in step for step in determination.rationale
    )


def test_an_exclusion_hides_every_later_question():
    answers = complete(military_exclusive="yes", military_civilian_use="no")
    visible = [q.id for q in visible_questions(answers)]

    assert visible == ["is_ai_system", "involves_gpai", "eu_nexus", "military_exclusive", "military_civilian_use"]


def test_not_an_ai_system_hides_everything_but_the_first_two_questions():
    assert [q.id for q in visible_questions({"is_ai_system": "no"})] == ["is_ai_system", "involves_gpai"]


def test_later_exclusions_are_not_asked_once_one_applies():
    visible = {q.id for q in visible_questions(complete(research_only="yes"))}

    assert "research_only" in visible
    assert not visible & {"pre_market_rd", "personal_use", "open_source_licence", "roles"}


def test_an_open_source_annex_iii_system_relying_on_art_6_3_keeps_its_documentation_duties():
    determination = classify_complete(
        open_source_licence="yes",
        **area(
            "employment",
            annex3_4a_recruitment="yes",
            art6_3_profiling="no",
            art6_3_conditions=["a"],
            art6_3_no_significant_risk="yes",
        ),
    )

    assert determination.outcome is Outcome.NOT_HIGH_RISK_ART_6_3
    assert determination.excluded_by is None
    assert "art_6_4_assessment_documentation" in {o.code for o in derive_obligations(determination)}
