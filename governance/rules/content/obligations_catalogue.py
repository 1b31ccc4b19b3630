"""The obligations catalogue: one entry per duty, with the evidence that can show it is met.

Evidence kinds follow the reference file's section 20 table. ``validation_run:<family>`` names a
run of the validation engine (families as in audits/checks); the other kinds are artefacts.
``date_key`` "high_risk" is resolved per route: "annex_iii" for Art. 6(2), "annex_i" for Art. 6(1).
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.rules.schema import EvidenceSpec

EVIDENCE_KINDS: tuple[str, ...] = (
    "validation_run:performance",
    "validation_run:robustness",
    "validation_run:edge_cases",
    "validation_run:explainability",
    "validation_run:fairness",
    "validation_run:data_quality",
    "validation_run:drift",
    "validation_run:security",
    "model_card",
    "dataset_card",
    "document",
    "risk_register",
    "log_export",
    "incident_register",
    "registration_record",
    "training_record",
)


@dataclass(frozen=True)
class Template:
    code: str
    article: str
    title: str
    description: str
    role: str
    date_key: str
    evidence: tuple[EvidenceSpec, ...]
    max_age_days: int
    notes: tuple[str, ...] = ()


def _e(kind: str, reference: str, description: str) -> EvidenceSpec:
    return EvidenceSpec(kind, reference, description)


def _t(code, article, title, description, role, date_key, evidence, max_age_days, notes=()):
    return Template(code, article, title, description, role, date_key, tuple(evidence), max_age_days, tuple(notes))


P, D = "provider", "deployer"

LITERACY = _t(
    "art_4_ai_literacy",
    "Art. 4",
    "AI literacy",
    "Make sure the people who build, run or use the system on your behalf understand it well "
    "enough for their role: its capabilities, limits and risks for the people affected.",
    "provider_or_deployer",
    "prohibitions_literacy",
    [_e("training_record", "Art. 4", "Training completion per person and role, with course version and date")],
    365,
    ["The Digital Omnibus would soften this duty; check the final OJ wording."],
)

PROHIBITION = _t(
    "art_5_prohibited_practice",
    "Art. 5",
    "Stop the prohibited practice",
    "The system, as described, falls under a prohibited practice. It must not be placed on the "
    "market, put into service or used for that purpose. Redesign it or withdraw it.",
    "any",
    "prohibitions_literacy",
    [_e("document", "Art. 5", "Questionnaire decision record, one row per Art. 5(1) point, with reviewer and date")],
    365,
)

HIGH_RISK_PROVIDER: tuple[Template, ...] = (
    _t(
        "art_9_risk_management",
        "Art. 9",
        "Risk management system",
        "Run a documented, continuous risk process over the whole lifecycle: identify and evaluate "
        "foreseeable risks, including misuse, act on them, and test against thresholds fixed in advance.",
        P,
        "high_risk",
        [
            _e("risk_register", "Art. 9(2)", "Risk register: hazards, misuse scenarios, likelihood, severity, owner"),
            _e("document", "Art. 9(5)", "Residual-risk acceptance with sign-off"),
            _e(
                "validation_run:performance",
                "Art. 9(8)",
                "Test results against metrics and thresholds defined before testing",
            ),
        ],
        180,
    ),
    _t(
        "art_10_data_governance",
        "Art. 10",
        "Data and data governance",
        "Govern training, validation and test data: record where it comes from and why it was "
        "collected, check it is relevant and representative, and examine and mitigate bias.",
        P,
        "high_risk",
        [
            _e("dataset_card", "Art. 10(2)", "Datasheets: source, original purpose, preparation steps, assumptions"),
            _e("validation_run:data_quality", "Art. 10(3)", "Representativeness, completeness and label-error checks"),
            _e(
                "validation_run:fairness",
                "Art. 10(2)(f)",
                "Bias examination: per-group metrics and gaps with confidence intervals",
            ),
            _e("document", "Art. 10(2)(g)", "Bias mitigation log with before/after comparison"),
        ],
        180,
    ),
    _t(
        "art_11_technical_documentation",
        "Art. 11",
        "Technical documentation",
        "Draw up the technical file (Annex IV) before release and keep it current, so authorities "
        "can check compliance.",
        P,
        "high_risk",
        [
            _e("document", "Art. 11(1)", "Annex IV technical file with completeness check"),
            _e("model_card", "Art. 11(1)", "Model card: architecture, versions, compute, intended purpose"),
        ],
        365,
    ),
    _t(
        "art_12_record_keeping",
        "Art. 12",
        "Automatic logging",
        "Build in automatic event logging over the system's lifetime, enough to trace risks, "
        "support post-market monitoring and let deployers monitor operation.",
        P,
        "high_risk",
        [_e("log_export", "Art. 12(1)", "Log-schema conformance test and a sample audit-trail export")],
        180,
    ),
    _t(
        "art_13_instructions_for_use",
        "Art. 13",
        "Transparency and instructions for use",
        "Give deployers clear instructions for use: intended purpose, declared accuracy and its "
        "metrics, known limits and risks, oversight measures and how to read the logs.",
        P,
        "high_risk",
        [
            _e("document", "Art. 13(3)", "Instructions for use generated from the registry"),
            _e("validation_run:performance", "Art. 13(3)", "Declared accuracy metrics and values"),
            _e("validation_run:explainability", "Art. 13(3)", "Explanation capabilities offered to deployers"),
        ],
        365,
    ),
    _t(
        "art_14_human_oversight",
        "Art. 14",
        "Human oversight",
        "Design the system so that people can understand, monitor, override and stop it, and are "
        "warned about automation bias.",
        P,
        "high_risk",
        [
            _e("document", "Art. 14(4)", "Oversight design: override, reversal and stop controls"),
            _e("validation_run:explainability", "Art. 14(4)", "Interpretation aids available to overseers"),
        ],
        365,
    ),
    _t(
        "art_15_accuracy_robustness_cybersecurity",
        "Art. 15",
        "Accuracy, robustness and cybersecurity",
        "Reach and keep an appropriate, declared level of accuracy, resilience to errors and "
        "attacks (poisoning, adversarial examples, model theft) throughout the lifecycle.",
        P,
        "high_risk",
        [
            _e("validation_run:performance", "Art. 15(3)", "Held-out performance matching the declared metrics"),
            _e("validation_run:robustness", "Art. 15(4)", "Noise, perturbation and failure-mode tests"),
            _e("validation_run:edge_cases", "Art. 15(4)", "Missing values, out-of-range and schema robustness"),
            _e("validation_run:security", "Art. 15(5)", "Evasion, poisoning and privacy-attack tests"),
        ],
        90,
    ),
    _t(
        "art_16_provider_obligations",
        "Art. 16",
        "General provider obligations",
        "Meet the provider duties as a whole: show your name and contact on the system, meet "
        "accessibility requirements and demonstrate conformity on request.",
        P,
        "high_risk",
        [_e("document", "Art. 16", "Provider identification and accessibility statement")],
        365,
    ),
    _t(
        "art_17_quality_management",
        "Art. 17",
        "Quality management system",
        "Keep written policies and procedures covering design, testing, data, risk, monitoring, "
        "incidents, records and accountability.",
        P,
        "high_risk",
        [_e("document", "Art. 17(1)", "QMS checklist with a document per item (a) to (m)")],
        365,
    ),
    _t(
        "art_18_documentation_keeping",
        "Art. 18",
        "Keep documentation for 10 years",
        "Keep the technical file, QMS documents, notified-body decisions and declaration of "
        "conformity available to authorities for 10 years after release.",
        P,
        "high_risk",
        [_e("document", "Art. 18(1)", "Archive entries with retention-until dates")],
        365,
    ),
    _t(
        "art_19_log_retention",
        "Art. 19",
        "Keep logs for at least six months",
        "Keep the automatically generated logs under your control for at least six months, unless "
        "data-protection law requires otherwise.",
        P,
        "high_risk",
        [_e("log_export", "Art. 19(1)", "Retention configuration and oldest retained log timestamp")],
        90,
    ),
    _t(
        "art_20_corrective_actions",
        "Art. 20",
        "Corrective actions and duty to inform",
        "If the system does not conform, fix, withdraw, disable or recall it at once, and inform "
        "distributors, deployers and, where it presents a risk, the authorities.",
        P,
        "high_risk",
        [_e("document", "Art. 20(1)", "Corrective-action procedure and ticket trail")],
        365,
    ),
    _t(
        "art_43_conformity_assessment",
        "Art. 43",
        "Conformity assessment",
        "Complete the conformity assessment before release: internal control for most Annex III "
        "uses, a notified body in some biometric cases, the sectoral procedure for Annex I products.",
        P,
        "high_risk",
        [_e("document", "Art. 43", "Annex VI checklist with sign-off, or notified-body certificate")],
        365,
    ),
    _t(
        "art_47_eu_declaration_of_conformity",
        "Art. 47",
        "EU declaration of conformity",
        "Sign an EU declaration of conformity for the system and keep it for 10 years.",
        P,
        "high_risk",
        [_e("document", "Art. 47", "Declaration of conformity with Annex V content and signature record")],
        365,
    ),
    _t(
        "art_48_ce_marking",
        "Art. 48",
        "CE marking",
        "Affix the CE marking (digital for digital systems), with the notified-body number where one was involved.",
        P,
        "high_risk",
        [_e("document", "Art. 48", "Screenshot or link showing the CE marking")],
        365,
    ),
    _t(
        "art_49_registration",
        "Art. 49(1)",
        "Registration in the EU database",
        "Register your organisation and the system in the EU database before release.",
        P,
        "high_risk",
        [_e("registration_record", "Art. 49(1)", "Registration export (Annex VIII Section A) with ID and date")],
        365,
    ),
    _t(
        "art_72_post_market_monitoring",
        "Art. 72",
        "Post-market monitoring",
        "Collect and analyse performance data throughout the system's life, following a written "
        "monitoring plan, and feed the findings back into risk management.",
        P,
        "high_risk",
        [
            _e("document", "Art. 72(3)", "Post-market monitoring plan"),
            _e("validation_run:drift", "Art. 72(2)", "Drift, performance and fairness monitoring over time"),
        ],
        90,
    ),
    _t(
        "art_73_serious_incident_reporting",
        "Art. 73",
        "Serious incident reporting",
        "Report serious incidents to the market surveillance authority: within 15 days in general, "
        "10 days after a death, 2 days for widespread or critical-infrastructure incidents.",
        P,
        "high_risk",
        [_e("incident_register", "Art. 73", "Incident register with deadline timers from awareness")],
        365,
    ),
)

IMPORTER = _t(
    "art_23_importer_obligations",
    "Art. 23",
    "Importer checks",
    "Before placing the system on the market, check its conformity assessment, technical "
    "documentation, CE marking, declaration and authorised representative; add your name; keep "
    "records for 10 years.",
    "importer",
    "high_risk",
    [_e("document", "Art. 23", "Pre-market verification checklist and retained certificate")],
    365,
)

DISTRIBUTOR = _t(
    "art_24_distributor_obligations",
    "Art. 24",
    "Distributor checks",
    "Before making the system available, check the CE marking, declaration and instructions; "
    "do not supply non-conforming systems and help with corrective actions.",
    "distributor",
    "high_risk",
    [_e("document", "Art. 24", "Verification checklist per batch or release")],
    365,
)

_AR = "authorised_representative"
# Art. 22: the tasks the written mandate of a third-country provider must empower the authorised
# representative of a high-risk system to carry out. "art_22_registration" is derived only where the
# system is registered under Art. 49(1) (Annex III, except point 2).
AUTHORISED_REPRESENTATIVE: tuple[Template, ...] = (
    _t(
        "art_22_mandate",
        "Art. 22",
        "Written mandate and pre-market verification",
        "Hold a written mandate from the non-EU provider before the system is made available, give "
        "a copy to the market surveillance authority on request, and verify that the EU declaration "
        "of conformity and the technical documentation exist and that the conformity assessment was "
        "carried out. End the mandate, and inform the authority, if the provider acts against its "
        "obligations.",
        _AR,
        "high_risk",
        [_e("document", "Art. 22", "Signed mandate and verification checklist with date and reviewer")],
        365,
    ),
    _t(
        "art_22_documentation_keeping",
        "Art. 22",
        "Keep the provider's documentation for 10 years",
        "Keep at the disposal of the competent authorities, for 10 years after the system is placed "
        "on the market or put into service, the provider's contact details, the EU declaration of "
        "conformity, the technical documentation and any notified-body certificate.",
        _AR,
        "high_risk",
        [_e("document", "Art. 22", "Archive entries with retention-until dates")],
        365,
    ),
    _t(
        "art_22_authority_cooperation",
        "Art. 22",
        "Inform and cooperate with the authorities",
        "On a reasoned request, give the competent authorities the information and documentation "
        "needed to show conformity, including access to the logs under the provider's control, and "
        "cooperate in any action they take on the system.",
        _AR,
        "high_risk",
        [_e("document", "Art. 22", "Authority-request procedure and request log")],
        365,
    ),
    _t(
        "art_22_registration",
        "Art. 22",
        "Register the system or check its registration",
        "Where the system must be registered in the EU database, carry out the registration on the "
        "provider's behalf or check that the provider has done it correctly.",
        _AR,
        "high_risk",
        [_e("registration_record", "Art. 49(1)", "Registration export with ID and date, or the check performed")],
        365,
    ),
)

HIGH_RISK_DEPLOYER = _t(
    "art_26_deployer_obligations",
    "Art. 26",
    "Deployer obligations",
    "Use the system as instructed, give human oversight to competent people, check input data, "
    "monitor it and report risks and incidents, keep logs for six months, and inform workers and, "
    "for Annex III systems, the people it decides about.",
    D,
    "high_risk",
    [
        _e("document", "Art. 26(1)", "Oversight roster with training evidence"),
        _e("validation_run:drift", "Art. 26(4)", "Input data monitored against the provider's specification"),
        _e("log_export", "Art. 26(6)", "Log retention of at least six months"),
        _e("document", "Art. 26(7)", "Notices to workers and affected persons with delivery log"),
    ],
    180,
)

RBI_USE_NOTIFICATION = _t(
    "art_5_4_rbi_use_notification",
    "Art. 5(4)",
    "Notify each real-time biometric identification use",
    "Notify every use of real-time remote biometric identification in publicly accessible spaces "
    "to the market surveillance authority and the national data protection authority, without "
    "sensitive operational data.",
    D,
    "prohibitions_literacy",
    [_e("document", "Art. 5(4)", "Notification of each use to both authorities, with date and reference")],
    365,
)

POST_RBI_AUTHORISATION = _t(
    "art_26_10_post_rbi_authorisation",
    "Art. 26(10)",
    "Authorise, document and report each post-remote biometric identification",
    "For each targeted search, request authorisation from a judicial or binding administrative "
    "authority ex ante or within 48 hours; if refused, stop and delete the related data; never "
    "use it untargeted; base no adverse legal decision on its output alone; document each use in "
    "the police file and report annually to the market surveillance and data protection authorities.",
    D,
    "high_risk",
    [
        _e(
            "document",
            "Art. 26(10)",
            "Authorisation requests per use with timestamps, police-file entries, annual reports",
        )
    ],
    365,
)

FRIA = _t(
    "art_27_fundamental_rights_impact_assessment",
    "Art. 27",
    "Fundamental rights impact assessment",
    "Before first use, assess how the system affects the people concerned: processes, frequency, "
    "affected groups, risks, oversight and remedies; notify the market surveillance authority.",
    D,
    "annex_iii",
    [_e("document", "Art. 27", "FRIA form and record of notification to the authority")],
    365,
)

PUBLIC_DEPLOYER_REGISTRATION = _t(
    "art_49_3_deployer_registration",
    "Art. 49(3)",
    "Register the use in the EU database",
    "As a public authority, register your use of the system in the EU database before using it, "
    "and do not use a system that is not registered.",
    D,
    "annex_iii",
    [_e("registration_record", "Art. 49(3)", "Registration export (Annex VIII Section C)")],
    365,
)

EXPLANATION = _t(
    "art_86_right_to_explanation",
    "Art. 86",
    "Explain decisions on request",
    "When a decision based on the system's output significantly affects a person, be able to "
    "explain the role the AI played and the main elements of the decision.",
    D,
    "annex_iii",
    [_e("validation_run:explainability", "Art. 86", "Per-decision explanation record retrievable by decision ID")],
    180,
)

SECTION_B = _t(
    "art_2_2_sectoral_requirements",
    "Art. 2(2)",
    "Requirements through sectoral product law",
    "For Annex I Section B products only Art. 6(1), Art. 102-109 and Art. 112 of the AI Act apply; "
    "the high-risk requirements reach the system through the sectoral type-approval legislation.",
    P,
    "annex_i",
    [_e("document", "Art. 6(1)", "Product-regulation mapping record: act, class, assessment route")],
    365,
)

ART_6_3 = (
    _t(
        "art_6_4_assessment_documentation",
        "Art. 6(4)",
        "Document the not-high-risk assessment",
        "Before release, document why the listed use is not high-risk: the Art. 6(3) condition "
        "relied on, the absence of profiling and of material influence on decisions. Hand it to "
        "authorities on request.",
        P,
        "annex_iii",
        [_e("document", "Art. 6(4)", "Signed assessment with condition code, profiling flag and date before release")],
        365,
    ),
    _t(
        "art_49_2_registration",
        "Art. 49(2)",
        "Register the not-high-risk system",
        "Register your organisation and the system in the EU database before release (Annex VIII "
        "Section B), stating the Art. 6(3) condition relied on.",
        P,
        "annex_iii",
        [_e("registration_record", "Art. 49(2)", "Annex VIII Section B export with registration ID")],
        365,
        ["The Omnibus proposal would have removed this duty; the adopted text keeps it."],
    ),
)

TRANSPARENCY: dict[str, Template] = {
    "art50_1": _t(
        "art_50_1_interaction_disclosure",
        "Art. 50(1)",
        "Tell people they are talking to AI",
        "Design the system so people are told, at the latest at first interaction, that "
        "they are interacting with an AI system.",
        P,
        "general",
        [_e("document", "Art. 50(1)", "UI test and screenshot showing the disclosure at first interaction")],
        180,
    ),
    "art50_2": _t(
        "art_50_2_output_marking",
        "Art. 50(2)",
        "Mark AI-generated content",
        "Mark generated audio, image, video or text in a machine-readable way so it can be detected as AI-generated.",
        P,
        "general",
        [
            _e(
                "validation_run:security",
                "Art. 50(2)",
                "Watermark or content-credential detection test on sampled outputs",
            )
        ],
        90,
        ["Omnibus as reported: systems on the market before 2 Aug 2026 have until 2 Dec 2026."],
    ),
    "art50_3": _t(
        "art_50_3_exposure_notice",
        "Art. 50(3)",
        "Inform people exposed to emotion recognition or biometric categorisation",
        "Tell the people exposed that the system is operating, and process their data under data-protection law.",
        D,
        "general",
        [_e("document", "Art. 50(3)", "Notice text and placement evidence")],
        180,
    ),
    "art50_4_deep_fake": _t(
        "art_50_4_deep_fake_disclosure",
        "Art. 50(4)",
        "Disclose deep fakes",
        "Disclose that image, audio or video content was generated or manipulated by AI.",
        D,
        "general",
        [_e("document", "Art. 50(4)", "Label-presence check on published assets")],
        180,
    ),
    "art50_4_public_interest_text": _t(
        "art_50_4_text_disclosure",
        "Art. 50(4)",
        "Disclose AI-generated public-interest text",
        "Disclose that text published to inform the public was generated or manipulated by AI.",
        D,
        "general",
        [_e("document", "Art. 50(4)", "Label-presence check and editorial review log")],
        180,
    ),
}

_G = "gpai"
GPAI: dict[str, Template] = {
    "53a": _t(
        "art_53_1_a_technical_documentation",
        "Art. 53(1)(a)",
        "Model technical documentation",
        "Keep technical documentation of the model (Annex XI), including training, testing "
        "and evaluation results, for the AI Office on request.",
        P,
        _G,
        [
            _e(
                "model_card",
                "Art. 53(1)(a)",
                "Model Documentation Form: parameters, modalities, compute, energy, data provenance",
            )
        ],
        365,
    ),
    "53b": _t(
        "art_53_1_b_downstream_information",
        "Art. 53(1)(b)",
        "Information for downstream providers",
        "Give providers who integrate the model what they need (Annex XII) to understand its "
        "capabilities and limits and meet their own duties.",
        P,
        _G,
        [_e("model_card", "Art. 53(1)(b)", "Downstream information pack")],
        365,
    ),
    "53c": _t(
        "art_53_1_c_copyright_policy",
        "Art. 53(1)(c)",
        "Copyright policy",
        "Adopt a policy to respect EU copyright law, including text-and-data-mining opt-outs.",
        P,
        _G,
        [_e("document", "Art. 53(1)(c)", "Copyright policy and crawler opt-out compliance logs")],
        365,
    ),
    "53d": _t(
        "art_53_1_d_training_content_summary",
        "Art. 53(1)(d)",
        "Public summary of training content",
        "Publish a sufficiently detailed summary of the content used for training, on the AI Office template.",
        P,
        _G,
        [_e("document", "Art. 53(1)(d)", "Published summary on the AI Office template")],
        365,
    ),
    "54": _t(
        "art_54_authorised_representative",
        "Art. 54",
        "Authorised representative",
        "Appoint, by written mandate, an authorised representative in the Union before placing "
        "the model on the market.",
        P,
        _G,
        [_e("document", "Art. 54", "Signed mandate")],
        730,
    ),
    "54_representative": _t(
        "art_54_representative_tasks",
        "Art. 54",
        "Tasks of the model provider's authorised representative",
        "Under the written mandate: verify that the provider has drawn up the Annex XI technical "
        "documentation and meets its Art. 53 (and, with systemic risk, Art. 55) duties; keep a copy "
        "of that documentation and the provider's contact details at the disposal of the AI Office "
        "and national authorities for 10 years after the model is placed on the market; give them "
        "information on request and cooperate with them. End the mandate if the provider acts "
        "against its obligations, and inform the AI Office.",
        "authorised_representative",
        _G,
        [_e("document", "Art. 54", "Signed mandate, verification record and archive entries with retention dates")],
        365,
    ),
    "52": _t(
        "art_52_1_systemic_risk_notification",
        "Art. 52(1)",
        "Notify the Commission",
        "Notify the Commission within two weeks of meeting, or knowing you will meet, the systemic-risk threshold.",
        P,
        _G,
        [_e("document", "Art. 52(1)", "Compute ledger with threshold alert and notification timestamp")],
        365,
    ),
    "55": _t(
        "art_55_1_systemic_risk_obligations",
        "Art. 55(1)",
        "Systemic-risk duties",
        "Evaluate the model with state-of-the-art protocols including adversarial testing, "
        "assess and mitigate systemic risks, report serious incidents to the AI Office and "
        "keep the model and its infrastructure secure.",
        P,
        _G,
        [
            _e("validation_run:security", "Art. 55(1)", "Evaluation and red-team reports"),
            _e("risk_register", "Art. 55(1)", "Systemic-risk register"),
            _e("incident_register", "Art. 55(1)", "Incident log to the AI Office"),
        ],
        180,
    ),
}
