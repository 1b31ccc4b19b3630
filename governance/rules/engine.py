"""The classifier: answers in, a Determination with legal bases and a quoted rationale out.

Decision order (reference file, section 3.1): AI system (Art. 3(1)) -> Art. 2 exclusions ->
GPAI overlay -> Art. 5 screen -> Art. 6(1) / Annex I -> Art. 6(2) / Annex III -> Art. 6(3) ->
Art. 50 overlay -> the Art. 2(12) open-source exclusion (which depends on the results above) ->
Art. 25 role switches (which depend on the system being high-risk).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.rules.conditions import Condition, evaluate, iter_leaves
from governance.rules.content.high_risk import ANNEX_I_ACTS
from governance.rules.content.rules import (
    ANNEX_III_POINTS,
    ART_5_POINTS,
    CARVE_OUTS,
    EXCLUSIONS,
    FLAGS,
    TRANSPARENCY_RULES,
    annex_iii_flag,
    art_5_flag,
)
from governance.rules.questionnaire import QUESTION_BY_ID, validate_answers, visible_answers
from governance.rules.references import REFERENCES
from governance.rules.schema import Determination, LegalBasis, Outcome, Role
from governance.rules.version import RULES_VERSION

_HIGH_RISK = (Outcome.HIGH_RISK_ANNEX_I, Outcome.HIGH_RISK_ANNEX_III)

_ART_25_TRIGGERS = (
    ("art25_own_name", "Art. 25(1)(a)"),
    ("art25_substantial_modification", "Art. 25(1)(b)"),
    ("art25_changed_purpose", "Art. 25(1)(c)"),
)


class _Trace:
    """Collects rationale steps, legal bases and the "unsure" answers that were relied on."""

    def __init__(self, answers: Mapping[str, Any]) -> None:
        self.answers = answers
        self.steps: list[str] = []
        self.bases: list[LegalBasis] = []
        self.unsure: dict[str, None] = {}

    def holds(self, name: str) -> bool:
        return evaluate(FLAGS[name], self.answers, FLAGS)

    def quote(self, condition: Condition) -> str:
        quotes: dict[str, str] = {}
        for leaf in iter_leaves(condition, FLAGS):
            qid = leaf["q"]
            if qid in quotes or qid not in self.answers:
                continue
            question = QUESTION_BY_ID[qid]
            value = self.answers[qid]
            text = f'answered "{question.label_for(value)}" to "{question.text}"'
            if value == "unsure" and question.unsure_means:
                text += f' (treated as "{question.label_for(question.unsure_means)}", the stricter reading)'
                self.unsure.setdefault(qid, None)
            quotes[qid] = text
        return f"You {'; you '.join(quotes.values())}" if quotes else ""

    def step(self, condition: Condition | None, conclusion: str) -> None:
        quoted = self.quote(condition) if condition is not None else ""
        self.steps.append(f"{quoted} → {conclusion}" if quoted else conclusion)

    def basis(self, article: str, *, annex: str | None = None) -> None:
        key = annex or article
        basis = LegalBasis(article=article, annex=annex, text=REFERENCES[key].summary)
        if basis not in self.bases:
            self.bases.append(basis)

    def carve_outs(self, stage: str) -> None:
        for carve_out in CARVE_OUTS:
            if _stage(carve_out.reference) == stage and evaluate(carve_out.condition, self.answers, FLAGS):
                self.step(carve_out.condition, f"{carve_out.reference}: {carve_out.message}")


def _stage(reference: str) -> str:
    if reference.startswith("Annex III"):
        return "annex_iii"
    if reference.startswith("Art. 50"):
        return "art50"
    return "art5"


def classify(answers: Mapping[str, Any]) -> Determination:
    """Classify a system from questionnaire answers; never raises on bad answers, reports them."""
    validation = validate_answers(answers)
    trace = _Trace(visible_answers(answers))
    for contradiction in validation.contradictions:
        trace.step(None, f"Contradiction ({', '.join(contradiction.question_ids)}): {contradiction.message}")
    if validation.missing:
        trace.step(None, f"{len(validation.missing)} visible question(s) unanswered; the result is provisional.")

    result: dict[str, Any] = {}
    outcome = _scope(trace, result)
    if outcome is None:
        _gpai(trace, result)
        model_only = result.get("offering") == "gpai_model"
        outcome = _model_only(trace) if model_only else _prohibited(trace, result) or _high_risk(trace, result)
        # Art. 25 switches depend only on the system being high-risk, which neither Art. 50 nor
        # Art. 2(12) changes; the roles come first because each Art. 50 duty binds one role.
        _roles(trace, result, outcome)
        if not model_only:
            _biometric_law_enforcement(trace, result, outcome)
            if outcome is not Outcome.PROHIBITED:
                _transparency(trace, result)
        outcome = _open_source(trace, result, outcome)
        outcome = _regime(outcome, result)

    return Determination(
        outcome=outcome,
        risk_tier=_risk_tier(outcome, result.get("transparency", ()), result.get("gpai")),
        rules_version=RULES_VERSION,
        legal_bases=tuple(trace.bases),
        rationale=tuple(trace.steps),
        unsure_answers=tuple(dict.fromkeys([*trace.unsure, *(q for q, v in trace.answers.items() if v == "unsure")])),
        contradictions=validation.contradictions,
        missing=validation.missing,
        invalid_answers=validation.invalid_answers,
        is_complete=validation.is_complete,
        **result,
    )


def _regime(outcome: Outcome, result: Mapping[str, Any]) -> Outcome:
    """When no Art. 5 or Art. 6 route applies, the outcome names the regime that does: the GPAI
    model regime (with systemic risk first), then Art. 50 transparency, and only then minimal."""
    if outcome is not Outcome.MINIMAL_RISK:
        return outcome
    if result.get("gpai") == "gpai_systemic_risk":
        return Outcome.GPAI_MODEL_SYSTEMIC
    if result.get("gpai"):
        return Outcome.GPAI_MODEL
    if result.get("transparency"):
        return Outcome.TRANSPARENCY
    return outcome


def _risk_tier(outcome: Outcome, transparency: tuple[str, ...], gpai: str | None = None) -> str:
    """The inventory tier. Art. 50 duties and the GPAI model regime (Art. 53-55) are specific
    duties beyond Art. 4, so neither is ever "minimal"; the headline names which regime applies."""
    if outcome is Outcome.PROHIBITED:
        return "prohibited"
    if outcome in _HIGH_RISK:
        return "high"
    if gpai:  # the GPAI model regime survives the Art. 2(12) exclusion of open-source systems
        return "limited"
    if outcome in (Outcome.OUT_OF_SCOPE, Outcome.NOT_AI_SYSTEM):
        return "out_of_scope"
    return "limited" if transparency else "minimal"


def _scope(trace: _Trace, result: dict[str, Any]) -> Outcome | None:
    """Art. 3(1) and the Art. 2 exclusions; None when the system is in scope."""
    if "is_ai_system" not in trace.answers:
        trace.step(
            None, "Whether the system is an AI system (Art. 3(1)) is not answered yet; no classification is possible."
        )
        return Outcome.NOT_AI_SYSTEM
    if not trace.holds("ai_system"):
        trace.step(FLAGS["ai_system"], "not an AI system under Art. 3(1); the AI Act does not apply")
        trace.basis("Art. 3(1)")
        return Outcome.NOT_AI_SYSTEM
    trace.step(FLAGS["ai_system"], "an AI system under Art. 3(1)")
    for name, reference, explanation in EXCLUSIONS:
        if trace.holds(name):
            trace.step(FLAGS[name], f"out of scope under {reference}: {explanation}")
            trace.basis(reference)
            result["excluded_by"] = reference
            return Outcome.OUT_OF_SCOPE
    return None


def _gpai(trace: _Trace, result: dict[str, Any]) -> None:
    """The general-purpose AI model regime: Art. 53(1)(a)-(d) for every model provider, lifted for
    (a) and (b) by the open-source exception (Art. 53(2)); an authorised representative for a
    provider outside the Union (Art. 54), except for such an open-source model (Art. 54(6));
    Art. 51, 52(1) and 55 with systemic risk, which removes both open-source exceptions."""
    answers = trace.answers
    offering = answers.get("provider_offering")
    if offering:
        result["offering"] = offering
        trace.step(
            {"q": "provider_offering", "answered": True},
            {
                "ai_system": "you place an AI system on the market, not a general-purpose AI model",
                "gpai_model": "you place only a general-purpose AI model on the market: the model duties of "
                "Art. 53-55 apply, and the AI-system questions (Art. 5, Art. 6, Art. 50) are for the providers "
                "of the systems built on it",
                "both": "you place a general-purpose AI model and an AI system built on it on the market: "
                "the model duties (Art. 53-55) and the system rules both apply",
            }[offering],
        )
    if trace.answers.get("gpai_representative") in ("yes", "unsure"):
        result["gpai_representative"] = True
        trace.basis("Art. 54")
        trace.step(
            {"q": "gpai_representative", "in": ["yes", "unsure"]},
            "Art. 54: as authorised representative of the model's provider you verify its documentation, "
            "keep a copy for the AI Office for 10 years and cooperate with the AI Office and the authorities",
        )
    if not trace.holds("gpai_model_provider"):
        if offering == "ai_system" or answers.get("gpai_model_provider") == "no":
            trace.step(
                None if offering else {"q": "gpai_model_provider", "eq": "no"},
                "the general-purpose AI model duties of Art. 53 rest with the model's provider",
            )
        return
    if trace.holds("gpai_minor_modification"):
        trace.step(
            FLAGS["gpai_minor_modification"],
            "you modified another provider's general-purpose AI model with less than one third of its "
            "training compute: under the Commission's GPAI guidelines you are not the provider of the "
            "model, so its Art. 53 duties stay with the original provider",
        )
        return
    if answers.get("gpai_modified_model") == "yes":
        trace.step(
            {"q": "gpai_modification_over_third", "in": ["yes", "unsure"]},
            "the modification is large enough to make you the provider of the modified model",
        )
    systemic = trace.holds("gpai_systemic_risk")
    open_source = not systemic and answers.get("gpai_open_source") == "yes"
    trace.basis("Art. 53(1)")
    if systemic:
        result["gpai"] = "gpai_systemic_risk"
        trace.step(
            FLAGS["gpai_systemic_risk"],
            "general-purpose AI model with systemic risk (Art. 51): Art. 53, 55 and the Art. 52(1) notification "
            "apply, and the open-source exceptions of Art. 53(2) and Art. 54(6) do not",
        )
        # Compute over 10^25 FLOP is the Art. 51(2) presumption of high-impact capabilities,
        # so it classifies under Art. 51(1)(a) as well.
        for qid, references in (
            ("gpai_compute_over_threshold", ("Art. 51(1)(a)", "Art. 51(2)")),
            ("gpai_high_impact", ("Art. 51(1)(a)",)),
            ("gpai_designated", ("Art. 51(1)(b)",)),
        ):
            if answers.get(qid) in ("yes", "unsure"):
                for reference in references:
                    trace.basis(reference)
    else:
        result["gpai"] = "gpai"
        trace.step(
            _PROVIDES_MODEL,
            "provider of a general-purpose AI model without systemic risk: Art. 53 applies",
        )
    for letter in ("c", "d") if open_source else ("a", "b", "c", "d"):
        trace.basis(f"Art. 53(1)({letter})")
    if open_source:
        result["gpai_open_source"] = True
        trace.basis("Art. 53(2)")
        trace.step(
            {"q": "gpai_open_source", "eq": "yes"},
            "Art. 53(2): the open-source exception lifts Art. 53(1)(a) and (b) but not (c) and (d)",
        )
    if systemic:
        trace.basis("Art. 52(1)")
        trace.basis("Art. 55(1)")
    if answers.get("gpai_third_country") in ("yes", "unsure"):
        result["gpai_third_country"] = True
        trace.basis("Art. 54(6)" if open_source else "Art. 54")
        trace.step(
            {"q": "gpai_third_country", "in": ["yes", "unsure"]},
            "no authorised representative is needed for this open-source model (Art. 54(6))"
            if open_source
            else "an authorised representative in the Union is required (Art. 54)",
        )


_PROVIDES_MODEL = {
    "any": [
        {"q": "provider_offering", "in": ["gpai_model", "both"]},
        {"q": "gpai_model_provider", "in": ["yes", "unsure"]},
    ]
}


def _model_only(trace: _Trace) -> Outcome:
    trace.step(
        None,
        "Art. 5, Art. 6 and Art. 50 concern AI systems: they are not assessed for a model placed on the "
        "market on its own, and no Art. 50(2) or 50(4) duty attaches to it.",
    )
    return Outcome.MINIMAL_RISK


def _prohibited(trace: _Trace, result: dict[str, Any]) -> Outcome | None:
    points = tuple(point for point in ART_5_POINTS if trace.holds(art_5_flag(point)))
    for point in points:
        trace.step(FLAGS[art_5_flag(point)], f"Art. {point} applies: a prohibited practice")
        trace.basis(f"Art. {point}")
    if not points and any(qid.startswith("art5_") for qid in trace.answers):
        trace.step(None, "No practice prohibited by Art. 5(1)(a) to (h) was identified.")
    trace.carve_outs("art5")
    if not points:
        return None
    result["art_5_points"] = points
    return Outcome.PROHIBITED


def _high_risk(trace: _Trace, result: dict[str, Any]) -> Outcome:
    answers = trace.answers
    annex_i = trace.holds("annex_i_high_risk")
    if annex_i:
        acts = tuple(answers.get("annex1_act") or ())
        sections = sorted({ANNEX_I_ACTS[act][0] for act in acts})
        # A product under a Section A act and a Section B act gets the full Section A route: the
        # Art. 2(2) limitation is read as covering products under Section B legislation only.
        section = sections[0] if sections else None
        result["annex_i_section"] = section
        result["annex_i_acts"] = acts
        annexes = [f"Annex I Section {s}" for s in sections] or ["Annex I Section A"]
        trace.step(
            {"all": [FLAGS["annex_i_high_risk"], {"q": "annex1_act", "answered": True}]},
            f"Art. 6(1) applies: high-risk via {' and '.join(annexes)}",
        )
        for annex in annexes:
            trace.basis("Art. 6(1)", annex=annex)
        if sections == ["A", "B"]:
            trace.step(
                None,
                "The product falls under Annex I Section A and Section B legislation: the Section A route "
                "with the full high-risk requirements applies (the stricter reading); the Art. 2(2) "
                "limitation covers products under Section B legislation only.",
            )
        if section == "B":
            trace.basis("Art. 2(2)")
            trace.step(
                None,
                "For Annex I Section B products only Art. 6(1), Art. 102-109 and Art. 112 "
                "apply (Art. 2(2)); the requirements reach the system through the sectoral act.",
            )
    elif answers.get("annex1_covered") in ("yes", "unsure"):
        trace.step(
            {"q": "annex1_third_party", "eq": "no"},
            "no third-party conformity assessment is required, so Art. 6(1) does not apply",
        )

    points = tuple(point for point in ANNEX_III_POINTS if trace.holds(annex_iii_flag(point)))
    for point in points:
        trace.step(FLAGS[annex_iii_flag(point)], f"Annex III point {point} applies (Art. 6(2))")
        trace.basis("Art. 6(2)", annex=f"Annex III point {point}")
    trace.carve_outs("annex_iii")
    result["annex_iii_points"] = points
    if annex_i:
        return Outcome.HIGH_RISK_ANNEX_I
    if not points:
        trace.step(None, "No Annex I product route and no Annex III use case applies: not high-risk.")
        return Outcome.MINIMAL_RISK
    return _art_6_3(trace, result)


def _art_6_3(trace: _Trace, result: dict[str, Any]) -> Outcome:
    answers = trace.answers
    if trace.holds("art_6_3_applies"):
        letters = tuple(f"({c})" for c in ("a", "b", "c", "d") if c in answers.get("art6_3_conditions", ()))
        result["art_6_3_conditions"] = letters
        trace.step(
            FLAGS["art_6_3_applies"],
            f"not high-risk under Art. 6(3){letters[0]}; the provider must document the "
            "assessment before placing on the market (Art. 6(4)) and register the system (Art. 49(2))",
        )
        for letter in letters:
            trace.basis(f"Art. 6(3){letter}")
        trace.basis("Art. 6(4)")
        trace.basis("Art. 49(2)")
        return Outcome.NOT_HIGH_RISK_ART_6_3
    if answers.get("art6_3_profiling") in ("yes", "unsure"):
        trace.step(
            {"q": "art6_3_profiling", "in": ["yes", "unsure"]},
            "a system that profiles natural persons is always high-risk (Art. 6(3), last subparagraph)",
        )
        trace.basis("Art. 6(3)")
    elif answers.get("art6_3_performs_assessment") in ("yes", "unsure"):
        trace.step(
            {"q": "art6_3_performs_assessment", "in": ["yes", "unsure"]},
            "the system performs the listed task itself or materially influences the decision, so the "
            "Art. 6(3) derogation is not available and the system remains high-risk",
        )
        trace.basis("Art. 6(3)")
    elif "art6_3_profiling" in answers:
        trace.step(
            {
                "all": [
                    {"q": "art6_3_conditions", "answered": True},
                    {"q": "art6_3_no_significant_risk", "answered": True},
                ]
            },
            "the Art. 6(3) derogation is not established, so the system remains high-risk",
        )
    return Outcome.HIGH_RISK_ANNEX_III


_RBI_OBJECTIVES = {
    "victims_missing_persons": "5(1)(h)(i)",
    "imminent_threat": "5(1)(h)(ii)",
    "serious_crime_suspect": "5(1)(h)(iii)",
}
_RBI_EXCEPTION = next(c for c in CARVE_OUTS if c.code == "rbi_authorised_exception")
_POST_RBI = {
    "all": [
        FLAGS["rbi_system"],
        {"q": "rbi_real_time", "eq": "no"},
        {"q": "rbi_law_enforcement", "in": ["yes", "unsure"]},
    ]
}


def _biometric_law_enforcement(trace: _Trace, result: dict[str, Any], outcome: Outcome) -> None:
    """The exceptions are legal bases: lawful real-time RBI cites its Art. 5(1)(h) objective and
    Art. 5(2)-(3), and the deployer must notify each use (Art. 5(4)); post-remote RBI by law
    enforcement derives Art. 26(10) for the deployer."""
    held = result.get("effective_roles", ())
    deployer = "roles" not in trace.answers or Role.DEPLOYER.value in held
    if outcome is not Outcome.PROHIBITED and evaluate(_RBI_EXCEPTION.condition, trace.answers, FLAGS):
        point = _RBI_OBJECTIVES[trace.answers["rbi_objective"]]
        result["rbi_exception"] = point
        for reference in (f"Art. {point}", "Art. 5(2)", "Art. 5(3)"):
            trace.basis(reference)
        if deployer:
            trace.basis("Art. 5(4)")
            trace.step(
                None, "Art. 5(4): each use must be notified to the market surveillance and data protection authorities"
            )
    if outcome in _HIGH_RISK and trace.holds("rbi_system") and evaluate(_POST_RBI, trace.answers, FLAGS):
        result["post_rbi_law_enforcement"] = True
        if deployer:
            trace.basis("Art. 26(10)")
            trace.step(
                _POST_RBI,
                "post-remote biometric identification for law enforcement: each use needs authorisation "
                "ex ante or within 48 hours, documentation in the police file and annual reports (Art. 26(10))",
            )


def _transparency(trace: _Trace, result: dict[str, Any]) -> None:
    """Art. 50 duties of the organisation's own roles: 50(1) and 50(2) bind the provider, 50(3) and
    50(4) the deployer. A paragraph that applies to the system but binds another operator is kept
    in ``art_50_other_roles`` (it still keeps the system out of Art. 2(12)), not as a legal basis."""
    held = result.get("effective_roles", ())
    paragraphs: list[str] = []
    others: list[str] = []
    kinds: list[str] = []
    for paragraph, name, role in TRANSPARENCY_RULES:
        if not trace.holds(name):
            continue
        if "roles" in trace.answers and role not in held:
            if paragraph not in others:
                others.append(paragraph)
            trace.step(
                FLAGS[name],
                f"Art. {paragraph} applies to the system but binds its {role}; your organisation is not "
                f"the {role} of this system, so no Art. {paragraph} duty is yours",
            )
            continue
        if paragraph not in paragraphs:
            paragraphs.append(paragraph)
        if name.startswith("art50_4_"):
            kinds.append(name.removeprefix("art50_4_"))
        trace.step(FLAGS[name], f"Art. {paragraph} transparency duties apply (they bind the {role})")
        trace.basis(f"Art. {paragraph}")
    trace.carve_outs("art50")
    result["transparency"] = tuple(paragraphs)
    result["art_50_other_roles"] = tuple(p for p in others if p not in paragraphs)
    result["art_50_4_kinds"] = tuple(kinds)


def _open_source(trace: _Trace, result: dict[str, Any], outcome: Outcome) -> Outcome:
    if trace.answers.get("open_source_licence") != "yes":
        return outcome
    condition = {"q": "open_source_licence", "eq": "yes"}
    if result.get("offering") == "gpai_model":
        trace.step(
            condition,
            "the Art. 2(12) open-source exclusion concerns AI systems; for a model the open-source "
            "exceptions are Art. 53(2) and Art. 54(6), which the model questions decide",
        )
        return outcome
    if outcome is Outcome.NOT_HIGH_RISK_ART_6_3:
        # Conservative reading (an open legal point): the system is listed in Annex III and escapes
        # the high-risk regime only through the provider's own Art. 6(3) assessment, which
        # Art. 6(4) requires to be documented and which authorities may re-evaluate (Art. 80).
        trace.step(
            condition,
            "the Art. 2(12) open-source exclusion is not applied: the system is "
            "listed in Annex III and relies on the Art. 6(3) derogation, so the "
            "Art. 6(4) documentation and Art. 49(2) registration are kept",
        )
        return outcome
    if (
        outcome is Outcome.PROHIBITED
        or outcome in _HIGH_RISK
        or result.get("transparency")
        or result.get("art_50_other_roles")
    ):
        reason = (
            "it falls under Art. 5"
            if outcome is Outcome.PROHIBITED
            else "it is high-risk"
            if outcome in _HIGH_RISK
            else "Art. 50 applies"
        )
        trace.step(condition, f"the Art. 2(12) open-source exclusion does not apply because {reason}")
        return outcome
    trace.step(
        condition,
        "out of scope under Art. 2(12): a free and open-source system that is "
        "neither prohibited, high-risk nor subject to Art. 50",
    )
    trace.basis("Art. 2(12)")
    result["excluded_by"] = "Art. 2(12)"
    return Outcome.OUT_OF_SCOPE


# Role -> (article of its duties, how the rationale names it). The Act's duties of these roles
# (Chapter III Section 3) concern high-risk systems only, so the article is cited as a legal basis
# only where the system is high-risk and not an Annex I Section B product (Art. 2(2)).
_ROLE_ARTICLES = {
    Role.IMPORTER.value: ("Art. 23", "importer"),
    Role.DISTRIBUTOR.value: ("Art. 24", "distributor"),
    Role.AUTHORISED_REPRESENTATIVE.value: ("Art. 22", "authorised representative"),
}

# What an Art. 25 switch does to each role declared before it, and why.
_AFTER_SWITCH = {
    Role.DEPLOYER.value: (
        False,
        "your Art. 26 deployer duties remain: you still use the system under your authority (Art. 3(4)); "
        "the provider duties come on top",
    ),
    Role.IMPORTER.value: (
        True,
        "your Art. 23 importer duties end for this system: as its provider you carry the conformity "
        "assessment, documentation and marking that an importer only verifies (Art. 16)",
    ),
    Role.DISTRIBUTOR.value: (
        True,
        "your Art. 24 distributor duties end for this system: a distributor is an operator other than the "
        "provider (Art. 3(7)), and the provider duties include and go beyond its checks",
    ),
    Role.AUTHORISED_REPRESENTATIVE.value: (
        True,
        "your Art. 22 mandate duties end for this system: an authorised representative acts for another "
        "provider (Art. 3(5)), and you are now the provider",
    ),
    Role.PRODUCT_MANUFACTURER.value: (
        False,
        "you remain the product manufacturer: the duties of the Annex I product legislation stay yours",
    ),
}


def _roles(trace: _Trace, result: dict[str, Any], outcome: Outcome) -> None:
    answers = trace.answers
    declared = tuple(role for role in answers.get("roles", ()) if role != "none")
    result["declared_roles"] = declared
    if answers.get("roles") == ["none"]:
        trace.step(
            {"q": "roles", "contains": "none"},
            "your organisation holds none of the operator roles of Art. 3(8) for this system: the Act "
            "places no duty on it for this system; the result describes the system for the operators that do",
        )
        trace.basis("Art. 3(8)")
    if Role.DEPLOYER.value in declared:
        result["deployer_type"] = answers.get("deployer_type")
        if answers.get("deployer_type") == "unsure":
            trace.unsure.setdefault("deployer_type", None)
            trace.step(
                {"q": "deployer_type", "eq": "unsure"},
                "treated as a body governed by public law, the stricter reading: for an Annex III system "
                "a fundamental rights impact assessment (Art. 27) and registration of the use (Art. 49(3)) "
                "are listed until you confirm the kind of organisation",
            )
    high_risk = outcome in _HIGH_RISK
    switches: list[str] = []
    triggers = [(qid, ref) for qid, ref in _ART_25_TRIGGERS if answers.get(qid) in ("yes", "unsure")]
    if result.get("annex_i_section") == "A" and answers.get("annex1_manufacturer_own_name") in ("yes", "unsure"):
        triggers.append(("annex1_manufacturer_own_name", "Art. 25(3)"))
    for qid, reference in triggers:
        condition = {"q": qid, "in": ["yes", "unsure"]}
        if high_risk and Role.PROVIDER.value not in declared:
            switches.append(reference)
            trace.step(
                condition,
                f"{reference}: your organisation becomes the provider of this "
                "high-risk system, with all provider obligations",
            )
            trace.basis(reference)
        elif not high_risk:
            trace.step(condition, f"{reference} has no effect: it applies only to high-risk systems")
    effective = list(declared)
    replaced: list[str] = []
    if switches and Role.PROVIDER.value not in effective:
        effective.insert(0, Role.PROVIDER.value)
        for role in declared:
            ends, explanation = _AFTER_SWITCH[role]
            trace.step(None, f"After {', '.join(switches)}: {explanation}.")
            if ends:
                replaced.append(role)
        effective = [role for role in effective if role not in replaced]
    result["role_switches"] = tuple(switches)
    result["roles_replaced"] = tuple(replaced)
    result["effective_roles"] = tuple(effective)
    _role_articles(trace, result, outcome, effective)


def _role_articles(trace: _Trace, result: Mapping[str, Any], outcome: Outcome, effective: list[str]) -> None:
    """Cite the article of each operator role held, where its duties apply (high-risk systems)."""
    section_b = result.get("annex_i_section") == "B"
    applies = outcome in _HIGH_RISK and not section_b
    for role, (article, name) in _ROLE_ARTICLES.items():
        if role not in effective:
            continue
        condition = {"q": "roles", "contains": role}
        if applies:
            trace.basis(article)
            trace.step(condition, f"{article}: the duties of the {name} of a high-risk system apply")
        elif section_b:
            trace.step(
                condition,
                f"the {name} duties of {article} do not apply to an Annex I Section B product (Art. 2(2)); "
                "the sectoral legislation sets them",
            )
        else:
            trace.step(condition, f"the {name} duties of {article} concern high-risk systems only; none apply here")
    if Role.PRODUCT_MANUFACTURER.value in effective:
        condition = {"q": "roles", "contains": Role.PRODUCT_MANUFACTURER.value}
        if outcome is Outcome.HIGH_RISK_ANNEX_I and result.get("annex_i_section") == "A":
            trace.basis("Art. 25(3)")
            if "Art. 25(3)" not in result["role_switches"] and Role.PROVIDER.value not in effective:
                trace.step(
                    condition,
                    "Art. 25(3): as product manufacturer you become the provider of the AI safety component "
                    "only if the product is placed on the market or put into service under your name; "
                    "until then its provider duties rest with the AI system's provider",
                )
        else:
            trace.step(
                condition,
                "Art. 25(3) concerns AI safety components of Annex I Section A products: as product "
                "manufacturer you have no AI Act role duty for this system",
            )
