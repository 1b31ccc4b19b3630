"""Issue #14, second pass of the EU AI Act classification: one case per row, asserting the outcome,
the tier, the headline a compliance officer reads, the legal bases and the obligations."""

from __future__ import annotations

import pytest

from governance.choices import OutcomeChoice
from governance.presentation import outcome_headline
from governance.rules import RULES_VERSION, derive_obligations
from governance.services import risk_tier_for
from tests.governance.rules.helpers import classify_complete

MINIMAL = "Minimal risk: no specific AI Act duties beyond AI literacy (Art. 4)"
_GPAI = dict(involves_gpai="yes", gpai_model_provider="yes")

# name: (answers, outcome, tier, headline, legal bases that must be cited, obligation codes that must be derived)
HEADLINE_CASES = {
    "a customer-service chatbot names the Art. 50(1) transparency regime": (
        dict(art50_1_interacts="yes"),
        "transparency_obligations",
        "limited",
        "Transparency obligations (Art. 50(1))",
        {"Art. 50(1)"},
        {"art_50_1_interaction_disclosure"},
    ),
    "an image generator that is also a chatbot names both paragraphs": (
        dict(art50_1_interacts="yes", art50_2_synthetic_content="yes"),
        "transparency_obligations",
        "limited",
        "Transparency obligations (Art. 50(1), Art. 50(2))",
        {"Art. 50(1)", "Art. 50(2)"},
        {"art_50_1_interaction_disclosure", "art_50_2_output_marking"},
    ),
    "a 3x10^25 FLOP model has systemic risk under Art. 51(1)(a) by the Art. 51(2) presumption": (
        dict(_GPAI, gpai_compute_over_threshold="yes"),
        "gpai_model_systemic_risk",
        "limited",
        "General-purpose AI model with systemic risk (Art. 51(1)(a), Art. 53, Art. 55)",
        {"Art. 51(1)(a)", "Art. 51(2)", "Art. 53(1)", "Art. 55(1)"},
        {
            "art_53_1_a_technical_documentation",
            "art_52_1_systemic_risk_notification",
            "art_55_1_systemic_risk_obligations",
        },
    ),
    "a model designated by the Commission has systemic risk under Art. 51(1)(b)": (
        dict(_GPAI, gpai_designated="yes"),
        "gpai_model_systemic_risk",
        "limited",
        "General-purpose AI model with systemic risk (Art. 51(1)(b), Art. 53, Art. 55)",
        {"Art. 51(1)(b)", "Art. 53(1)", "Art. 55(1)"},
        {"art_55_1_systemic_risk_obligations"},
    ),
    "a model below the threshold names the GPAI model regime of Art. 53": (
        dict(_GPAI),
        "gpai_model",
        "limited",
        "General-purpose AI model (Art. 53)",
        {"Art. 53(1)"},
        {"art_53_1_c_copyright_policy", "art_53_1_d_training_content_summary"},
    ),
    "a GPAI chatbot names the transparency and the model regime": (
        dict(_GPAI, art50_1_interacts="yes"),
        "gpai_model",
        "limited",
        "Transparency obligations (Art. 50(1)); General-purpose AI model (Art. 53)",
        {"Art. 50(1)", "Art. 53(1)"},
        {"art_50_1_interaction_disclosure", "art_53_1_c_copyright_policy"},
    ),
    "an open-source model keeps the model regime although the system is excluded by Art. 2(12)": (
        dict(_GPAI, open_source_licence="yes"),
        "out_of_scope",
        "limited",
        "System out of scope (Art. 2(12)); General-purpose AI model (Art. 53)",
        {"Art. 2(12)", "Art. 53(1)"},
        {"art_53_1_c_copyright_policy"},
    ),
    "a system without Art. 50 or GPAI duties is minimal": (
        dict(),
        "minimal_risk",
        "minimal",
        MINIMAL,
        set(),
        {"art_4_ai_literacy"},
    ),
}


@pytest.mark.parametrize(
    "answers, outcome, tier, headline, bases, codes", HEADLINE_CASES.values(), ids=HEADLINE_CASES.keys()
)
def test_the_headline_names_the_regime_the_tier_and_legal_bases_show(answers, outcome, tier, headline, bases, codes):
    determination = classify_complete(**answers)
    result = determination.to_dict()

    assert determination.outcome == outcome
    assert determination.risk_tier == tier
    assert risk_tier_for(determination.outcome, result["transparency"], result["gpai"]) == tier
    assert outcome_headline(determination.outcome, result) == headline
    assert bases <= {basis.article for basis in determination.legal_bases}
    assert codes <= {obligation.code for obligation in derive_obligations(determination)}


@pytest.mark.parametrize(
    "answers",
    [dict(art50_1_interacts="yes"), dict(art50_2_synthetic_content="yes"), dict(art50_4_deep_fake="yes")],
    ids=["50(1)", "50(2)", "50(4)"],
)
def test_a_system_with_art_50_duties_never_reads_minimal_risk(answers):
    determination = classify_complete(roles=["provider", "deployer"], **answers)

    assert determination.transparency
    assert outcome_headline(determination.outcome, determination.to_dict()) != MINIMAL
    assert determination.risk_tier == "limited"


def test_the_stored_outcome_names_the_regime_so_lists_and_reports_agree_with_the_headline():
    chatbot = classify_complete(art50_1_interacts="yes")
    model = classify_complete(**_GPAI, gpai_compute_over_threshold="yes")

    assert (chatbot.outcome, model.outcome) == ("transparency_obligations", "gpai_model_systemic_risk")
    assert OutcomeChoice(chatbot.outcome).label == "Transparency obligations (Art. 50)"
    assert "systemic risk" in OutcomeChoice(model.outcome).label


def test_a_determination_made_under_the_old_rules_keeps_its_stored_result():
    stored = {"outcome": "minimal_risk", "risk_tier": "minimal", "rules_version": "2026.11-1", "transparency": []}

    assert RULES_VERSION != "2026.11-1"
    assert outcome_headline(stored["outcome"], stored) == MINIMAL


# --- Defect 4: each Art. 50 duty binds one role ---------------------------------------------------

_LLM_TEXT = dict(art50_2_synthetic_content="yes", art50_4_public_interest_text="yes")

# name: (answers, tier, headline, Art. 50 paragraphs yours, Art. 50 paragraphs of another role,
#        Art. 50 legal bases, Art. 50 obligation codes)
ROLE_CASES = {
    "a deployer drafting texts with an LLM under a person's editorial responsibility is minimal": (
        dict(roles=["deployer"], art50_4_editorial_control="yes", **_LLM_TEXT),
        "minimal",
        MINIMAL,
        (),
        ("50(2)",),
        set(),
        set(),
    ),
    "a deployer publishing LLM text without editorial control has only the Art. 50(4) text duty": (
        dict(roles=["deployer"], art50_4_editorial_control="no", **_LLM_TEXT),
        "limited",
        "Transparency obligations (Art. 50(4))",
        ("50(4)",),
        ("50(2)",),
        {"Art. 50(4)"},
        {"art_50_4_text_disclosure"},
    ),
    "the provider of that LLM marks its output (Art. 50(2)) but has no Art. 50(4) duty": (
        dict(roles=["provider"], art50_4_editorial_control="no", **_LLM_TEXT),
        "limited",
        "Transparency obligations (Art. 50(2))",
        ("50(2)",),
        ("50(4)",),
        {"Art. 50(2)"},
        {"art_50_2_output_marking"},
    ),
    "an organisation that is provider and deployer has both duties": (
        dict(roles=["provider", "deployer"], art50_4_editorial_control="no", **_LLM_TEXT),
        "limited",
        "Transparency obligations (Art. 50(2), Art. 50(4))",
        ("50(2)", "50(4)"),
        (),
        {"Art. 50(2)", "Art. 50(4)"},
        {"art_50_2_output_marking", "art_50_4_text_disclosure"},
    ),
    "a deployer of a bought-in chatbot has no Art. 50(1) design duty": (
        dict(roles=["deployer"], art50_1_interacts="yes"),
        "minimal",
        MINIMAL,
        (),
        ("50(1)",),
        set(),
        set(),
    ),
    "a deployer of biometric categorisation by hair colour informs the people exposed (Art. 50(3))": (
        dict(roles=["deployer"], biometric_categorisation="yes", annex3_1b_protected_attributes="no"),
        "limited",
        "Transparency obligations (Art. 50(3))",
        ("50(3)",),
        (),
        {"Art. 50(3)"},
        {"art_50_3_exposure_notice"},
    ),
}


@pytest.mark.parametrize(
    "answers, tier, headline, yours, others, bases, codes", ROLE_CASES.values(), ids=ROLE_CASES.keys()
)
def test_each_art_50_duty_binds_only_the_role_the_act_names(answers, tier, headline, yours, others, bases, codes):
    determination = classify_complete(**answers)
    obligations = {obligation.code for obligation in derive_obligations(determination)}

    assert determination.outcome == ("transparency_obligations" if yours else "minimal_risk")
    assert determination.risk_tier == tier
    assert outcome_headline(determination.outcome, determination.to_dict()) == headline
    assert determination.transparency == yours
    assert determination.art_50_other_roles == others
    assert {b.article for b in determination.legal_bases if b.article.startswith("Art. 50")} == bases
    assert {code for code in obligations if code.startswith("art_50")} == codes
    assert "art_4_ai_literacy" in obligations
    for paragraph in others:
        assert any(f"Art. {paragraph} applies to the system but binds its" in step for step in determination.rationale)


def test_an_art_50_duty_of_another_role_still_keeps_an_open_source_system_in_scope():
    determination = classify_complete(roles=["deployer"], open_source_licence="yes", art50_2_synthetic_content="yes")

    assert determination.outcome == "minimal_risk"
    assert determination.excluded_by is None
    assert determination.art_50_other_roles == ("50(2)",)


# --- Defects 5 and 6: biometric identification by law enforcement ------------------------------

_RBI = dict(roles=["deployer"], biometric_identification="yes", rbi_remote="yes")
_REAL_TIME = dict(_RBI, rbi_real_time="yes", rbi_public_space="yes", rbi_law_enforcement="yes")

# name: (answers, outcome, legal bases cited, legal bases not cited, obligation codes in, codes not in)
RBI_CASES = {
    "a lawful search for abduction victims cites Art. 5(1)(h)(i), 5(2), 5(3) and derives the Art. 5(4) notification": (
        dict(_REAL_TIME, rbi_objective="victims_missing_persons", rbi_authorised="yes"),
        "high_risk_annex_iii",
        {"Art. 5(1)(h)(i)", "Art. 5(2)", "Art. 5(3)", "Art. 5(4)"},
        {"Art. 5(1)(h)"},
        {"art_5_4_rbi_use_notification", "art_26_deployer_obligations"},
        {"art_5_prohibited_practice"},
    ),
    "a lawful search for a threat to life cites Art. 5(1)(h)(ii)": (
        dict(_REAL_TIME, rbi_objective="imminent_threat", rbi_authorised="yes"),
        "high_risk_annex_iii",
        {"Art. 5(1)(h)(ii)", "Art. 5(2)", "Art. 5(3)", "Art. 5(4)"},
        set(),
        {"art_5_4_rbi_use_notification"},
        set(),
    ),
    "a lawful search for a serious-crime suspect cites Art. 5(1)(h)(iii)": (
        dict(_REAL_TIME, rbi_objective="serious_crime_suspect", rbi_authorised="yes"),
        "high_risk_annex_iii",
        {"Art. 5(1)(h)(iii)", "Art. 5(4)"},
        set(),
        {"art_5_4_rbi_use_notification"},
        set(),
    ),
    "an unauthorised use stays prohibited, with no exception cited": (
        dict(_REAL_TIME, rbi_objective="victims_missing_persons", rbi_authorised="no"),
        "prohibited",
        {"Art. 5(1)(h)"},
        {"Art. 5(1)(h)(i)", "Art. 5(2)", "Art. 5(4)"},
        {"art_5_prohibited_practice"},
        {"art_5_4_rbi_use_notification"},
    ),
    "police searching stills after the event derive Art. 26(10)": (
        dict(_RBI, rbi_real_time="no", rbi_law_enforcement="yes"),
        "high_risk_annex_iii",
        {"Art. 26(10)"},
        {"Art. 5(1)(h)", "Art. 5(4)"},
        {"art_26_10_post_rbi_authorisation", "art_26_deployer_obligations"},
        {"art_5_4_rbi_use_notification"},
    ),
    "a retailer searching stills after the event has no Art. 26(10) duty": (
        dict(_RBI, rbi_real_time="no", rbi_law_enforcement="no"),
        "high_risk_annex_iii",
        set(),
        {"Art. 26(10)"},
        {"art_26_deployer_obligations"},
        {"art_26_10_post_rbi_authorisation"},
    ),
}


@pytest.mark.parametrize(
    "answers, outcome, cited, not_cited, codes, not_codes", RBI_CASES.values(), ids=RBI_CASES.keys()
)
def test_biometric_identification_exceptions_and_post_remote_use_are_legal_bases(
    answers, outcome, cited, not_cited, codes, not_codes
):
    determination = classify_complete(**answers)
    articles = {basis.article for basis in determination.legal_bases}
    obligations = {obligation.code for obligation in derive_obligations(determination)}

    assert determination.outcome == outcome
    assert cited <= articles
    assert not (not_cited & articles)
    assert codes <= obligations
    assert not (not_codes & obligations)


def test_the_law_enforcement_question_is_asked_for_post_remote_identification():
    from governance.rules import visible_questions
    from tests.governance.rules.helpers import complete

    answers = complete(**_RBI, rbi_real_time="no")

    assert "rbi_law_enforcement" in {question.id for question in visible_questions(answers)}


# --- Defect 2: a general-purpose AI model is not an AI system -------------------------------------

_MODEL = dict(involves_gpai="yes", provider_offering="gpai_model")
_A_TO_D = {"Art. 53(1)(a)", "Art. 53(1)(b)", "Art. 53(1)(c)", "Art. 53(1)(d)"}
_ALL_53 = {
    "art_53_1_a_technical_documentation",
    "art_53_1_b_downstream_information",
    "art_53_1_c_copyright_policy",
    "art_53_1_d_training_content_summary",
}

# name: (answers, outcome, legal bases cited, legal bases not cited, obligation codes in, codes not in)
GPAI_MODEL_CASES = {
    "a model placed on the market on its own gets Art. 53(1)(a) to (d) and no system duty": (
        dict(_MODEL),
        "gpai_model",
        {"Art. 53(1)", *_A_TO_D},
        {"Art. 54", "Art. 55(1)", "Art. 50(2)"},
        _ALL_53,
        {"art_4_ai_literacy", "art_50_2_output_marking", "art_54_authorised_representative"},
    ),
    "a model's stale Art. 50 answers attach no Art. 50(2) or 50(4) duty to it": (
        dict(_MODEL, art50_2_synthetic_content="yes", art50_4_deep_fake="yes", art50_1_interacts="yes"),
        "gpai_model",
        _A_TO_D,
        {"Art. 50(1)", "Art. 50(2)", "Art. 50(4)"},
        _ALL_53,
        {"art_50_1_interaction_disclosure", "art_50_2_output_marking", "art_50_4_deep_fake_disclosure"},
    ),
    "an open-weights model below the threshold keeps 53(1)(c) and (d) and needs no representative (54(6))": (
        dict(_MODEL, gpai_open_source="yes", gpai_third_country="yes"),
        "gpai_model",
        {"Art. 53(1)(c)", "Art. 53(1)(d)", "Art. 53(2)", "Art. 54(6)"},
        {"Art. 53(1)(a)", "Art. 53(1)(b)", "Art. 54"},
        {"art_53_1_c_copyright_policy", "art_53_1_d_training_content_summary"},
        {
            "art_53_1_a_technical_documentation",
            "art_53_1_b_downstream_information",
            "art_54_authorised_representative",
        },
    ),
    "an open-weights model is not excluded as a system by Art. 2(12): it keeps the model regime": (
        dict(_MODEL, open_source_licence="yes", gpai_open_source="yes"),
        "gpai_model",
        {"Art. 53(1)(c)", "Art. 53(2)"},
        {"Art. 2(12)", "Art. 54(6)"},
        {"art_53_1_c_copyright_policy"},
        {"art_53_1_a_technical_documentation"},
    ),
    "a non-EU provider of a closed model appoints an authorised representative (Art. 54)": (
        dict(_MODEL, gpai_third_country="yes"),
        "gpai_model",
        {"Art. 54", *_A_TO_D},
        {"Art. 54(6)", "Art. 53(2)"},
        {*_ALL_53, "art_54_authorised_representative"},
        set(),
    ),
    "an open-weights model over 10^25 FLOP loses both open-source exceptions (systemic risk)": (
        dict(_MODEL, gpai_compute_over_threshold="yes", gpai_open_source="yes", gpai_third_country="yes"),
        "gpai_model_systemic_risk",
        {"Art. 51(1)(a)", "Art. 51(2)", "Art. 52(1)", "Art. 54", "Art. 55(1)", *_A_TO_D},
        {"Art. 53(2)", "Art. 54(6)", "Art. 51(1)(b)"},
        {
            *_ALL_53,
            "art_54_authorised_representative",
            "art_52_1_systemic_risk_notification",
            "art_55_1_systemic_risk_obligations",
        },
        set(),
    ),
    "a model designated by the Commission has systemic risk under Art. 51(1)(b) only": (
        dict(_MODEL, gpai_designated="yes"),
        "gpai_model_systemic_risk",
        {"Art. 51(1)(b)", "Art. 55(1)", *_A_TO_D},
        {"Art. 51(1)(a)", "Art. 54"},
        {*_ALL_53, "art_55_1_systemic_risk_obligations"},
        {"art_54_authorised_representative"},
    ),
    "a fine-tune using less than a third of the compute leaves the model duties with the original provider": (
        dict(_MODEL, gpai_modified_model="yes", gpai_modification_over_third="no"),
        "minimal_risk",
        set(),
        {"Art. 53(1)", *_A_TO_D},
        set(),
        _ALL_53,
    ),
    "a fine-tune using more than a third of the compute makes you the modified model's provider": (
        dict(_MODEL, gpai_modified_model="yes", gpai_modification_over_third="yes"),
        "gpai_model",
        _A_TO_D,
        set(),
        _ALL_53,
        set(),
    ),
    "a provider of a model and a chatbot built on it has the model and the system duties": (
        dict(involves_gpai="yes", provider_offering="both", art50_1_interacts="yes", art50_2_synthetic_content="yes"),
        "gpai_model",
        {"Art. 50(1)", "Art. 50(2)", *_A_TO_D},
        set(),
        {*_ALL_53, "art_50_1_interaction_disclosure", "art_50_2_output_marking", "art_4_ai_literacy"},
        set(),
    ),
    "a provider of a system built on another company's model has no model duty": (
        dict(involves_gpai="yes", provider_offering="ai_system", art50_1_interacts="yes"),
        "transparency_obligations",
        {"Art. 50(1)"},
        {"Art. 53(1)", *_A_TO_D},
        {"art_50_1_interaction_disclosure"},
        _ALL_53,
    ),
}


@pytest.mark.parametrize(
    "answers, outcome, cited, not_cited, codes, not_codes", GPAI_MODEL_CASES.values(), ids=GPAI_MODEL_CASES.keys()
)
def test_a_general_purpose_ai_model_gets_the_model_regime_and_no_system_duties(
    answers, outcome, cited, not_cited, codes, not_codes
):
    determination = classify_complete(**answers)
    articles = {basis.article for basis in determination.legal_bases}
    obligations = {obligation.code for obligation in derive_obligations(determination)}

    assert determination.outcome == outcome
    assert cited <= articles
    assert not (not_cited & articles)
    assert codes <= obligations
    assert not (not_codes & obligations)


def test_the_system_questions_are_not_asked_about_a_model_placed_on_the_market_alone():
    from governance.rules import visible_questions
    from tests.governance.rules.helpers import complete

    model = {q.id for q in visible_questions(complete(**_MODEL))}
    system = {q.id for q in visible_questions(complete(involves_gpai="yes", provider_offering="both"))}
    system_questions = {"art5_a_techniques", "art5_c_social_scoring", "annex1_covered", "annex3_areas"}
    system_questions |= {"art50_1_interacts", "art50_2_synthetic_content", "art50_4_deep_fake"}
    model_questions = {"gpai_compute_over_threshold", "gpai_designated", "gpai_open_source", "gpai_third_country"}
    model_questions |= {"gpai_modified_model"}

    assert not (system_questions & model)
    assert model_questions <= model
    assert system_questions <= system
    assert "gpai_model_provider" not in model  # the offering question has said it


def test_the_offering_question_is_asked_of_providers_whose_system_involves_a_gpai_model_only():
    from governance.rules import visible_questions
    from tests.governance.rules.helpers import complete

    def asked(**answers):
        return "provider_offering" in {q.id for q in visible_questions(complete(**answers))}

    assert asked(involves_gpai="yes", roles=["provider"])
    assert not asked(involves_gpai="no", roles=["provider"])
    assert not asked(involves_gpai="yes", roles=["deployer"])


def test_an_open_weights_model_headline_and_tier_name_the_model_regime():
    determination = classify_complete(**_MODEL, gpai_open_source="yes", open_source_licence="yes")

    assert determination.risk_tier == "limited"
    assert outcome_headline(determination.outcome, determination.to_dict()) == "General-purpose AI model (Art. 53)"
    assert any("Art. 53(2)" in step for step in determination.rationale)


# --- Defect 3: every operator role of the Act, and "none of these" --------------------------------

_HR = dict(annex3_areas=["employment"], annex3_4a_recruitment="yes")
_LIFT = dict(annex1_covered="yes", annex1_act="lifts", annex1_third_party="yes")
_AR_CODES = {"art_22_mandate", "art_22_documentation_keeping", "art_22_authority_cooperation", "art_22_registration"}

# name: (answers, outcome, effective roles, legal bases cited, not cited, obligation codes in, codes not in)
OPERATOR_ROLE_CASES = {
    "an authorised representative of a non-EU provider of HR screening has the Art. 22 duties": (
        dict(roles=["authorised_representative"], **_HR),
        "high_risk_annex_iii",
        ("authorised_representative",),
        {"Art. 22", "Art. 6(2)"},
        {"Art. 23", "Art. 24"},
        _AR_CODES,
        {"art_9_risk_management", "art_4_ai_literacy"},
    ),
    "an authorised representative for a lift's safety component registers nothing in the EU database": (
        dict(roles=["authorised_representative"], **_LIFT),
        "high_risk_annex_i",
        ("authorised_representative",),
        {"Art. 22"},
        set(),
        _AR_CODES - {"art_22_registration"},
        {"art_22_registration"},
    ),
    "an authorised representative of a chatbot has no Art. 22 duty: those are high-risk duties": (
        dict(roles=["authorised_representative"], art50_1_interacts="yes"),
        "minimal_risk",
        ("authorised_representative",),
        set(),
        {"Art. 22", "Art. 50(1)"},
        set(),
        _AR_CODES,
    ),
    "an importer of a high-risk system cites Art. 23": (
        dict(roles=["importer"], **_HR),
        "high_risk_annex_iii",
        ("importer",),
        {"Art. 23"},
        {"Art. 24", "Art. 22"},
        {"art_23_importer_obligations"},
        {"art_24_distributor_obligations"},
    ),
    "a distributor of a high-risk system cites Art. 24": (
        dict(roles=["distributor"], **_HR),
        "high_risk_annex_iii",
        ("distributor",),
        {"Art. 24"},
        {"Art. 23"},
        {"art_24_distributor_obligations"},
        set(),
    ),
    "an importer of a minimal-risk system cites no Art. 23": (
        dict(roles=["importer"]),
        "minimal_risk",
        ("importer",),
        set(),
        {"Art. 23"},
        set(),
        {"art_23_importer_obligations"},
    ),
    "a distributor of an Annex I Section B product cites no Art. 24 (Art. 2(2))": (
        dict(roles=["distributor"], annex1_covered="yes", annex1_act="agricultural_vehicles", annex1_third_party="yes"),
        "high_risk_annex_i",
        ("distributor",),
        {"Art. 2(2)"},
        {"Art. 24"},
        set(),
        {"art_24_distributor_obligations"},
    ),
    "a lift maker placing the lift under its own name is the AI component's provider (Art. 25(3))": (
        dict(roles=["product_manufacturer"], annex1_manufacturer_own_name="yes", **_LIFT),
        "high_risk_annex_i",
        ("provider", "product_manufacturer"),
        {"Art. 25(3)", "Art. 6(1)"},
        set(),
        {"art_9_risk_management", "art_43_conformity_assessment"},
        set(),
    ),
    "a lift maker not using its own name cites Art. 25(3) but has no provider duty": (
        dict(roles=["product_manufacturer"], annex1_manufacturer_own_name="no", **_LIFT),
        "high_risk_annex_i",
        ("product_manufacturer",),
        {"Art. 25(3)"},
        set(),
        set(),
        {"art_9_risk_management"},
    ),
    "an organisation with none of these roles has no duty, but the system is still classified": (
        dict(roles=["none"], **_HR),
        "high_risk_annex_iii",
        (),
        {"Art. 3(8)", "Art. 6(2)"},
        set(),
        set(),
        {"art_4_ai_literacy", "art_26_deployer_obligations", "art_9_risk_management"},
    ),
    "with none of these roles no Art. 50 duty is yours": (
        dict(roles=["none"], art50_1_interacts="yes", art50_4_deep_fake="yes"),
        "minimal_risk",
        (),
        set(),
        {"Art. 50(1)", "Art. 50(4)"},
        set(),
        {"art_50_1_interaction_disclosure", "art_50_4_deep_fake_disclosure"},
    ),
    "a deployer that rebrands a high-risk system becomes provider and keeps its Art. 26 duties": (
        dict(roles=["deployer"], art25_own_name="yes", **_HR),
        "high_risk_annex_iii",
        ("provider", "deployer"),
        {"Art. 25(1)(a)"},
        set(),
        {"art_9_risk_management", "art_26_deployer_obligations"},
        set(),
    ),
    "an importer that rebrands a high-risk system: the provider duties replace the Art. 23 checks": (
        dict(roles=["importer"], art25_own_name="yes", **_HR),
        "high_risk_annex_iii",
        ("provider",),
        {"Art. 25(1)(a)"},
        {"Art. 23"},
        {"art_9_risk_management", "art_16_provider_obligations"},
        {"art_23_importer_obligations"},
    ),
    "an authorised representative that substantially modifies a high-risk system becomes its provider": (
        dict(roles=["authorised_representative"], art25_substantial_modification="yes", **_HR),
        "high_risk_annex_iii",
        ("provider",),
        {"Art. 25(1)(b)"},
        {"Art. 22"},
        {"art_9_risk_management"},
        _AR_CODES,
    ),
}


@pytest.mark.parametrize(
    "answers, outcome, roles, cited, not_cited, codes, not_codes",
    OPERATOR_ROLE_CASES.values(),
    ids=OPERATOR_ROLE_CASES.keys(),
)
def test_every_operator_role_gets_its_article_and_duties(answers, outcome, roles, cited, not_cited, codes, not_codes):
    determination = classify_complete(**answers)
    articles = {basis.article for basis in determination.legal_bases}
    obligations = {obligation.code for obligation in derive_obligations(determination)}

    assert determination.outcome == outcome
    assert determination.effective_roles == roles
    assert cited <= articles
    assert not (not_cited & articles)
    assert codes <= obligations
    assert not (not_codes & obligations)


# name: (declared roles, Art. 25 answer, words the rationale step after the switch must contain)
AFTER_SWITCH_CASES = {
    "a deployer keeps its Art. 26 duties because it still uses the system": (
        ["deployer"],
        dict(art25_changed_purpose="yes"),
        "Art. 26 deployer duties remain: you still use the system",
    ),
    "an importer's Art. 23 duties end": (["importer"], dict(art25_own_name="yes"), "Art. 23 importer duties end"),
    "a distributor's Art. 24 duties end": (
        ["distributor"],
        dict(art25_substantial_modification="yes"),
        "Art. 24 distributor duties end",
    ),
}


@pytest.mark.parametrize("roles, switch, words", AFTER_SWITCH_CASES.values(), ids=AFTER_SWITCH_CASES.keys())
def test_after_an_art_25_switch_the_rationale_says_which_duties_of_the_old_role_remain(roles, switch, words):
    determination = classify_complete(roles=roles, **switch, **_HR)

    assert determination.role_switches
    assert any(words in step for step in determination.rationale)


def test_none_of_these_roles_cannot_be_combined_with_a_role():
    from governance.rules import validate_answers
    from tests.governance.rules.helpers import complete

    outcome = validate_answers(complete(roles=["none", "deployer"]))

    assert [item.question_id for item in outcome.invalid_answers] == ["roles"]
    assert "roles" in outcome.missing


# --- Defect 8: questions that can express the case ---------------------------------------------

_EMOTION_AT_WORK = dict(roles=["provider", "deployer"], emotion_recognition="yes", art5_f_workplace_education="yes")
_REFS = {"Annex III point 1(c)", "Art. 50(3)"}

# name: (answers, outcome, references cited (articles or annex points), not cited, codes in, codes not in)
WORDING_CASES = {
    "a call centre reading its customers' emotions is high-risk under Annex III 1(c), not prohibited": (
        dict(_EMOTION_AT_WORK, art5_f_workers_or_students="no"),
        "high_risk_annex_iii",
        _REFS,
        {"Art. 5(1)(f)"},
        {"art_26_deployer_obligations", "art_50_3_exposure_notice", "art_9_risk_management"},
        {"art_5_prohibited_practice"},
    ),
    "inferring the workers' emotions is prohibited by Art. 5(1)(f)": (
        dict(_EMOTION_AT_WORK, art5_f_workers_or_students="yes"),
        "prohibited",
        {"Art. 5(1)(f)"},
        {"Annex III point 1(c)"},
        {"art_5_prohibited_practice"},
        {"art_9_risk_management"},
    ),
    "unsure whose emotions are inferred reads as the workers' (the stricter reading)": (
        dict(_EMOTION_AT_WORK, art5_f_workers_or_students="unsure"),
        "prohibited",
        {"Art. 5(1)(f)"},
        set(),
        {"art_5_prohibited_practice"},
        set(),
    ),
    "reading pupils' emotions for medical or safety reasons is high-risk, not prohibited": (
        dict(_EMOTION_AT_WORK, art5_f_workers_or_students="yes", art5_f_medical_safety="yes"),
        "high_risk_annex_iii",
        {"Annex III point 1(c)"},
        {"Art. 5(1)(f)"},
        {"art_9_risk_management"},
        {"art_5_prohibited_practice"},
    ),
    "a product under a Section A and a Section B act gets the full Section A route": (
        dict(annex1_covered="yes", annex1_act=["machinery", "agricultural_vehicles"], annex1_third_party="yes"),
        "high_risk_annex_i",
        {"Annex I Section A", "Annex I Section B"},
        {"Art. 2(2)"},
        {"art_9_risk_management", "art_43_conformity_assessment"},
        {"art_2_2_sectoral_requirements"},
    ),
    "a product under two Section A acts is high-risk under Section A": (
        dict(annex1_covered="yes", annex1_act=["machinery", "radio_equipment"], annex1_third_party="yes"),
        "high_risk_annex_i",
        {"Annex I Section A"},
        {"Annex I Section B", "Art. 2(2)"},
        {"art_9_risk_management"},
        set(),
    ),
    "a product under Section B acts only keeps the Art. 2(2) sectoral route": (
        dict(annex1_covered="yes", annex1_act=["agricultural_vehicles", "rail"], annex1_third_party="yes"),
        "high_risk_annex_i",
        {"Annex I Section B", "Art. 2(2)"},
        {"Annex I Section A"},
        {"art_2_2_sectoral_requirements"},
        {"art_9_risk_management"},
    ),
    "an importer adding only its contact details next to the provider's name stays an importer": (
        dict(roles=["importer"], art25_own_name="no", **_HR),
        "high_risk_annex_iii",
        {"Art. 23"},
        {"Art. 25(1)(a)"},
        {"art_23_importer_obligations"},
        {"art_9_risk_management"},
    ),
    "a deployer not sure whether it is a public body owes the FRIA and the registration of its use": (
        dict(roles=["deployer"], deployer_type="unsure", **_HR),
        "high_risk_annex_iii",
        {"Art. 6(2)"},
        set(),
        {"art_27_fundamental_rights_impact_assessment", "art_49_3_deployer_registration"},
        set(),
    ),
    "a private company deploying HR screening owes neither": (
        dict(roles=["deployer"], deployer_type="other", **_HR),
        "high_risk_annex_iii",
        {"Art. 6(2)"},
        set(),
        {"art_26_deployer_obligations"},
        {"art_27_fundamental_rights_impact_assessment", "art_49_3_deployer_registration"},
    ),
}


@pytest.mark.parametrize(
    "answers, outcome, cited, not_cited, codes, not_codes", WORDING_CASES.values(), ids=WORDING_CASES.keys()
)
def test_the_questions_can_express_each_case(answers, outcome, cited, not_cited, codes, not_codes):
    determination = classify_complete(**answers)
    references = {basis.article for basis in determination.legal_bases}
    references |= {basis.annex for basis in determination.legal_bases if basis.annex}
    obligations = {obligation.code for obligation in derive_obligations(determination)}

    assert determination.outcome == outcome
    assert cited <= references
    assert not (not_cited & references)
    assert codes <= obligations
    assert not (not_codes & obligations)


def test_an_unsure_deployer_type_is_listed_among_the_unsure_answers_with_a_rationale_step():
    determination = classify_complete(roles=["deployer"], deployer_type="unsure", **_HR)

    assert "deployer_type" in determination.unsure_answers
    assert any("treated as a body governed by public law" in step for step in determination.rationale)


def test_a_stored_single_annex_i_act_still_reads_as_that_act():
    from governance.rules import validate_answers
    from tests.governance.rules.helpers import complete

    answers = complete(annex1_covered="yes", annex1_act="medical_devices", annex1_third_party="yes")
    determination = classify_complete(**answers)

    assert not validate_answers(answers).invalid_answers
    assert determination.annex_i_acts == ("medical_devices",)
    assert determination.outcome == "high_risk_annex_i"


def test_the_own_name_question_tells_the_importer_s_contact_details_from_branding():
    from governance.rules import QUESTION_BY_ID

    question = QUESTION_BY_ID["art25_own_name"]

    assert {"Art. 25(1)(a)", "Art. 23(3)"} <= {reference.ref for reference in question.references}
    assert "contact details" in question.text
    assert "does not make it the provider" in question.help


def test_the_customers_emotions_carve_out_is_explained():
    determination = classify_complete(**_EMOTION_AT_WORK, art5_f_workers_or_students="no")

    assert any("not of workers or students" in step for step in determination.rationale)


# The face-search exception: one question per condition instead of one bundled question.
_LAWFUL = dict(
    _REAL_TIME,
    rbi_objective="victims_missing_persons",
    rbi_national_law="yes",
    rbi_authorised="yes",
    rbi_fria_registration="yes",
)

# name: (answers, outcome, legal bases cited, not cited)
RBI_CONDITION_CASES = {
    "with national law, authorisation, FRIA and registration the search is lawful under Art. 5(1)(h)(i)": (
        dict(_LAWFUL),
        "high_risk_annex_iii",
        {"Art. 5(1)(h)(i)", "Art. 5(2)", "Art. 5(3)", "Art. 5(4)"},
        {"Art. 5(1)(h)"},
    ),
    "without national law providing for it the search is prohibited (Art. 5(5))": (
        dict(_LAWFUL, rbi_national_law="no"),
        "prohibited",
        {"Art. 5(1)(h)"},
        {"Art. 5(1)(h)(i)", "Art. 5(4)"},
    ),
    "unsure whether national law provides for it reads as not provided": (
        dict(_LAWFUL, rbi_national_law="unsure"),
        "prohibited",
        {"Art. 5(1)(h)"},
        {"Art. 5(1)(h)(i)"},
    ),
    "without prior authorisation the search is prohibited (Art. 5(3))": (
        dict(_LAWFUL, rbi_authorised="no"),
        "prohibited",
        {"Art. 5(1)(h)"},
        {"Art. 5(1)(h)(i)"},
    ),
    "without the FRIA and registration the search is prohibited (Art. 5(2))": (
        dict(_LAWFUL, rbi_fria_registration="no"),
        "prohibited",
        {"Art. 5(1)(h)"},
        {"Art. 5(1)(h)(i)"},
    ),
}


@pytest.mark.parametrize("answers, outcome, cited, not_cited", RBI_CONDITION_CASES.values(), ids=RBI_CONDITION_CASES)
def test_each_condition_of_the_face_search_exception_is_asked_on_its_own(answers, outcome, cited, not_cited):
    determination = classify_complete(**answers)
    articles = {basis.article for basis in determination.legal_bases}

    assert determination.outcome == outcome
    assert cited <= articles
    assert not (not_cited & articles)


# Lawful purpose-specific evaluation (recital 31) and "performs the Annex III task" (Art. 6(3)).
_SCORING = dict(art5_c_social_scoring="yes")
_CREDIT = dict(annex3_areas=["essential_services"], annex3_5b_creditworthiness="yes")
_SORTING = dict(annex3_areas=["employment"], annex3_4a_recruitment="yes", art6_3_profiling="no")

# name: (answers, outcome, references cited, not cited, codes in, codes not in)
EVALUATION_CASES = {
    "lawful credit scoring over time is not social scoring (recital 31) but high-risk under 5(b)": (
        dict(
            _SCORING,
            art5_c_unrelated_context="no",
            art5_c_disproportionate="unsure",
            art5_c_lawful_specific_purpose="yes",
            art6_3_profiling="yes",
            **_CREDIT,
        ),
        "high_risk_annex_iii",
        {"Annex III point 5(b)"},
        {"Art. 5(1)(c)"},
        {"art_9_risk_management"},
        {"art_5_prohibited_practice"},
    ),
    "a score used against people in unrelated contexts stays prohibited social scoring": (
        dict(_SCORING, art5_c_unrelated_context="yes"),
        "prohibited",
        {"Art. 5(1)(c)"},
        set(),
        {"art_5_prohibited_practice"},
        set(),
    ),
    "disproportionate treatment by an evaluation not known to be lawful and purpose-specific is prohibited": (
        dict(_SCORING, art5_c_disproportionate="yes", art5_c_lawful_specific_purpose="unsure"),
        "prohibited",
        {"Art. 5(1)(c)"},
        set(),
        {"art_5_prohibited_practice"},
        set(),
    ),
    "a CV ranker performs the Annex III task itself: no Art. 6(3) derogation": (
        dict(_SORTING, art6_3_performs_assessment="yes"),
        "high_risk_annex_iii",
        {"Annex III point 4(a)", "Art. 6(3)"},
        {"Art. 6(3)(a)", "Art. 6(4)"},
        {"art_9_risk_management"},
        {"art_6_4_assessment_documentation"},
    ),
    "a tool that only structures applications for the recruiter may rely on Art. 6(3)(a)": (
        dict(
            _SORTING,
            art6_3_performs_assessment="no",
            art6_3_conditions=["a"],
            art6_3_no_significant_risk="yes",
        ),
        "not_high_risk_art_6_3",
        {"Art. 6(3)(a)", "Art. 6(4)", "Art. 49(2)"},
        set(),
        {"art_6_4_assessment_documentation", "art_49_2_registration"},
        {"art_9_risk_management"},
    ),
    "unsure whether it performs the task reads as performing it": (
        dict(_SORTING, art6_3_performs_assessment="unsure"),
        "high_risk_annex_iii",
        {"Art. 6(3)"},
        {"Art. 6(4)"},
        {"art_9_risk_management"},
        set(),
    ),
}


@pytest.mark.parametrize(
    "answers, outcome, cited, not_cited, codes, not_codes", EVALUATION_CASES.values(), ids=EVALUATION_CASES.keys()
)
def test_lawful_evaluation_and_performing_the_listed_task_are_expressed(
    answers, outcome, cited, not_cited, codes, not_codes
):
    determination = classify_complete(**answers)
    references = {basis.article for basis in determination.legal_bases}
    references |= {basis.annex for basis in determination.legal_bases if basis.annex}
    obligations = {obligation.code for obligation in derive_obligations(determination)}

    assert determination.outcome == outcome
    assert cited <= references
    assert not (not_cited & references)
    assert codes <= obligations
    assert not (not_codes & obligations)


def test_the_art_6_3_conditions_are_not_asked_of_a_system_that_performs_the_task():
    from governance.rules import visible_questions
    from tests.governance.rules.helpers import complete

    asked = {q.id for q in visible_questions(complete(**_SORTING, art6_3_performs_assessment="yes"))}

    assert "art6_3_conditions" not in asked and "art6_3_no_significant_risk" not in asked


def test_the_lawful_purpose_question_is_asked_only_where_it_decides():
    from governance.rules import visible_questions
    from tests.governance.rules.helpers import complete

    def asked(**answers):
        return "art5_c_lawful_specific_purpose" in {q.id for q in visible_questions(complete(**_SCORING, **answers))}

    assert asked(art5_c_unrelated_context="no", art5_c_disproportionate="yes")
    assert not asked(art5_c_unrelated_context="yes", art5_c_disproportionate="yes")
    assert not asked(art5_c_unrelated_context="no", art5_c_disproportionate="no")


# name: (answers, legal bases cited, not cited, obligation codes in, codes not in)
GPAI_REPRESENTATIVE_CASES = {
    "the authorised representative of a non-EU model provider has the Art. 54 tasks": (
        dict(roles=["authorised_representative"], involves_gpai="yes", gpai_representative="yes"),
        {"Art. 54"},
        {"Art. 53(1)", "Art. 22"},
        {"art_54_representative_tasks"},
        {"art_53_1_c_copyright_policy", "art_22_mandate"},
    ),
    "an authorised representative for a system built on a model has no Art. 54 task": (
        dict(roles=["authorised_representative"], involves_gpai="yes", gpai_representative="no"),
        set(),
        {"Art. 54"},
        set(),
        {"art_54_representative_tasks"},
    ),
}


@pytest.mark.parametrize(
    "answers, cited, not_cited, codes, not_codes", GPAI_REPRESENTATIVE_CASES.values(), ids=GPAI_REPRESENTATIVE_CASES
)
def test_the_authorised_representative_of_a_gpai_model_provider_has_the_art_54_tasks(
    answers, cited, not_cited, codes, not_codes
):
    determination = classify_complete(**answers)
    articles = {basis.article for basis in determination.legal_bases}
    obligations = {obligation.code for obligation in derive_obligations(determination)}

    assert cited <= articles
    assert not (not_cited & articles)
    assert codes <= obligations
    assert not (not_codes & obligations)


def test_the_annex_iii_area_question_covers_planned_uses_by_their_intended_purpose():
    from governance.rules import QUESTION_BY_ID

    question = QUESTION_BY_ID["annex3_areas"]

    assert "now or as planned" in question.text
    assert "planned but not yet deployed" in question.help
    assert "Art. 3(12)" in {reference.ref for reference in question.references}
    # A planned hiring use is classified like a current one.
    assert classify_complete(**_HR).outcome == "high_risk_annex_iii"
