"""Obligations derived from a determination and the organisation's role, with dates and evidence."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from governance.rules import (
    DEFAULT_APPLICATION_DATES,
    EVIDENCE_KINDS,
    OMNIBUS_APPLICATION_DATES,
    DatesError,
    derive_obligations,
    resolve_dates,
)
from governance.rules.content import obligations_catalogue as catalogue
from tests.governance.rules.helpers import area, classify_complete, reference_exists

CREDIT_SCORING = area("essential_services", annex3_5b_creditworthiness="yes", art6_3_profiling="yes")

HIGH_RISK_PROVIDER_CODES = [
    "art_9_risk_management",
    "art_10_data_governance",
    "art_11_technical_documentation",
    "art_12_record_keeping",
    "art_13_instructions_for_use",
    "art_14_human_oversight",
    "art_15_accuracy_robustness_cybersecurity",
    "art_16_provider_obligations",
    "art_17_quality_management",
    "art_18_documentation_keeping",
    "art_19_log_retention",
    "art_20_corrective_actions",
    "art_43_conformity_assessment",
    "art_47_eu_declaration_of_conformity",
    "art_48_ce_marking",
    "art_49_registration",
    "art_72_post_market_monitoring",
    "art_73_serious_incident_reporting",
]


def _codes(obligations, role=None):
    return [o.code for o in obligations if role is None or o.role == role]


def test_a_bank_providing_consumer_credit_scoring_gets_every_high_risk_provider_obligation_on_time():
    determination = classify_complete(roles=["provider"], **CREDIT_SCORING)
    obligations = derive_obligations(determination)

    assert determination.annex_iii_points == ("5(b)",)
    assert _codes(obligations) == ["art_4_ai_literacy", *HIGH_RISK_PROVIDER_CODES]
    dates = {o.code: o.applies_from for o in obligations}
    assert dates["art_4_ai_literacy"] == date(2025, 2, 2)
    assert {dates[code] for code in HIGH_RISK_PROVIDER_CODES} == {date(2026, 8, 2)}
    assert {o.applies_from_key for o in obligations if o.code in HIGH_RISK_PROVIDER_CODES} == {"annex_iii"}
    assert all(o.role == "provider" for o in obligations)


def test_bias_examination_evidence_is_a_fairness_validation_run():
    obligations = derive_obligations(classify_complete(**CREDIT_SCORING))
    data = next(o for o in obligations if o.code == "art_10_data_governance")
    accuracy = next(o for o in obligations if o.code == "art_15_accuracy_robustness_cybersecurity")

    assert any(e.kind == "validation_run:fairness" and e.reference == "Art. 10(2)(f)" for e in data.evidence)
    assert any(e.kind == "validation_run:performance" and e.reference == "Art. 15(3)" for e in accuracy.evidence)


def test_a_bank_deploying_its_own_credit_scoring_also_owes_a_fria_whatever_its_legal_nature():
    determination = classify_complete(roles=["provider", "deployer"], deployer_type="other", **CREDIT_SCORING)
    deployer = _codes(derive_obligations(determination), "deployer")

    assert deployer == [
        "art_4_ai_literacy",
        "art_26_deployer_obligations",
        "art_27_fundamental_rights_impact_assessment",
        "art_86_right_to_explanation",
    ]


def test_a_private_company_using_hr_screening_owes_no_fria():
    determination = classify_complete(
        roles=["deployer"], deployer_type="other", **area("employment", annex3_4a_recruitment="yes")
    )

    assert "art_27_fundamental_rights_impact_assessment" not in _codes(derive_obligations(determination))
    assert "art_26_deployer_obligations" in _codes(derive_obligations(determination))


@pytest.mark.parametrize("deployer_type", ["public_law_body", "private_public_service"])
def test_public_bodies_and_public_service_providers_owe_a_fria(deployer_type):
    determination = classify_complete(
        roles=["deployer"], deployer_type=deployer_type, **area("education", annex3_3a_admission="yes")
    )
    codes = _codes(derive_obligations(determination))

    assert "art_27_fundamental_rights_impact_assessment" in codes
    assert ("art_49_3_deployer_registration" in codes) is (deployer_type == "public_law_body")


def test_critical_infrastructure_needs_no_fria_and_national_registration_only():
    determination = classify_complete(
        roles=["provider", "deployer"],
        deployer_type="public_law_body",
        **area("critical_infrastructure", annex3_2_safety_component="yes"),
    )
    obligations = derive_obligations(determination)

    assert "art_27_fundamental_rights_impact_assessment" not in _codes(obligations)
    assert "art_86_right_to_explanation" not in _codes(obligations)
    registration = next(o for o in obligations if o.code == "art_49_registration")
    assert registration.article == "Art. 49(5)"


def test_an_annex_i_provider_gets_the_2027_date_and_no_eu_database_registration():
    determination = classify_complete(annex1_covered="yes", annex1_act="medical_devices", annex1_third_party="yes")
    obligations = derive_obligations(determination)

    assert "art_49_registration" not in _codes(obligations)
    assert {o.applies_from for o in obligations if o.code != "art_4_ai_literacy"} == {date(2027, 8, 2)}
    conformity = next(o for o in obligations if o.code == "art_43_conformity_assessment")
    assert any("Art. 43(3)" in note for note in conformity.notes)


def test_an_annex_i_section_b_product_gets_only_the_sectoral_route():
    determination = classify_complete(annex1_covered="yes", annex1_act="rail", annex1_third_party="yes")

    assert _codes(derive_obligations(determination)) == ["art_2_2_sectoral_requirements"]


def test_an_art_6_3_exemption_leaves_documentation_and_registration_to_the_provider():
    determination = classify_complete(
        roles=["provider", "deployer"],
        **area(
            "education",
            annex3_3d_test_monitoring="yes",
            art6_3_profiling="no",
            art6_3_conditions=["d"],
            art6_3_no_significant_risk="yes",
        ),
    )
    obligations = derive_obligations(determination)

    assert _codes(obligations, "provider") == [
        "art_4_ai_literacy",
        "art_6_4_assessment_documentation",
        "art_49_2_registration",
    ]
    assert _codes(obligations, "deployer") == ["art_4_ai_literacy"]


def test_biometric_systems_note_the_notified_body_route():
    determination = classify_complete(biometric_identification="yes", rbi_remote="yes", rbi_real_time="no")
    conformity = next(o for o in derive_obligations(determination) if o.code == "art_43_conformity_assessment")

    assert any("notified body" in note for note in conformity.notes)


TRANSPARENCY_ROLES = {
    "a chatbot provider must disclose the AI interaction": (
        dict(art50_1_interacts="yes"),
        ["provider"],
        "art_50_1_interaction_disclosure",
    ),
    "a generator provider must mark outputs": (
        dict(art50_2_synthetic_content="yes"),
        ["provider"],
        "art_50_2_output_marking",
    ),
    "a deployer of emotion recognition must inform people exposed": (
        dict(emotion_recognition="yes", art5_f_workplace_education="no"),
        ["deployer"],
        "art_50_3_exposure_notice",
    ),
    "a deployer publishing deep fakes must disclose them": (
        dict(art50_4_deep_fake="yes"),
        ["deployer"],
        "art_50_4_deep_fake_disclosure",
    ),
    "a deployer publishing AI news text must disclose it": (
        dict(art50_4_public_interest_text="yes"),
        ["deployer"],
        "art_50_4_text_disclosure",
    ),
}


@pytest.mark.parametrize("answers, roles, code", TRANSPARENCY_ROLES.values(), ids=TRANSPARENCY_ROLES.keys())
def test_art_50_duties_bind_the_matching_role_only(answers, roles, code):
    determination = classify_complete(roles=roles, **answers)
    other = ["deployer"] if roles == ["provider"] else ["provider"]

    assert code in _codes(derive_obligations(determination))
    assert code not in _codes(derive_obligations(determination, roles=other))
    assert next(o for o in derive_obligations(determination) if o.code == code).applies_from == date(2026, 8, 2)


def test_a_prohibited_practice_binds_every_role_held_from_february_2025():
    determination = classify_complete(
        roles=["provider", "deployer"], art5_e_facial_database="yes", art5_e_untargeted_scraping="yes"
    )
    prohibitions = [o for o in derive_obligations(determination) if o.code == "art_5_prohibited_practice"]

    assert [o.role for o in prohibitions] == ["provider", "deployer"]
    assert {o.applies_from for o in prohibitions} == {date(2025, 2, 2)}


def test_minimal_risk_leaves_only_ai_literacy():
    assert _codes(derive_obligations(classify_complete())) == ["art_4_ai_literacy"]


def test_an_administrator_can_move_dates_for_the_digital_omnibus():
    determination = classify_complete(art50_1_interacts="yes", **CREDIT_SCORING)
    obligations = derive_obligations(determination, dates=OMNIBUS_APPLICATION_DATES)
    dates = {o.code: o.applies_from for o in obligations}

    assert dates["art_9_risk_management"] == date(2027, 12, 2)
    assert dates["art_50_1_interaction_disclosure"] == date(2026, 8, 2)
    assert dates["art_4_ai_literacy"] == date(2025, 2, 2)


def test_a_single_date_override_keeps_the_other_defaults():
    assert resolve_dates({"annex_i": date(2028, 8, 2)}) == {**DEFAULT_APPLICATION_DATES, "annex_i": date(2028, 8, 2)}


@pytest.mark.parametrize(
    "bad",
    [{"annex_ii": date(2027, 1, 1)}, {"general": "2026-08-02"}, {"general": datetime(2026, 8, 2)}],
    ids=["unknown key", "string date", "datetime instead of date"],
)
def test_bad_date_tables_fail_loudly(bad):
    with pytest.raises(DatesError):
        resolve_dates(bad)


def _all_templates():
    return [
        catalogue.LITERACY,
        catalogue.PROHIBITION,
        *catalogue.HIGH_RISK_PROVIDER,
        catalogue.IMPORTER,
        catalogue.DISTRIBUTOR,
        *catalogue.AUTHORISED_REPRESENTATIVE,
        catalogue.HIGH_RISK_DEPLOYER,
        catalogue.FRIA,
        catalogue.RBI_USE_NOTIFICATION,
        catalogue.POST_RBI_AUTHORISATION,
        catalogue.PUBLIC_DEPLOYER_REGISTRATION,
        catalogue.EXPLANATION,
        catalogue.SECTION_B,
        *catalogue.ART_6_3,
        *catalogue.TRANSPARENCY.values(),
        *catalogue.GPAI.values(),
    ]


def test_obligation_codes_are_unique_and_evidence_kinds_are_known():
    templates = _all_templates()

    assert len({t.code for t in templates}) == len(templates)
    assert {e.kind for t in templates for e in t.evidence} <= set(EVIDENCE_KINDS)
    assert all(t.evidence and t.max_age_days > 0 for t in templates)
    assert {t.date_key for t in templates} <= {"high_risk", *DEFAULT_APPLICATION_DATES}


def test_every_obligation_and_evidence_reference_exists_in_the_reference_file():
    references = {t.article for t in _all_templates()} | {e.reference for t in _all_templates() for e in t.evidence}

    assert [r for r in sorted(references) if not reference_exists(r)] == []


def test_obligations_export_as_json():
    obligations = derive_obligations(classify_complete(roles=["provider", "deployer"], **CREDIT_SCORING))

    json.dumps([o.to_dict() for o in obligations])


def test_an_unknown_role_is_refused():
    with pytest.raises(ValueError):
        derive_obligations(classify_complete(), roles=["auditor"])


def test_obligation_codes_are_stable():
    # Stored obligations refer to these codes: renaming one is a data migration, not a refactor.
    assert sorted(t.code for t in _all_templates()) == sorted(
        [
            "art_2_2_sectoral_requirements",
            "art_4_ai_literacy",
            "art_5_prohibited_practice",
            "art_5_4_rbi_use_notification",
            "art_26_10_post_rbi_authorisation",
            "art_6_4_assessment_documentation",
            *HIGH_RISK_PROVIDER_CODES,
            "art_22_mandate",
            "art_22_documentation_keeping",
            "art_22_authority_cooperation",
            "art_22_registration",
            "art_23_importer_obligations",
            "art_24_distributor_obligations",
            "art_26_deployer_obligations",
            "art_27_fundamental_rights_impact_assessment",
            "art_49_2_registration",
            "art_49_3_deployer_registration",
            "art_50_1_interaction_disclosure",
            "art_50_2_output_marking",
            "art_50_3_exposure_notice",
            "art_50_4_deep_fake_disclosure",
            "art_50_4_text_disclosure",
            "art_52_1_systemic_risk_notification",
            "art_53_1_a_technical_documentation",
            "art_53_1_b_downstream_information",
            "art_53_1_c_copyright_policy",
            "art_53_1_d_training_content_summary",
            "art_54_authorised_representative",
            "art_54_representative_tasks",
            "art_55_1_systemic_risk_obligations",
            "art_86_right_to_explanation",
        ]
    )


def test_importers_and_distributors_of_high_risk_systems_get_their_checks():
    determination = classify_complete(
        roles=["importer", "distributor"], **area("employment", annex3_4a_recruitment="yes")
    )

    assert _codes(derive_obligations(determination)) == [
        "art_23_importer_obligations",
        "art_24_distributor_obligations",
    ]
