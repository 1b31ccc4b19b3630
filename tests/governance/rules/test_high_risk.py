"""Art. 6(1) / Annex I, Art. 6(2) / Annex III (every point) and the Art. 6(3) derogation."""

from __future__ import annotations

import pytest

from governance.rules import Outcome, visible_questions
from tests.governance.rules.helpers import area, classify_complete, complete

ANNEX_III_REACHED = {
    "remote biometric identification is 1(a)": (
        dict(biometric_identification="yes", rbi_remote="yes", rbi_real_time="no"),
        "1(a)",
    ),
    "categorising people by inferred age from their face is 1(b)": (
        dict(biometric_categorisation="yes", annex3_1b_protected_attributes="yes"),
        "1(b)",
    ),
    "emotion recognition outside work and school is 1(c)": (
        dict(emotion_recognition="yes", art5_f_workplace_education="no"),
        "1(c)",
    ),
    "a water-pressure safety component is 2": (area("critical_infrastructure", annex3_2_safety_component="yes"), "2"),
    "a university admission ranker is 3(a)": (area("education", annex3_3a_admission="yes"), "3(a)"),
    "an exam grader is 3(b)": (area("education", annex3_3b_learning_outcomes="yes"), "3(b)"),
    "a school-track placement tool is 3(c)": (area("education", annex3_3c_education_level="yes"), "3(c)"),
    "an online proctoring tool is 3(d)": (area("education", annex3_3d_test_monitoring="yes"), "3(d)"),
    "a CV filter is 4(a)": (area("employment", annex3_4a_recruitment="yes"), "4(a)"),
    "a worker performance monitor is 4(b)": (area("employment", annex3_4b_work_relationships="yes"), "4(b)"),
    "a public benefits eligibility tool is 5(a)": (area("essential_services", annex3_5a_public_benefits="yes"), "5(a)"),
    "consumer credit scoring is 5(b)": (area("essential_services", annex3_5b_creditworthiness="yes"), "5(b)"),
    "health insurance pricing is 5(c)": (area("essential_services", annex3_5c_life_health_insurance="yes"), "5(c)"),
    "emergency call triage is 5(d)": (area("essential_services", annex3_5d_emergency="yes"), "5(d)"),
    "victim risk assessment by police is 6(a)": (area("law_enforcement", annex3_6a_victim_risk="yes"), "6(a)"),
    "a police polygraph is 6(b)": (area("law_enforcement", annex3_6b_polygraph="yes"), "6(b)"),
    "evidence reliability scoring is 6(c)": (area("law_enforcement", annex3_6c_evidence_reliability="yes"), "6(c)"),
    "re-offending risk not solely based on profiling is 6(d)": (
        area("law_enforcement", annex3_6d_offending_risk="yes"),
        "6(d)",
    ),
    "profiling suspects in investigations is 6(e)": (
        area("law_enforcement", annex3_6e_profiling="yes", art6_3_profiling="yes"),
        "6(e)",
    ),
    "a border polygraph is 7(a)": (area("migration", annex3_7a_polygraph="yes"), "7(a)"),
    "a traveller risk assessment is 7(b)": (area("migration", annex3_7b_person_risk="yes"), "7(b)"),
    "a visa application assistant is 7(c)": (area("migration", annex3_7c_applications="yes"), "7(c)"),
    "identifying people at the border is 7(d)": (area("migration", annex3_7d_identification="yes"), "7(d)"),
    "a judge's legal research assistant is 8(a)": (area("justice_democracy", annex3_8a_judicial="yes"), "8(a)"),
    "a voter micro-targeting tool is 8(b)": (area("justice_democracy", annex3_8b_elections="yes"), "8(b)"),
}


@pytest.mark.parametrize("answers, point", ANNEX_III_REACHED.values(), ids=ANNEX_III_REACHED.keys())
def test_each_annex_iii_point_is_reached(answers, point):
    determination = classify_complete(**answers)

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_III
    assert determination.risk_tier == "high"
    assert determination.annex_iii_points == (point,)
    assert any(
        basis.annex == f"Annex III point {point}" and basis.article == "Art. 6(2)"
        for basis in determination.legal_bases
    )


ANNEX_III_NEAR_MISSES = {
    "biometric verification is not 1(a)": dict(biometric_identification="yes", biometric_verification_only="yes"),
    "categorisation not by protected attributes is not 1(b)": dict(
        biometric_categorisation="yes", annex3_1b_protected_attributes="no"
    ),
    "fatigue detection (no emotion inferred) is not 1(c)": dict(emotion_recognition="no"),
    "a component used solely for cybersecurity is not 2": area(
        "critical_infrastructure", annex3_2_safety_component="yes", annex3_2_cybersecurity_only="yes"
    ),
    "a course recommender in education matching no point is not 3": area("education"),
    "a canteen rota tool in employment matching no point is not 4": area("employment"),
    "fraud detection is not 5(b)": area(
        "essential_services", annex3_5b_creditworthiness="unsure", annex3_5b_fraud_detection_only="yes"
    ),
    "a transaction-fraud model that does not assess creditworthiness is not 5(b)": area(
        "essential_services", annex3_5b_creditworthiness="no"
    ),
    "motor insurance pricing is not 5(c)": area("essential_services", annex3_5c_life_health_insurance="no"),
    "police rostering matching no point is not 6": area("law_enforcement"),
    "travel document verification is not 7(d)": area(
        "migration", annex3_7d_identification="yes", annex3_7d_travel_documents_only="yes"
    ),
    "anonymising court decisions is not 8(a)": area(
        "justice_democracy", annex3_8a_judicial="yes", annex3_8a_ancillary_only="yes"
    ),
    "campaign logistics software is not 8(b)": area(
        "justice_democracy", annex3_8b_elections="yes", annex3_8b_not_exposed="yes"
    ),
}


@pytest.mark.parametrize("answers", ANNEX_III_NEAR_MISSES.values(), ids=ANNEX_III_NEAR_MISSES.keys())
def test_annex_iii_near_misses_are_not_high_risk(answers):
    determination = classify_complete(**answers)

    assert determination.outcome is Outcome.MINIMAL_RISK
    assert determination.annex_iii_points == ()


def test_fraud_detection_carve_out_is_explained():
    determination = classify_complete(
        **area("essential_services", annex3_5b_creditworthiness="unsure", annex3_5b_fraud_detection_only="yes")
    )

    assert any("systems used to detect financial fraud are excluded" in step for step in determination.rationale)


def test_rationale_quotes_the_credit_answer():
    determination = classify_complete(**area("essential_services", annex3_5b_creditworthiness="yes"))

    assert any(
        step.startswith(
            'You answered "Yes" to "Is the system used to evaluate the creditworthiness of '
            'natural persons or establish their credit score?"'
        )
        and step.endswith("→ Annex III point 5(b) applies (Art. 6(2))")
        for step in determination.rationale
    )


# Art. 6(1) / Annex I


def test_a_medical_device_needing_a_notified_body_is_high_risk_via_annex_i_section_a():
    determination = classify_complete(annex1_covered="yes", annex1_act="medical_devices", annex1_third_party="yes")

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_I
    assert determination.annex_i_section == "A"
    assert any(
        basis.article == "Art. 6(1)" and basis.annex == "Annex I Section A" for basis in determination.legal_bases
    )


def test_a_motor_vehicle_component_is_high_risk_via_annex_i_section_b_with_art_2_2_noted():
    determination = classify_complete(annex1_covered="yes", annex1_act="motor_vehicles", annex1_third_party="yes")

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_I
    assert determination.annex_i_section == "B"
    assert any(basis.article == "Art. 2(2)" for basis in determination.legal_bases)


def test_a_product_without_third_party_assessment_is_not_high_risk_via_annex_i():
    determination = classify_complete(annex1_covered="yes", annex1_act="toys", annex1_third_party="no")

    assert determination.outcome is Outcome.MINIMAL_RISK
    assert any("Art. 6(1) does not apply" in step for step in determination.rationale)


def test_annex_i_takes_precedence_and_hides_the_art_6_3_questions():
    answers = complete(
        annex1_covered="yes",
        annex1_act="machinery",
        annex1_third_party="yes",
        **area("employment", annex3_4b_work_relationships="yes"),
    )
    determination = classify_complete(**answers)

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_I
    assert determination.annex_iii_points == ("4(b)",)
    assert "art6_3_profiling" not in {q.id for q in visible_questions(answers)}


# Art. 6(3)

CONDITIONS = {"a": "(a)", "b": "(b)", "c": "(c)", "d": "(d)"}


@pytest.mark.parametrize(
    "code, letter", CONDITIONS.items(), ids=[f"condition {c} without profiling" for c in CONDITIONS]
)
def test_each_art_6_3_condition_without_profiling_makes_the_system_not_high_risk(code, letter):
    determination = classify_complete(
        **area(
            "employment",
            annex3_4a_recruitment="yes",
            art6_3_profiling="no",
            art6_3_conditions=[code],
            art6_3_no_significant_risk="yes",
        )
    )

    assert determination.outcome is Outcome.NOT_HIGH_RISK_ART_6_3
    assert determination.art_6_3_condition == letter
    assert determination.annex_iii_points == ("4(a)",)
    articles = {basis.article for basis in determination.legal_bases}
    assert {f"Art. 6(3){letter}", "Art. 6(4)", "Art. 49(2)"} <= articles
    assert any("Art. 6(4)" in step and "Art. 49(2)" in step for step in determination.rationale)


@pytest.mark.parametrize("code", CONDITIONS, ids=[f"condition {c} with profiling" for c in CONDITIONS])
def test_each_art_6_3_condition_with_profiling_stays_high_risk(code):
    answers = complete(
        **area(
            "employment",
            annex3_4a_recruitment="yes",
            art6_3_profiling="yes",
            art6_3_conditions=[code],
            art6_3_no_significant_risk="yes",
        )
    )
    determination = classify_complete(**answers)

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_III
    assert determination.art_6_3_condition is None
    assert "art6_3_conditions" not in {q.id for q in visible_questions(answers)}
    assert any("always high-risk" in step for step in determination.rationale)


def test_a_condition_without_confidence_about_significant_risk_stays_high_risk():
    determination = classify_complete(
        **area(
            "employment",
            annex3_4a_recruitment="yes",
            art6_3_profiling="no",
            art6_3_conditions=["a"],
            art6_3_no_significant_risk="unsure",
        )
    )

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_III
    assert "art6_3_no_significant_risk" in determination.unsure_answers


def test_no_condition_met_stays_high_risk():
    determination = classify_complete(
        **area("education", annex3_3b_learning_outcomes="yes", art6_3_profiling="no", art6_3_conditions=["none"])
    )

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_III
    assert any("derogation is not established" in step for step in determination.rationale)


def test_unsure_about_profiling_keeps_the_system_high_risk():
    determination = classify_complete(**area("employment", annex3_4a_recruitment="yes", art6_3_profiling="unsure"))

    assert determination.outcome is Outcome.HIGH_RISK_ANNEX_III
    assert "art6_3_profiling" in determination.unsure_answers
