"""Art. 25 role switches and the general-purpose AI model overlay (Art. 51-55)."""

from __future__ import annotations

import pytest

from governance.rules import Outcome, derive_obligations, visible_questions
from tests.governance.rules.helpers import area, classify_complete, complete

HIGH_RISK_HR = area("employment", annex3_4a_recruitment="yes")

SWITCHES = {
    "a deployer that rebrands a high-risk system becomes its provider": (
        ["deployer"],
        dict(art25_own_name="yes"),
        "Art. 25(1)(a)",
    ),
    "an importer that puts its trademark on a high-risk system becomes its provider": (
        ["importer"],
        dict(art25_own_name="yes"),
        "Art. 25(1)(a)",
    ),
    "a distributor that substantially modifies a high-risk system becomes its provider": (
        ["distributor"],
        dict(art25_substantial_modification="yes"),
        "Art. 25(1)(b)",
    ),
    "a deployer that repurposes a general chatbot for hiring becomes its provider": (
        ["deployer"],
        dict(art25_changed_purpose="yes"),
        "Art. 25(1)(c)",
    ),
    "a deployer unsure whether its change was substantial is treated as provider": (
        ["deployer"],
        dict(art25_substantial_modification="unsure"),
        "Art. 25(1)(b)",
    ),
}


@pytest.mark.parametrize("roles, triggers, reference", SWITCHES.values(), ids=SWITCHES.keys())
def test_each_art_25_trigger_turns_the_organisation_into_the_provider(roles, triggers, reference):
    determination = classify_complete(roles=roles, **triggers, **HIGH_RISK_HR)

    assert determination.declared_roles == tuple(roles)
    assert determination.effective_role == "provider"
    # A deployer keeps its Art. 26 duties (it still uses the system); the importer's and the
    # distributor's checks give way to the provider duties (rules 2026.12-1).
    kept = tuple(role for role in roles if role == "deployer")
    assert determination.effective_roles == ("provider", *kept)
    assert determination.roles_replaced == tuple(role for role in roles if role not in kept)
    assert determination.role_switches == (reference,)
    assert any(basis.article == reference for basis in determination.legal_bases)
    codes = {o.code for o in derive_obligations(determination) if o.role == "provider"}
    assert {"art_9_risk_management", "art_43_conformity_assessment"} <= codes


def test_a_product_manufacturer_using_an_ai_safety_component_becomes_its_provider():
    determination = classify_complete(
        roles=["distributor"],
        annex1_covered="yes",
        annex1_act="lifts",
        annex1_third_party="yes",
        annex1_manufacturer_own_name="yes",
    )

    assert determination.role_switches == ("Art. 25(3)",)
    assert determination.effective_role == "provider"


def test_rebranding_a_minimal_risk_system_changes_no_role():
    determination = classify_complete(roles=["deployer"], art25_own_name="yes")

    assert determination.effective_roles == ("deployer",)
    assert determination.role_switches == ()
    assert any("Art. 25(1)(a) has no effect" in step for step in determination.rationale)


def test_a_deployer_that_changes_nothing_stays_a_deployer():
    determination = classify_complete(roles=["deployer"], **HIGH_RISK_HR)

    assert determination.effective_roles == ("deployer",)
    assert determination.role_switches == ()


def test_art_25_questions_are_not_asked_of_a_provider():
    visible = {q.id for q in visible_questions(complete(roles=["provider", "deployer"]))}

    assert not visible & {"art25_own_name", "art25_substantial_modification", "art25_changed_purpose"}
    assert "deployer_type" in visible


# GPAI

GPAI_CASES = {
    "a small model provider has GPAI duties without systemic risk": (dict(), "gpai"),
    "a model trained with more than 10^25 FLOP is presumed to have systemic risk": (
        dict(gpai_compute_over_threshold="yes"),
        "gpai_systemic_risk",
    ),
    "a model with high-impact capabilities has systemic risk": (dict(gpai_high_impact="yes"), "gpai_systemic_risk"),
    "a model designated by the Commission has systemic risk": (dict(gpai_designated="yes"), "gpai_systemic_risk"),
    "a provider unsure about its training compute is treated as systemic risk": (
        dict(gpai_compute_over_threshold="unsure"),
        "gpai_systemic_risk",
    ),
}


@pytest.mark.parametrize("answers, expected", GPAI_CASES.values(), ids=GPAI_CASES.keys())
def test_gpai_model_providers_are_classified_with_or_without_systemic_risk(answers, expected):
    determination = classify_complete(involves_gpai="yes", gpai_model_provider="yes", **answers)

    assert determination.gpai == expected
    codes = {o.code for o in derive_obligations(determination)}
    assert {"art_53_1_c_copyright_policy", "art_53_1_d_training_content_summary"} <= codes
    systemic = {"art_52_1_systemic_risk_notification", "art_55_1_systemic_risk_obligations"}
    assert (systemic <= codes) is (expected == "gpai_systemic_risk")
    assert not (systemic & codes) or expected == "gpai_systemic_risk"


def test_a_company_building_on_someone_elses_model_has_no_gpai_model_duties():
    determination = classify_complete(involves_gpai="yes", gpai_model_provider="no")

    assert determination.gpai is None
    assert any("rest with the model's provider" in step for step in determination.rationale)


def test_an_open_source_model_without_systemic_risk_is_exempt_from_documentation_and_representative():
    determination = classify_complete(
        involves_gpai="yes", gpai_model_provider="yes", gpai_open_source="yes", gpai_third_country="yes"
    )
    codes = {o.code for o in derive_obligations(determination)}

    assert determination.gpai_open_source
    assert "art_53_1_a_technical_documentation" not in codes
    assert "art_53_1_b_downstream_information" not in codes
    assert "art_54_authorised_representative" not in codes
    assert "art_53_1_c_copyright_policy" in codes


def test_the_open_source_question_is_not_asked_for_a_systemic_risk_model():
    answers = complete(involves_gpai="yes", gpai_model_provider="yes", gpai_designated="yes", gpai_third_country="yes")
    codes = {o.code for o in derive_obligations(classify_complete(**answers))}

    assert "gpai_open_source" not in {q.id for q in visible_questions(answers)}
    assert {"art_53_1_a_technical_documentation", "art_54_authorised_representative"} <= codes


def test_gpai_duties_apply_from_2_august_2025():
    determination = classify_complete(involves_gpai="yes", gpai_model_provider="yes")

    assert {o.applies_from.isoformat() for o in derive_obligations(determination) if o.code.startswith("art_53")} == {
        "2025-08-02"
    }


def test_gpai_overlay_survives_the_open_source_system_exclusion():
    determination = classify_complete(open_source_licence="yes", involves_gpai="yes", gpai_model_provider="yes")

    assert determination.outcome is Outcome.OUT_OF_SCOPE
    assert determination.gpai == "gpai"
    assert derive_obligations(determination)
