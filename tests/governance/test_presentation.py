"""The plain-language headline of every kind of result, as the result page shows it."""

import pytest

from governance.presentation import answers_from_post, outcome_headline, overlay_lines
from tests.governance.rules.helpers import area, classify_complete

CASES = {
    "prohibited": (
        dict(art5_c_social_scoring="yes", art5_c_unrelated_context="yes"),
        "Prohibited practice under Art. 5(1)(c)",
    ),
    "annex i": (
        dict(annex1_covered="yes", annex1_act="medical_devices", annex1_third_party="yes"),
        "High-risk via Annex I Section A (Art. 6(1))",
    ),
    "annex iii": (
        area("essential_services", annex3_5b_creditworthiness="yes", art6_3_profiling="yes"),
        "High-risk via Annex III point 5(b) (Art. 6(2))",
    ),
    "art 6(3)": (
        area(
            "essential_services",
            annex3_5b_creditworthiness="yes",
            art6_3_profiling="no",
            art6_3_conditions=["a"],
            art6_3_no_significant_risk="yes",
        ),
        "Not high-risk under Art. 6(3)(a); you must still document the assessment (Art. 6(4)) "
        "and register the system (Art. 49(2))",
    ),
    "minimal": (dict(), "Minimal risk: no specific AI Act duties beyond AI literacy (Art. 4)"),
    "out of scope": (dict(military_exclusive="yes"), "Out of scope (Art. 2(3))"),
    "not an ai system": (dict(is_ai_system="no"), "Not an AI system (Art. 3(1)); the AI Act does not apply"),
}


@pytest.mark.parametrize("answers, headline", CASES.values(), ids=CASES.keys())
def test_each_outcome_has_a_plain_language_headline(answers, headline):
    determination = classify_complete(**answers).to_dict()
    assert outcome_headline(determination["outcome"], determination) == headline


def test_transparency_and_gpai_duties_are_listed_on_top_of_the_outcome():
    chatbot = classify_complete(art50_1_interacts="yes").to_dict()
    assert overlay_lines(chatbot) == ["Transparency duties under Art. 50(1)"]
    gpai = classify_complete(involves_gpai="yes", gpai_model_provider="yes", gpai_compute_over_threshold="yes")
    assert "with systemic risk" in overlay_lines(gpai.to_dict())[0]
    small = classify_complete(involves_gpai="yes", gpai_model_provider="yes").to_dict()
    assert "without systemic risk" in overlay_lines(small)[0]


def test_a_posted_form_becomes_answers_with_lists_for_multi_select_questions():
    from django.http import QueryDict

    data = QueryDict("is_ai_system=yes&roles=provider&roles=deployer&eu_nexus=&unknown=1")
    assert answers_from_post(data) == {"is_ai_system": "yes", "roles": ["provider", "deployer"]}
