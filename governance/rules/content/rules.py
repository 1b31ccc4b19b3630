"""Named conditions (flags) and the rule tables the engine walks.

Flags are exported with the questionnaire so the UI evaluates visibility exactly as the engine
does. The tables below say which flag establishes which legal result, which answers amount to a
carve-out worth explaining, and which combinations of answers contradict each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.rules.conditions import Condition, all_, any_, flag, has, is_, no, not_, y, yes

_ANNEX_III_POINT_FLAGS: dict[str, Condition] = {
    "1(a)": flag("rbi_system"),
    "1(b)": all_(flag("biometric_categorisation_system"), y("annex3_1b_protected_attributes")),
    "1(c)": all_(y("emotion_recognition"), not_(flag("art5_f"))),
    "2": all_(y("annex3_2_safety_component"), not_(yes("annex3_2_cybersecurity_only"))),
    "3(a)": y("annex3_3a_admission"),
    "3(b)": y("annex3_3b_learning_outcomes"),
    "3(c)": y("annex3_3c_education_level"),
    "3(d)": y("annex3_3d_test_monitoring"),
    "4(a)": y("annex3_4a_recruitment"),
    "4(b)": y("annex3_4b_work_relationships"),
    "5(a)": y("annex3_5a_public_benefits"),
    # An explicit "yes" to creditworthiness is never undone by the fraud carve-out (that pair is
    # reported as a contradiction); an "unsure" is resolved by a "yes" to fraud detection only.
    "5(b)": any_(
        yes("annex3_5b_creditworthiness"),
        all_(is_("annex3_5b_creditworthiness", "unsure"), not_(yes("annex3_5b_fraud_detection_only"))),
    ),
    "5(c)": y("annex3_5c_life_health_insurance"),
    "5(d)": y("annex3_5d_emergency"),
    "6(a)": y("annex3_6a_victim_risk"),
    "6(b)": y("annex3_6b_polygraph"),
    "6(c)": y("annex3_6c_evidence_reliability"),
    "6(d)": y("annex3_6d_offending_risk"),
    "6(e)": y("annex3_6e_profiling"),
    "7(a)": y("annex3_7a_polygraph"),
    "7(b)": y("annex3_7b_person_risk"),
    "7(c)": y("annex3_7c_applications"),
    "7(d)": all_(y("annex3_7d_identification"), not_(yes("annex3_7d_travel_documents_only"))),
    "8(a)": all_(y("annex3_8a_judicial"), not_(yes("annex3_8a_ancillary_only"))),
    "8(b)": all_(y("annex3_8b_elections"), not_(yes("annex3_8b_not_exposed"))),
}

ANNEX_III_POINTS: tuple[str, ...] = tuple(_ANNEX_III_POINT_FLAGS)


def annex_iii_flag(point: str) -> str:
    return "annex3_" + point.replace("(", "").replace(")", "")


ART_5_POINTS: tuple[str, ...] = tuple(f"5(1)({letter})" for letter in "abcdefgh")


def art_5_flag(point: str) -> str:
    return "art5_" + point[-2]


_EXCLUSION_FLAGS: dict[str, Condition] = {
    "excluded_territorial": no("eu_nexus"),
    "excluded_military": all_(yes("military_exclusive"), no("military_civilian_use")),
    "excluded_third_country": yes("third_country_authority"),
    "excluded_research": yes("research_only"),
    "excluded_pre_market": yes("pre_market_rd"),
    "excluded_personal": yes("personal_use"),
}

FLAGS: dict[str, Condition] = {
    "ai_system": y("is_ai_system"),
    **_EXCLUSION_FLAGS,
    "excluded": any_(*(flag(name) for name in _EXCLUSION_FLAGS)),
    "screening": all_(flag("ai_system"), not_(flag("excluded"))),
    # A provider that places only a general-purpose AI model on the market answers no system
    # questions (Art. 5, Annex I, Annex III, Art. 6(3), Art. 50): they concern AI systems.
    "model_only": is_("provider_offering", "gpai_model"),
    "system_screening": all_(flag("screening"), not_(flag("model_only"))),
    # The organisation provides a general-purpose AI model: said in provider_offering by a
    # provider, or in gpai_model_provider by an organisation with another role for the system.
    "gpai_model_provider": all_(
        flag("screening"),
        any_(
            {"q": "provider_offering", "in": ["gpai_model", "both"]},
            all_(y("involves_gpai"), y("gpai_model_provider")),
        ),
    ),
    # A downstream modifier below one third of the original compute is not the model's provider.
    "gpai_minor_modification": all_(yes("gpai_modified_model"), no("gpai_modification_over_third")),
    "gpai_provider_duties": all_(flag("gpai_model_provider"), not_(flag("gpai_minor_modification"))),
    "gpai_systemic_risk": any_(y("gpai_compute_over_threshold"), y("gpai_high_impact"), y("gpai_designated")),
    "biometric_categorisation_system": all_(
        y("biometric_categorisation"), not_(yes("biometric_categorisation_ancillary"))
    ),
    "rbi_system": all_(y("biometric_identification"), not_(yes("biometric_verification_only")), y("rbi_remote")),
    "art5_a": all_(y("art5_a_techniques"), y("art5_a_distortion"), y("art5_a_harm")),
    "art5_b": all_(y("art5_b_exploits_vulnerability"), y("art5_b_distortion_harm")),
    "art5_c": all_(
        y("art5_c_social_scoring"),
        any_(
            y("art5_c_unrelated_context"),
            all_(y("art5_c_disproportionate"), not_(yes("art5_c_lawful_specific_purpose"))),
        ),
    ),
    "art5_d": all_(
        y("art5_d_crime_prediction"),
        y("art5_d_solely_profiling"),
        not_(yes("art5_d_supports_human_assessment")),
    ),
    "art5_e": all_(y("art5_e_facial_database"), y("art5_e_untargeted_scraping")),
    "art5_f": all_(
        y("emotion_recognition"),
        y("art5_f_workplace_education"),
        y("art5_f_workers_or_students"),
        not_(yes("art5_f_medical_safety")),
    ),
    "art5_g": all_(
        flag("biometric_categorisation_system"),
        y("art5_g_sensitive_inference"),
        not_(yes("art5_g_labelling_or_law_enforcement")),
    ),
    "art5_h": all_(
        flag("rbi_system"),
        y("rbi_real_time"),
        y("rbi_public_space"),
        y("rbi_law_enforcement"),
        any_(
            is_("rbi_objective", "none"),
            not_(yes("rbi_national_law")),
            not_(yes("rbi_authorised")),
            not_(yes("rbi_fria_registration")),
        ),
    ),
    "prohibited": any_(*(flag(art_5_flag(point)) for point in ART_5_POINTS)),
    "risk_screening": all_(flag("system_screening"), not_(flag("prohibited"))),
    "annex_i_high_risk": all_(y("annex1_covered"), y("annex1_third_party")),
    **{annex_iii_flag(point): condition for point, condition in _ANNEX_III_POINT_FLAGS.items()},
    "annex_iii_match": any_(*(flag(annex_iii_flag(point)) for point in ANNEX_III_POINTS)),
    "art_6_3_applies": all_(
        no("art6_3_profiling"),
        no("art6_3_performs_assessment"),
        any_(*(has("art6_3_conditions", c) for c in ("a", "b", "c", "d"))),
        yes("art6_3_no_significant_risk"),
    ),
    "art50_1": all_(
        y("art50_1_interacts"),
        not_(yes("art50_1_obvious")),
        not_(yes("art50_1_law_enforcement")),
    ),
    "art50_2": all_(
        y("art50_2_synthetic_content"),
        not_(yes("art50_2_editing_only")),
        not_(yes("art50_2_law_enforcement")),
    ),
    "art50_3": all_(
        any_(y("emotion_recognition"), flag("biometric_categorisation_system")),
        not_(yes("art50_3_law_enforcement")),
    ),
    "art50_4_deep_fake": all_(y("art50_4_deep_fake"), not_(yes("art50_4_law_enforcement"))),
    "art50_4_public_interest_text": all_(
        y("art50_4_public_interest_text"),
        not_(yes("art50_4_editorial_control")),
        not_(yes("art50_4_law_enforcement")),
    ),
}

# Art. 2 exclusions in the order they are asked: flag -> (reference, explanation).
EXCLUSIONS: tuple[tuple[str, str, str], ...] = (
    (
        "excluded_territorial",
        "Art. 2(1)",
        "the system is neither placed on the market nor used in the EU, and its output is not used there",
    ),
    (
        "excluded_military",
        "Art. 2(3)",
        "systems used exclusively for military, defence or national-security purposes are excluded",
    ),
    (
        "excluded_third_country",
        "Art. 2(4)",
        "third-country public authorities cooperating with the EU under an international agreement are excluded",
    ),
    (
        "excluded_research",
        "Art. 2(6)",
        "systems developed and put into service solely for scientific research and development are excluded",
    ),
    (
        "excluded_pre_market",
        "Art. 2(8)",
        "research, testing and development before placing on the market are excluded (until release)",
    ),
    ("excluded_personal", "Art. 2(10)", "purely personal, non-professional use carries no deployer obligations"),
)

# Art. 50 results: (paragraph, flag, role bound).
TRANSPARENCY_RULES: tuple[tuple[str, str, str], ...] = (
    ("50(1)", "art50_1", "provider"),
    ("50(2)", "art50_2", "provider"),
    ("50(3)", "art50_3", "deployer"),
    ("50(4)", "art50_4_deep_fake", "deployer"),
    ("50(4)", "art50_4_public_interest_text", "deployer"),
)


@dataclass(frozen=True)
class CarveOut:
    """Answers that take a case out of a rule; the rationale explains them."""

    code: str
    condition: Condition
    reference: str
    message: str


CARVE_OUTS: tuple[CarveOut, ...] = (
    CarveOut(
        "art5_c_lawful_specific_purpose",
        all_(
            y("art5_c_social_scoring"),
            no("art5_c_unrelated_context"),
            y("art5_c_disproportionate"),
            yes("art5_c_lawful_specific_purpose"),
        ),
        "Art. 5(1)(c)",
        "a lawful evaluation for a specific purpose under Union or national law, with consequences limited to that purpose, is not social scoring under Art. 5(1)(c) (recital 31); it may still be high-risk under Annex III",
    ),
    CarveOut(
        "art5_d_human_assessment",
        all_(y("art5_d_crime_prediction"), y("art5_d_solely_profiling"), yes("art5_d_supports_human_assessment")),
        "Art. 5(1)(d)",
        "the system supports a human assessment based on objective, verifiable facts, so the Art. 5(1)(d) prohibition does not apply",
    ),
    CarveOut(
        "art5_f_not_workers_or_students",
        all_(y("emotion_recognition"), y("art5_f_workplace_education"), no("art5_f_workers_or_students")),
        "Art. 5(1)(f)",
        "the system infers the emotions of customers, patients, visitors or travellers, not of workers or students, so Art. 5(1)(f) does not apply; it is high-risk under Annex III point 1(c)",
    ),
    CarveOut(
        "art5_f_medical_safety",
        all_(
            y("emotion_recognition"),
            y("art5_f_workplace_education"),
            y("art5_f_workers_or_students"),
            yes("art5_f_medical_safety"),
        ),
        "Art. 5(1)(f)",
        "emotion recognition at work or in education for medical or safety reasons is not prohibited; it remains high-risk under Annex III point 1(c)",
    ),
    CarveOut(
        "art5_g_labelling_law_enforcement",
        all_(
            flag("biometric_categorisation_system"),
            y("art5_g_sensitive_inference"),
            yes("art5_g_labelling_or_law_enforcement"),
        ),
        "Art. 5(1)(g)",
        "labelling or filtering lawfully acquired biometric datasets, or categorisation in law enforcement, is not prohibited by Art. 5(1)(g)",
    ),
    CarveOut(
        "biometric_categorisation_ancillary",
        all_(y("biometric_categorisation"), yes("biometric_categorisation_ancillary")),
        "Art. 3(40)",
        "an ancillary categorisation feature strictly necessary for technical reasons is not a biometric categorisation system",
    ),
    CarveOut(
        "biometric_verification_only",
        all_(y("biometric_identification"), yes("biometric_verification_only")),
        "Annex III point 1(a)",
        "biometric verification (one-to-one) is excluded from remote biometric identification under Annex III point 1(a) and from Art. 5(1)(h)",
    ),
    CarveOut(
        "rbi_authorised_exception",
        all_(
            flag("rbi_system"),
            y("rbi_real_time"),
            y("rbi_public_space"),
            y("rbi_law_enforcement"),
            not_(is_("rbi_objective", "none")),
            {"q": "rbi_objective", "answered": True},
            yes("rbi_national_law"),
            yes("rbi_authorised"),
            yes("rbi_fria_registration"),
        ),
        "Art. 5(1)(h)",
        "the use serves an objective listed in Art. 5(1)(h), national law provides for it (Art. 5(5)), each use is authorised (Art. 5(3)) and the FRIA and registration are done (Art. 5(2)), so it is not prohibited; it remains high-risk under Annex III point 1(a)",
    ),
    CarveOut(
        "annex3_2_cybersecurity_only",
        all_(y("annex3_2_safety_component"), yes("annex3_2_cybersecurity_only")),
        "Annex III point 2",
        "components used solely for cybersecurity are not safety components under Annex III point 2",
    ),
    CarveOut(
        "annex3_5b_fraud_detection",
        all_(is_("annex3_5b_creditworthiness", "unsure"), yes("annex3_5b_fraud_detection_only")),
        "Annex III point 5(b)",
        "systems used to detect financial fraud are excluded from Annex III point 5(b)",
    ),
    CarveOut(
        "annex3_7d_travel_documents",
        all_(y("annex3_7d_identification"), yes("annex3_7d_travel_documents_only")),
        "Annex III point 7(d)",
        "verification of travel documents is excluded from Annex III point 7(d)",
    ),
    CarveOut(
        "annex3_8a_ancillary",
        all_(y("annex3_8a_judicial"), yes("annex3_8a_ancillary_only")),
        "Annex III point 8(a)",
        "purely ancillary administrative tasks for courts are not covered by Annex III point 8(a)",
    ),
    CarveOut(
        "annex3_8b_not_exposed",
        all_(y("annex3_8b_elections"), yes("annex3_8b_not_exposed")),
        "Annex III point 8(b)",
        "campaign tools whose output people are not directly exposed to are excluded from Annex III point 8(b)",
    ),
    CarveOut(
        "art50_1_obvious",
        all_(y("art50_1_interacts"), yes("art50_1_obvious")),
        "Art. 50(1)",
        "it is obvious to people that they interact with AI, so Art. 50(1) does not apply",
    ),
    CarveOut(
        "art50_1_law_enforcement",
        all_(y("art50_1_interacts"), yes("art50_1_law_enforcement")),
        "Art. 50(1)",
        "systems authorised by law for criminal-offence purposes are exempt from Art. 50(1)",
    ),
    CarveOut(
        "art50_2_editing",
        all_(y("art50_2_synthetic_content"), yes("art50_2_editing_only")),
        "Art. 50(2)",
        "assistive standard editing that does not substantially alter the input is exempt from Art. 50(2) marking",
    ),
    CarveOut(
        "art50_2_law_enforcement",
        all_(y("art50_2_synthetic_content"), yes("art50_2_law_enforcement")),
        "Art. 50(2)",
        "use authorised by law for criminal-offence purposes is exempt from Art. 50(2)",
    ),
    CarveOut(
        "art50_3_law_enforcement",
        yes("art50_3_law_enforcement"),
        "Art. 50(3)",
        "use permitted by law for criminal-offence purposes is exempt from Art. 50(3)",
    ),
    CarveOut(
        "art50_4_law_enforcement",
        yes("art50_4_law_enforcement"),
        "Art. 50(4)",
        "use authorised by law for criminal-offence purposes is exempt from Art. 50(4)",
    ),
    CarveOut(
        "art50_4_editorial_control",
        all_(y("art50_4_public_interest_text"), yes("art50_4_editorial_control")),
        "Art. 50(4)",
        "text under human editorial control with a person holding editorial responsibility needs no AI disclosure",
    ),
    CarveOut(
        "art50_4_artistic",
        all_(flag("art50_4_deep_fake"), yes("art50_4_artistic")),
        "Art. 50(4)",
        "for an evidently artistic, creative, satirical or fictional work the deep-fake disclosure may be limited to a notice that does not hamper the work",
    ),
)


@dataclass(frozen=True)
class ContradictionRule:
    code: str
    condition: Condition  # evaluated on all supplied answers, visible or not
    question_ids: tuple[str, ...]
    message: str


CONTRADICTION_RULES: tuple[ContradictionRule, ...] = (
    ContradictionRule(
        "gpai_but_not_ai_system",
        all_(no("is_ai_system"), yes("involves_gpai")),
        ("is_ai_system", "involves_gpai"),
        "You answered that the system does not infer its outputs, but also that it is or is built "
        "on a general-purpose AI model. Such a model infers its outputs, the defining feature of an "
        "AI system (Art. 3(1)). Review both answers.",
    ),
    ContradictionRule(
        "military_exclusive_but_civilian",
        all_(yes("military_exclusive"), yes("military_civilian_use")),
        ("military_exclusive", "military_civilian_use"),
        "You answered that the system is used exclusively for military, defence or national "
        "security, but also that it is placed on the EU market or used for civilian purposes. The "
        "Art. 2(3) exclusion covers exclusive use only; the system is treated as in scope until "
        "this is resolved.",
    ),
    ContradictionRule(
        "personal_use_but_supplier",
        all_(
            yes("personal_use"),
            any_(
                *(has("roles", role) for role in ("provider", "importer", "distributor", "authorised_representative"))
            ),
        ),
        ("personal_use", "roles"),
        "You answered that this is purely personal, non-professional use, but also that you "
        "provide, import or distribute the system. Art. 2(10) only relieves personal users.",
    ),
    ContradictionRule(
        "credit_scoring_but_fraud_only",
        all_(yes("annex3_5b_creditworthiness"), yes("annex3_5b_fraud_detection_only")),
        ("annex3_5b_creditworthiness", "annex3_5b_fraud_detection_only"),
        "You answered that the system evaluates creditworthiness and that its only purpose is "
        "fraud detection. The fraud carve-out of Annex III point 5(b) covers fraud detection only; "
        "a system that evaluates creditworthiness stays high-risk. It is treated as 5(b) until "
        "this is resolved.",
    ),
    ContradictionRule(
        "law_enforcement_profiling_denied",
        all_(yes("annex3_6e_profiling"), no("art6_3_profiling")),
        ("annex3_6e_profiling", "art6_3_profiling"),
        "You answered that the system profiles people in criminal investigations (Annex III point "
        "6(e)) but also that it does not profile natural persons. Review both answers.",
    ),
)
