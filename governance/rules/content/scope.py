"""Questions on scope (Art. 2, Art. 3), operator roles (Art. 3, Art. 25) and GPAI models (Art. 51-54)."""

from __future__ import annotations

from governance.rules.conditions import all_, any_, flag, has, not_, y, yes
from governance.rules.content._build import choice, yn

SCOPE = "scope"
ROLES = "roles"
GPAI = "gpai"

# Each Art. 2 exclusion is asked only while no earlier exclusion applies, in this order.
_EXCLUSION_FLAGS = (
    "excluded_territorial",
    "excluded_military",
    "excluded_third_country",
    "excluded_research",
    "excluded_pre_market",
)
_EARLIER_EXCLUSIONS = {
    "military_exclusive": 1,
    "third_country_authority": 2,
    "research_only": 3,
    "pre_market_rd": 4,
    "personal_use": 5,
}


def _after_exclusions(question_id: str) -> dict:
    earlier = _EXCLUSION_FLAGS[: _EARLIER_EXCLUSIONS[question_id]]
    return all_(flag("ai_system"), not_(any_(*(flag(name) for name in earlier))))


SCOPE_QUESTIONS = (
    yn(
        "is_ai_system",
        SCOPE,
        "Does the system infer from the input it receives how to produce outputs such as "
        "predictions, content, recommendations or decisions (rather than only executing rules "
        "written entirely by people)?",
        refs_=("Art. 3(1)",),
        unsure_means="yes",
        help="Machine-learning models, including statistical models that learn from data, infer. "
        "A spreadsheet formula or a hand-written rules engine does not.",
    ),
    yn(
        "involves_gpai",
        SCOPE,
        "Is the system built on, or does it include, a general-purpose AI model (for example a "
        "large language model), or does your organisation provide such a model?",
        refs_=("Art. 3(63)", "Art. 3(66)"),
        unsure_means="yes",
    ),
    yn(
        "eu_nexus",
        SCOPE,
        "Is the system placed on the market or put into service in the EU, used by an "
        "organisation in the EU, or is its output used in the EU?",
        refs_=("Art. 2(1)",),
        unsure_means="yes",
        visible_if=flag("ai_system"),
    ),
    yn(
        "military_exclusive",
        SCOPE,
        "Is the system used exclusively for military, defence or national-security purposes?",
        refs_=("Art. 2(3)",),
        unsure_means="no",
        visible_if=_after_exclusions("military_exclusive"),
    ),
    yn(
        "military_civilian_use",
        SCOPE,
        "Is the system, or a version of it, also placed on the EU market or used for any "
        "civilian purpose (for example by civil security services or commercial customers)?",
        refs_=("Art. 2(3)",),
        unsure_means="yes",
        visible_if=all_(flag("ai_system"), yes("military_exclusive")),
        help="The exclusion covers only exclusive military, defence or national-security use.",
    ),
    yn(
        "third_country_authority",
        SCOPE,
        "Is your organisation a public authority of a non-EU country, or an international "
        "organisation, using the system under an international agreement for law-enforcement or "
        "judicial cooperation with the EU or its Member States, with adequate safeguards?",
        refs_=("Art. 2(4)",),
        unsure_means="no",
        visible_if=_after_exclusions("third_country_authority"),
    ),
    yn(
        "research_only",
        SCOPE,
        "Is the system developed and put into service for the sole purpose of scientific research and development?",
        refs_=("Art. 2(6)",),
        unsure_means="no",
        visible_if=_after_exclusions("research_only"),
    ),
    yn(
        "pre_market_rd",
        SCOPE,
        "Is the system still only being researched, developed or tested, before it is placed on "
        "the market or put into service, and not tested in real-world conditions?",
        refs_=("Art. 2(8)",),
        unsure_means="no",
        visible_if=_after_exclusions("pre_market_rd"),
        help="Answer again before release: the exclusion ends when the system is placed on the "
        "market or put into service.",
    ),
    yn(
        "personal_use",
        SCOPE,
        "Are you a natural person using the system only for a purely personal, non-professional activity?",
        refs_=("Art. 2(10)",),
        unsure_means="no",
        visible_if=_after_exclusions("personal_use"),
    ),
    yn(
        "open_source_licence",
        SCOPE,
        "Is the system released under a free and open-source licence?",
        refs_=("Art. 2(12)",),
        unsure_means="no",
        visible_if=flag("screening"),
        help="Open-source systems are still covered if they are prohibited, high-risk or subject "
        "to Art. 50 transparency duties; the rest of the questionnaire checks this.",
    ),
)

# Art. 25(1) binds "any distributor, importer, deployer or other third party": every organisation
# that has answered the role question without being the provider already.
_NOT_ALREADY_PROVIDER = all_(
    flag("screening"),
    {"q": "roles", "answered": True},
    not_(has("roles", "provider")),
)

ROLE_QUESTIONS = (
    choice(
        "roles",
        ROLES,
        "What is your organisation's role for this system? Select all that apply.",
        refs_=("Art. 3(3)", "Art. 3(4)", "Art. 3(5)", "Art. 3(6)", "Art. 3(7)", "Art. 25(3)", "Art. 3(8)"),
        options=(
            (
                "provider",
                "Provider: we develop it (or have it developed) and place it on the "
                "market or put it into service under our own name or trademark, including for our "
                "own use",
            ),
            ("deployer", "Deployer: we use it under our authority"),
            (
                "importer",
                "Importer: we are in the EU and place on the market a system carrying "
                "the name or trademark of a non-EU company",
            ),
            ("distributor", "Distributor: we make someone else's system available on the EU market"),
            (
                "authorised_representative",
                "Authorised representative: we are in the EU and hold a written mandate from a non-EU "
                "provider to carry out its obligations on its behalf",
            ),
            (
                "product_manufacturer",
                "Product manufacturer: we make a product (for example a machine, lift, toy or medical "
                "device) that has the AI system as a safety component",
            ),
            ("none", "None of these: we have no role for this system on the EU market"),
        ),
        multi=True,
        exclusive=("none",),
        visible_if=flag("screening"),
        help="A system built in-house for your own use makes you both provider and deployer. An "
        "importer placing the system under its own name is its provider (Art. 25(1)(a)).",
    ),
    choice(
        "provider_offering",
        ROLES,
        "What does your organisation place on the market or put into service: an AI system, a "
        "general-purpose AI model, or both?",
        refs_=("Art. 3(1)", "Art. 3(63)", "Art. 3(66)", "Art. 53(1)"),
        options=(
            ("ai_system", "An AI system (an application or service built on a model)"),
            ("gpai_model", "Only a general-purpose AI model (for example model weights or a model API)"),
            ("both", "Both: the model and an AI system built on it"),
        ),
        visible_if=all_(flag("screening"), y("involves_gpai"), has("roles", "provider")),
        help="A model is not yet an AI system: the Art. 5, Art. 6 and Art. 50 questions concern "
        "systems and are asked only if you also place a system on the market. A model you "
        "integrate into your own system and place on the market is placed on the market too: answer Both.",
    ),
    choice(
        "deployer_type",
        ROLES,
        "What kind of organisation uses the system?",
        refs_=("Art. 27",),
        options=(
            ("public_law_body", "A body governed by public law (public authority or agency)"),
            ("private_public_service", "A private entity providing public services"),
            ("other", "Another private organisation"),
            ("unsure", "Not sure"),
        ),
        visible_if=all_(flag("screening"), has("roles", "deployer")),
        help="Public bodies include ministries, agencies, municipalities, public schools and hospitals. "
        "A private entity provides public services when it does so on behalf of the State, for example "
        "in education, healthcare, social services, housing or the administration of justice. If not "
        "sure, the stricter reading applies: a body governed by public law (FRIA under Art. 27 and "
        "registration of the use under Art. 49(3)) until you confirm.",
    ),
    yn(
        "art25_own_name",
        ROLES,
        "Do you market the system under your own name or trademark (as its brand, not only your "
        "contact details next to the provider's name)?",
        refs_=("Art. 25(1)(a)", "Art. 23(3)"),
        unsure_means="yes",
        visible_if=_NOT_ALREADY_PROVIDER,
        help="An importer must add its own name and contact address next to the provider's, on the "
        "system or its packaging or documentation (Art. 23(3)): that alone does not make it the "
        "provider. Placing the system on the market under your own name or brand does (Art. 25(1)(a)).",
    ),
    yn(
        "art25_substantial_modification",
        ROLES,
        "Have you changed the system after it was placed on the market in a way its provider did "
        "not foresee, affecting its compliance or its intended purpose (a substantial "
        "modification)?",
        refs_=("Art. 25(1)(b)", "Art. 3(23)"),
        unsure_means="yes",
        visible_if=_NOT_ALREADY_PROVIDER,
    ),
    yn(
        "art25_changed_purpose",
        ROLES,
        "Do you use the system (including a general-purpose AI system) for a purpose its provider did not intend?",
        refs_=("Art. 25(1)(c)",),
        unsure_means="yes",
        visible_if=_NOT_ALREADY_PROVIDER,
        help="Answer the rest of the questionnaire for the purpose you actually use it for.",
    ),
)

_GPAI_PROVIDER = flag("gpai_provider_duties")
_MODEL_PROVIDER = flag("gpai_model_provider")

GPAI_QUESTIONS = (
    yn(
        "gpai_model_provider",
        GPAI,
        "Does your organisation develop a general-purpose AI model (or have one developed) and "
        "place it on the EU market under its own name, including free release?",
        refs_=("Art. 3(3)", "Art. 3(63)", "Art. 53(1)"),
        unsure_means="yes",
        # A provider says so in provider_offering; this question remains for the other roles.
        visible_if=all_(flag("screening"), y("involves_gpai"), not_(has("roles", "provider"))),
        help="If you only build on another company's model, answer No: the model duties are its provider's.",
    ),
    yn(
        "gpai_representative",
        GPAI,
        "Do you act, under a written mandate, as the authorised representative in the Union of a "
        "non-EU provider of the general-purpose AI model?",
        refs_=("Art. 54", "Art. 3(5)"),
        unsure_means="yes",
        visible_if=all_(flag("screening"), y("involves_gpai"), has("roles", "authorised_representative")),
    ),
    yn(
        "gpai_modified_model",
        GPAI,
        "Is the model a modified version (for example fine-tuned) of a general-purpose AI model "
        "that another company placed on the market?",
        refs_=("Art. 3(63)", "Art. 53(1)"),
        unsure_means="no",
        visible_if=_MODEL_PROVIDER,
    ),
    yn(
        "gpai_modification_over_third",
        GPAI,
        "Did the modification use more than one third of the compute used to train the original "
        "model (if that figure is unknown: more than one third of 10^23 FLOP, or of 10^25 FLOP for "
        "a model with systemic risk)?",
        refs_=("Art. 53(1)",),
        unsure_means="yes",
        visible_if=all_(_MODEL_PROVIDER, yes("gpai_modified_model")),
        help="Commission GPAI guidelines (18 July 2025): a downstream modifier becomes the provider of "
        "the modified model only above this threshold; below it the model duties stay with the "
        "original provider.",
    ),
    yn(
        "gpai_compute_over_threshold",
        GPAI,
        "Was the cumulative compute used to train the model greater than 10^25 floating-point operations (FLOP)?",
        refs_=("Art. 51(2)",),
        unsure_means="yes",
        visible_if=_GPAI_PROVIDER,
    ),
    yn(
        "gpai_high_impact",
        GPAI,
        "Has an evaluation with appropriate tools and benchmarks shown that the model's "
        "capabilities match or exceed those of the most advanced models?",
        refs_=("Art. 51(1)(a)",),
        unsure_means="yes",
        visible_if=_GPAI_PROVIDER,
    ),
    yn(
        "gpai_designated",
        GPAI,
        "Has the Commission designated the model as a general-purpose AI model with systemic risk?",
        refs_=("Art. 51(1)(b)",),
        unsure_means="yes",
        visible_if=_GPAI_PROVIDER,
    ),
    yn(
        "gpai_open_source",
        GPAI,
        "Is the model released under a free and open-source licence allowing access, use, "
        "modification and distribution, with its weights, architecture and usage information "
        "made public?",
        refs_=("Art. 53(2)", "Art. 54(6)"),
        unsure_means="no",
        visible_if=all_(_GPAI_PROVIDER, not_(flag("gpai_systemic_risk"))),
    ),
    yn(
        "gpai_third_country",
        GPAI,
        "Is your organisation established outside the EU?",
        refs_=("Art. 54", "Art. 54(6)"),
        unsure_means="yes",
        visible_if=_GPAI_PROVIDER,
    ),
)
