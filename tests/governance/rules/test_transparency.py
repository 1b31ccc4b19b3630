"""Art. 50 transparency overlays, on their own and on top of other results."""

from __future__ import annotations

import pytest

from governance.rules import Outcome, visible_questions
from tests.governance.rules.helpers import area, classify_complete, complete

REACHED = {
    "a customer-service chatbot triggers 50(1)": (dict(art50_1_interacts="yes"), "50(1)", ()),
    "an image generator triggers 50(2)": (dict(art50_2_synthetic_content="yes"), "50(2)", ()),
    "emotion recognition in a shop triggers 50(3)": (
        dict(emotion_recognition="yes", art5_f_workplace_education="no"),
        "50(3)",
        (),
    ),
    "biometric categorisation by hair colour triggers 50(3)": (
        dict(biometric_categorisation="yes", annex3_1b_protected_attributes="no"),
        "50(3)",
        (),
    ),
    "a face-swap video tool triggers 50(4) for deep fakes": (dict(art50_4_deep_fake="yes"), "50(4)", ("deep_fake",)),
    "a satirical deep fake still triggers 50(4)": (
        dict(art50_4_deep_fake="yes", art50_4_artistic="yes"),
        "50(4)",
        ("deep_fake",),
    ),
    "auto-published news text without editorial control triggers 50(4)": (
        dict(art50_4_public_interest_text="yes"),
        "50(4)",
        ("public_interest_text",),
    ),
}


@pytest.mark.parametrize("answers, paragraph, kinds", REACHED.values(), ids=REACHED.keys())
def test_each_art_50_overlay_is_reached(answers, paragraph, kinds):
    # Both roles: 50(1) and 50(2) bind the provider, 50(3) and 50(4) the deployer.
    determination = classify_complete(roles=["provider", "deployer"], **answers)

    assert paragraph in determination.transparency
    assert determination.art_50_4_kinds == kinds
    assert any(basis.article == f"Art. {paragraph}" for basis in determination.legal_bases)


NEAR_MISSES = {
    "an obviously artificial game character is not 50(1)": dict(art50_1_interacts="yes", art50_1_obvious="yes"),
    "a law-enforcement interview bot authorised by law is not 50(1)": dict(
        art50_1_interacts="yes", art50_1_law_enforcement="yes"
    ),
    "a spell checker is not 50(2)": dict(art50_2_synthetic_content="yes", art50_2_editing_only="yes"),
    "generation authorised by law for criminal investigations is not 50(2)": dict(
        art50_2_synthetic_content="yes", art50_2_law_enforcement="yes"
    ),
    "emotion recognition permitted by law for investigations is not 50(3)": dict(
        emotion_recognition="yes", art5_f_workplace_education="no", art50_3_law_enforcement="yes"
    ),
    "a virtual try-on filter is not 50(3)": dict(
        biometric_categorisation="yes", biometric_categorisation_ancillary="yes"
    ),
    "a deep fake authorised by law for investigations is not 50(4)": dict(
        art50_4_deep_fake="yes", art50_4_law_enforcement="yes"
    ),
    "news text under editorial responsibility is not 50(4)": dict(
        art50_4_public_interest_text="yes", art50_4_editorial_control="yes"
    ),
}


@pytest.mark.parametrize("answers", NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_art_50_near_misses_trigger_no_duty(answers):
    determination = classify_complete(**answers)

    assert determination.transparency == ()


def test_transparency_alone_gives_the_limited_risk_tier():
    determination = classify_complete(art50_1_interacts="yes")

    assert determination.outcome is Outcome.TRANSPARENCY
    assert determination.risk_tier == "limited"


def test_transparency_applies_on_top_of_a_high_risk_result():
    determination = classify_complete(art50_1_interacts="yes", **area("employment", annex3_4a_recruitment="yes"))

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_III
    assert determination.risk_tier == "high"
    assert determination.transparency == ("50(1)",)


def test_transparency_applies_on_top_of_an_art_6_3_exemption():
    determination = classify_complete(
        art50_2_synthetic_content="yes",
        **area(
            "employment",
            annex3_4a_recruitment="yes",
            art6_3_profiling="no",
            art6_3_conditions=["b"],
            art6_3_no_significant_risk="yes",
        ),
    )

    assert determination.outcome is Outcome.NOT_HIGH_RISK_ART_6_3
    assert determination.risk_tier == "limited"
    assert determination.transparency == ("50(2)",)


def test_transparency_questions_are_hidden_once_a_practice_is_prohibited():
    answers = complete(art5_e_facial_database="yes", art5_e_untargeted_scraping="yes")

    assert not any(q.section == "transparency" for q in visible_questions(answers))
    assert classify_complete(**answers).transparency == ()


def test_deep_fake_and_public_interest_text_are_both_recorded():
    determination = classify_complete(roles=["deployer"], art50_4_deep_fake="yes", art50_4_public_interest_text="yes")

    assert determination.transparency == ("50(4)",)
    assert determination.art_50_4_kinds == ("deep_fake", "public_interest_text")
