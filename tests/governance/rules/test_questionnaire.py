"""The questionnaire as data: export, references, visibility, validation and contradictions."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.rules import (
    QUESTION_BY_ID,
    QUESTIONS,
    RULES_VERSION,
    classify,
    derive_obligations,
    questionnaire_as_dict,
    validate_answers,
    visible_questions,
)
from governance.rules.conditions import evaluate, iter_leaves, referenced_questions
from governance.rules.content.rules import CARVE_OUTS, CONTRADICTION_RULES, FLAGS
from governance.rules.references import REFERENCES
from governance.rules.schema import MULTI, YES_NO_UNSURE
from tests.governance.rules.helpers import area, complete, reference_exists


def test_the_questionnaire_export_is_json_serialisable():
    exported = questionnaire_as_dict()

    assert json.loads(json.dumps(exported)) == exported
    assert exported["rules_version"] == RULES_VERSION
    assert [q["id"] for q in exported["questions"]] == [q.id for q in QUESTIONS]


def test_every_article_reference_in_the_export_exists_in_the_reference_file():
    cited = {ref["ref"] for q in questionnaire_as_dict()["questions"] for ref in q["references"]}

    assert cited
    assert [ref for ref in sorted(cited) if not reference_exists(ref)] == []


def test_every_reference_summary_and_carve_out_cites_a_known_provision():
    cited = set(REFERENCES) | {carve_out.reference for carve_out in CARVE_OUTS}

    assert [ref for ref in sorted(cited) if not reference_exists(ref)] == []


def test_every_question_has_text_references_and_a_known_section():
    sections = {s["id"] for s in questionnaire_as_dict()["sections"]}

    for question in QUESTIONS:
        assert question.text.strip() and question.references, question.id
        assert question.section in sections


def test_the_questionnaire_follows_the_order_of_the_regulation():
    sections = list(dict.fromkeys(q.section for q in QUESTIONS))

    assert sections == ["scope", "roles", "gpai", "prohibited", "annex_i", "annex_iii", "art_6_3", "transparency"]


def test_visibility_only_depends_on_earlier_questions():
    position = {q.id: i for i, q in enumerate(QUESTIONS)}

    for index, question in enumerate(QUESTIONS):
        assert all(position[ref] < index for ref in referenced_questions(question.visible_if, FLAGS)), question.id


def test_every_condition_treats_unsure_as_the_question_declares():
    conditions = [q.visible_if for q in QUESTIONS] + list(FLAGS.values()) + [c.condition for c in CARVE_OUTS]
    for condition in conditions:
        leaves = list(iter_leaves(condition))
        # A condition may split "yes" and "unsure" on purpose (Annex III 5(b)); it then names both.
        split = {leaf["q"] for leaf in leaves if leaf.get("eq") == "unsure"}
        for leaf in leaves:
            question = QUESTION_BY_ID[leaf["q"]]
            if question.kind != YES_NO_UNSURE:
                continue
            if question.unsure_means == "yes":
                assert leaf.get("eq") != "yes" or question.id in split, f"{question.id}: unsure should count as yes"
            else:
                assert "unsure" not in leaf.get("in", []), f"{question.id}: unsure must not count as yes"


def test_every_question_is_visible_for_some_answers():
    shown: set[str] = set()
    scenarios = [
        complete(
            involves_gpai="yes",
            gpai_model_provider="yes",
            roles=["deployer"],
            military_exclusive="yes",
            military_civilian_use="yes",
        ),
        complete(
            emotion_recognition="yes",
            art5_f_workplace_education="yes",
            biometric_categorisation="yes",
            art5_g_sensitive_inference="yes",
            biometric_identification="yes",
            rbi_remote="yes",
            rbi_real_time="yes",
            rbi_public_space="yes",
            rbi_law_enforcement="yes",
            rbi_objective="imminent_threat",
            art5_a_techniques="yes",
            art5_a_distortion="yes",
            art5_b_exploits_vulnerability="yes",
            art5_c_social_scoring="yes",
            art5_d_crime_prediction="yes",
            art5_d_solely_profiling="yes",
            art5_e_facial_database="yes",
        ),
        complete(
            roles=["distributor"],
            annex1_covered="yes",
            annex1_act="toys",
            annex1_third_party="yes",
            biometric_categorisation="yes",
            emotion_recognition="yes",
            annex3_areas=[
                "critical_infrastructure",
                "education",
                "employment",
                "essential_services",
                "law_enforcement",
                "migration",
                "justice_democracy",
            ],
            annex3_2_safety_component="yes",
            annex3_5b_creditworthiness="yes",
            annex3_7d_identification="yes",
            annex3_8a_judicial="yes",
            annex3_8b_elections="yes",
            art50_1_interacts="yes",
            art50_2_synthetic_content="yes",
            art50_4_deep_fake="yes",
            art50_4_public_interest_text="yes",
        ),
        complete(**area("education", annex3_3a_admission="yes", art6_3_profiling="no", art6_3_conditions=["a"])),
        complete(involves_gpai="yes", provider_offering="gpai_model", gpai_modified_model="yes"),
        complete(art5_c_social_scoring="yes", art5_c_unrelated_context="no", art5_c_disproportionate="yes"),
        complete(involves_gpai="yes", roles=["authorised_representative"]),
    ]
    for answers in scenarios:
        shown |= {q.id for q in visible_questions(answers)}

    assert set(QUESTION_BY_ID) - shown == set()


def test_follow_up_questions_appear_only_after_yes_or_unsure():
    def shown(value):
        return "art5_f_workplace_education" in {q.id for q in visible_questions(complete(emotion_recognition=value))}

    assert shown("yes") and shown("unsure") and not shown("no")


def test_a_prohibited_finding_hides_the_high_risk_sections():
    answers = complete(art5_c_social_scoring="yes", art5_c_unrelated_context="yes")
    sections = {q.section for q in visible_questions(answers)}

    assert "prohibited" in sections
    assert not sections & {"annex_i", "annex_iii", "art_6_3", "transparency"}


def test_the_deployer_type_is_asked_only_of_deployers():
    assert "deployer_type" not in {q.id for q in visible_questions(complete(roles=["provider"]))}
    assert "deployer_type" in {q.id for q in visible_questions(complete(roles=["deployer"]))}


# Validation


def test_a_complete_consistent_questionnaire_is_valid():
    outcome = validate_answers(complete())

    assert outcome.is_valid and outcome.is_complete


def test_an_incomplete_questionnaire_reports_the_missing_question_ids():
    answers = complete()
    del answers["emotion_recognition"], answers["annex3_areas"]
    determination = classify(answers)

    assert validate_answers(answers).missing == ("emotion_recognition", "annex3_areas")
    assert determination.missing == ("emotion_recognition", "annex3_areas")
    assert not determination.is_complete and determination.is_provisional
    assert any("unanswered" in step for step in determination.rationale)


INVALID = {
    "an unknown yes/no value": ("is_ai_system", "maybe"),
    "a list for a yes/no question": ("is_ai_system", ["yes"]),
    "an unknown option": ("annex1_act", "spaceships"),
    "a string for a multi-select": ("roles", "provider"),
    "an empty multi-select": ("roles", []),
    "none combined with an area": ("annex3_areas", ["none", "education"]),
    "a duplicated option": ("roles", ["provider", "provider"]),
}


@pytest.mark.parametrize("question_id, value", INVALID.values(), ids=INVALID.keys())
def test_invalid_answers_are_reported_and_count_as_missing(question_id, value):
    answers = complete(annex1_covered="yes", annex1_act="toys")
    answers[question_id] = value
    outcome = validate_answers(answers)

    assert [item.question_id for item in outcome.invalid_answers] == [question_id]
    assert question_id in outcome.missing
    assert not outcome.is_valid
    assert classify(answers).invalid_answers == outcome.invalid_answers


def test_unknown_question_ids_are_reported():
    outcome = validate_answers({**complete(), "is_sentient": "yes"})

    assert outcome.unknown_question_ids == ("is_sentient",)
    assert not outcome.is_valid


def test_answers_to_hidden_questions_are_reported_and_ignored():
    answers = complete(research_only="yes")
    answers["annex3_areas"] = ["employment"]
    answers["annex3_4a_recruitment"] = "yes"

    assert set(validate_answers(answers).ignored_hidden) == {"annex3_areas", "annex3_4a_recruitment"}
    assert classify(answers).annex_iii_points == ()


CONTRADICTIONS = {
    "not an AI system yet built on a GPAI model": (
        dict(is_ai_system="no", involves_gpai="yes"),
        "gpai_but_not_ai_system",
    ),
    "exclusively military yet sold on the civilian market": (
        dict(military_exclusive="yes", military_civilian_use="yes"),
        "military_exclusive_but_civilian",
    ),
    "purely personal use yet provider": (dict(personal_use="yes", roles=["provider"]), "personal_use_but_supplier"),
    "credit scoring yet only fraud detection": (
        area("essential_services", annex3_5b_creditworthiness="yes", annex3_5b_fraud_detection_only="yes"),
        "credit_scoring_but_fraud_only",
    ),
    "law-enforcement profiling yet no profiling": (
        area("law_enforcement", annex3_6e_profiling="yes", art6_3_profiling="no"),
        "law_enforcement_profiling_denied",
    ),
}


@pytest.mark.parametrize("answers, code", CONTRADICTIONS.values(), ids=CONTRADICTIONS.keys())
def test_contradictory_answers_are_reported(answers, code):
    full = complete(**answers)
    determination = classify(full)

    assert [c.code for c in validate_answers(full).contradictions] == [code]
    assert [c.code for c in determination.contradictions] == [code]
    assert set(determination.contradictions[0].question_ids) <= set(QUESTION_BY_ID)
    assert determination.is_provisional
    assert any(step.startswith("Contradiction") for step in determination.rationale)


def test_a_misapplied_fraud_carve_out_is_not_silently_resolved():
    determination = classify(
        complete(**area("essential_services", annex3_5b_creditworthiness="yes", annex3_5b_fraud_detection_only="yes"))
    )

    assert determination.annex_iii_points == ("5(b)",)
    assert determination.contradictions and determination.is_provisional


def test_military_and_civilian_use_is_treated_as_in_scope_until_resolved():
    determination = classify(complete(military_exclusive="yes", military_civilian_use="yes"))

    assert determination.excluded_by is None
    assert determination.contradictions


def test_every_contradiction_rule_names_real_questions():
    for rule in CONTRADICTION_RULES:
        assert set(rule.question_ids) == set(referenced_questions(rule.condition, FLAGS)) | set(rule.question_ids)
        assert set(rule.question_ids) <= set(QUESTION_BY_ID)


# Properties over arbitrary answers


def _answer_strategy(question):
    if question.kind == YES_NO_UNSURE:
        return st.sampled_from(["yes", "no", "unsure"])
    values = [option.value for option in question.options]
    if question.kind == MULTI:
        return st.lists(st.sampled_from([v for v in values if v != "none"]), min_size=1, unique=True)
    return st.sampled_from(values)


ANSWERS = st.fixed_dictionaries({}, optional={q.id: _answer_strategy(q) for q in QUESTIONS})


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANSWERS)
def test_any_well_formed_answers_classify_without_error_and_export_as_json(answers):
    determination = classify(answers)
    obligations = derive_obligations(determination)

    json.dumps(determination.to_dict())
    json.dumps([o.to_dict() for o in obligations])
    assert all(reference_exists(basis.annex or basis.article) for basis in determination.legal_bases)
    assert determination.is_complete is (not determination.missing)
    assert set(determination.missing) <= {q.id for q in visible_questions(answers)}
    assert (determination.risk_tier == "prohibited") is bool(determination.art_5_points)


@settings(max_examples=100, deadline=None, database=None)
@given(ANSWERS)
def test_visible_questions_match_their_declared_conditions(answers):
    visible = visible_questions(answers)
    shown = {q.id for q in visible}
    kept = {qid: value for qid, value in answers.items() if qid in shown}

    for question in QUESTIONS:
        assert evaluate(question.visible_if, kept, FLAGS) is (question.id in shown), question.id
