"""Value types of the rules module: questions, legal references and results.

Everything here is immutable and JSON-exportable through ``to_dict()``; nothing imports Django.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from governance.rules.conditions import Condition

YES_NO_UNSURE = "yes_no_unsure"
SINGLE = "single"
MULTI = "multi"
QUESTION_KINDS = (YES_NO_UNSURE, SINGLE, MULTI)

ANSWER_LABELS = {"yes": "Yes", "no": "No", "unsure": "Unsure"}


class Outcome(enum.StrEnum):
    PROHIBITED = "prohibited"
    HIGH_RISK_ANNEX_I = "high_risk_annex_i"
    HIGH_RISK_ANNEX_III = "high_risk_annex_iii"
    NOT_HIGH_RISK_ART_6_3 = "not_high_risk_art_6_3"
    TRANSPARENCY = "transparency_obligations"
    GPAI_MODEL = "gpai_model"
    GPAI_MODEL_SYSTEMIC = "gpai_model_systemic_risk"
    MINIMAL_RISK = "minimal_risk"
    OUT_OF_SCOPE = "out_of_scope"
    NOT_AI_SYSTEM = "not_ai_system"


class Role(enum.StrEnum):
    PROVIDER = "provider"
    DEPLOYER = "deployer"
    IMPORTER = "importer"
    DISTRIBUTOR = "distributor"
    AUTHORISED_REPRESENTATIVE = "authorised_representative"  # Art. 3(5), duties in Art. 22 (Art. 54 for models)
    PRODUCT_MANUFACTURER = "product_manufacturer"  # Art. 25(3): Annex I Section A products


ROLE_PRECEDENCE = (
    Role.PROVIDER,
    Role.DEPLOYER,
    Role.IMPORTER,
    Role.DISTRIBUTOR,
    Role.AUTHORISED_REPRESENTATIVE,
    Role.PRODUCT_MANUFACTURER,
)

# What a provider places on the market (question ``provider_offering``).
OFFERINGS = ("ai_system", "gpai_model", "both")


@dataclass(frozen=True)
class Reference:
    """An article (or annex point) with a short paraphrase: the "article one click away"."""

    ref: str
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "summary": self.summary}


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    exclusive: bool = False  # e.g. "none": cannot be combined with other options

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "label": self.label, "exclusive": self.exclusive}


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    text: str
    kind: str
    references: tuple[Reference, ...]
    help: str = ""
    options: tuple[Option, ...] = ()
    visible_if: Condition | None = None
    # The answer "unsure" stands for: "yes" where yes is the stricter reading, "no" where a
    # yes would relieve someone of a duty (exceptions, exclusions). Only for yes/no/unsure.
    unsure_means: str | None = None
    required: bool = True

    @property
    def allowed_values(self) -> tuple[str, ...]:
        if self.kind == YES_NO_UNSURE:
            return ("yes", "no", "unsure")
        return tuple(option.value for option in self.options)

    def label_for(self, value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(self.label_for(v) for v in value)
        if self.kind == YES_NO_UNSURE:
            return ANSWER_LABELS.get(value, str(value))
        for option in self.options:
            if option.value == value:
                return option.label
        return str(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "text": self.text,
            "help": self.help,
            "kind": self.kind,
            "options": [option.to_dict() for option in self.options]
            if self.kind != YES_NO_UNSURE
            else [Option(v, ANSWER_LABELS[v]).to_dict() for v in ("yes", "no", "unsure")],
            "references": [reference.to_dict() for reference in self.references],
            "visible_if": self.visible_if,
            "unsure_means": self.unsure_means,
            "required": self.required,
        }


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "description": self.description}


@dataclass(frozen=True)
class LegalBasis:
    article: str
    text: str
    annex: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"article": self.article, "annex": self.annex, "text": self.text}


@dataclass(frozen=True)
class Contradiction:
    code: str
    question_ids: tuple[str, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "question_ids": list(self.question_ids), "message": self.message}


@dataclass(frozen=True)
class InvalidAnswer:
    question_id: str
    value: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"question_id": self.question_id, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class ValidationOutcome:
    unknown_question_ids: tuple[str, ...]
    invalid_answers: tuple[InvalidAnswer, ...]
    missing: tuple[str, ...]
    contradictions: tuple[Contradiction, ...]
    # Answers to questions that earlier answers have hidden: kept, but ignored by classify().
    ignored_hidden: tuple[str, ...]

    @property
    def is_complete(self) -> bool:
        return not self.missing

    @property
    def is_valid(self) -> bool:
        return not (self.unknown_question_ids or self.invalid_answers or self.missing or self.contradictions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unknown_question_ids": list(self.unknown_question_ids),
            "invalid_answers": [item.to_dict() for item in self.invalid_answers],
            "missing": list(self.missing),
            "contradictions": [item.to_dict() for item in self.contradictions],
            "ignored_hidden": list(self.ignored_hidden),
            "is_complete": self.is_complete,
            "is_valid": self.is_valid,
        }


@dataclass(frozen=True)
class Determination:
    outcome: Outcome
    risk_tier: str  # "prohibited" | "high" | "limited" | "minimal" | "out_of_scope"
    rules_version: str
    # What the provider places on the market: "ai_system" | "gpai_model" | "both"; None when the
    # question was not asked (not a provider, or no general-purpose AI model involved).
    offering: str | None = None
    art_5_points: tuple[str, ...] = ()  # e.g. ("5(1)(f)",)
    annex_i_section: str | None = None  # "A" | "B" ("A" when the product is under acts of both sections)
    annex_i_acts: tuple[str, ...] = ()  # e.g. ("machinery", "radio_equipment")
    annex_iii_points: tuple[str, ...] = ()  # e.g. ("5(b)",)
    art_6_3_conditions: tuple[str, ...] = ()  # e.g. ("(a)",) when the derogation applies
    transparency: tuple[str, ...] = ()  # e.g. ("50(1)", "50(4)")
    art_50_4_kinds: tuple[str, ...] = ()  # "deep_fake" | "public_interest_text"
    # Art. 50 paragraphs that apply to the system but bind a role the organisation does not hold
    # (e.g. 50(2) marking for a deployer): no duty, no legal basis, but Art. 2(12) stays closed.
    art_50_other_roles: tuple[str, ...] = ()
    gpai: str | None = None  # None | "gpai" | "gpai_systemic_risk"
    rbi_exception: str | None = None  # e.g. "5(1)(h)(i)": lawful real-time RBI under Art. 5(2)-(3)
    post_rbi_law_enforcement: bool = False  # post-remote biometric identification, Art. 26(10)
    gpai_open_source: bool = False
    gpai_third_country: bool = False
    gpai_representative: bool = False  # authorised representative of a non-EU GPAI model provider (Art. 54)
    excluded_by: str | None = None  # e.g. "Art. 2(3)"
    declared_roles: tuple[str, ...] = ()
    effective_roles: tuple[str, ...] = ()
    role_switches: tuple[str, ...] = ()  # e.g. ("Art. 25(1)(a)",)
    # Operator roles whose duties end with an Art. 25 switch (importer, distributor, authorised
    # representative of this system): the provider duties replace them.
    roles_replaced: tuple[str, ...] = ()
    deployer_type: str | None = None  # "public_law_body" | "private_public_service" | "other" | "unsure"
    legal_bases: tuple[LegalBasis, ...] = ()
    rationale: tuple[str, ...] = ()
    unsure_answers: tuple[str, ...] = ()
    contradictions: tuple[Contradiction, ...] = ()
    missing: tuple[str, ...] = ()
    invalid_answers: tuple[InvalidAnswer, ...] = ()
    is_complete: bool = True

    @property
    def art_6_3_condition(self) -> str | None:
        """The first Art. 6(3) condition relied on, e.g. "(a)", or None."""
        return self.art_6_3_conditions[0] if self.art_6_3_conditions else None

    @property
    def effective_role(self) -> str | None:
        """The role carrying the most duties after Art. 25 (provider first)."""
        for role in ROLE_PRECEDENCE:
            if role.value in self.effective_roles:
                return role.value
        return None

    @property
    def is_provisional(self) -> bool:
        """True while answers are missing, invalid or contradictory."""
        return bool(not self.is_complete or self.contradictions or self.invalid_answers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "risk_tier": self.risk_tier,
            "rules_version": self.rules_version,
            "offering": self.offering,
            "art_5_points": list(self.art_5_points),
            "annex_i_section": self.annex_i_section,
            "annex_i_acts": list(self.annex_i_acts),
            "annex_iii_points": list(self.annex_iii_points),
            "art_6_3_condition": self.art_6_3_condition,
            "art_6_3_conditions": list(self.art_6_3_conditions),
            "transparency": list(self.transparency),
            "art_50_4_kinds": list(self.art_50_4_kinds),
            "art_50_other_roles": list(self.art_50_other_roles),
            "gpai": self.gpai,
            "rbi_exception": self.rbi_exception,
            "post_rbi_law_enforcement": self.post_rbi_law_enforcement,
            "gpai_open_source": self.gpai_open_source,
            "gpai_third_country": self.gpai_third_country,
            "gpai_representative": self.gpai_representative,
            "excluded_by": self.excluded_by,
            "declared_roles": list(self.declared_roles),
            "effective_roles": list(self.effective_roles),
            "effective_role": self.effective_role,
            "role_switches": list(self.role_switches),
            "roles_replaced": list(self.roles_replaced),
            "deployer_type": self.deployer_type,
            "legal_bases": [basis.to_dict() for basis in self.legal_bases],
            "rationale": list(self.rationale),
            "unsure_answers": list(self.unsure_answers),
            "contradictions": [item.to_dict() for item in self.contradictions],
            "missing": list(self.missing),
            "invalid_answers": [item.to_dict() for item in self.invalid_answers],
            "is_complete": self.is_complete,
            "is_provisional": self.is_provisional,
        }


@dataclass(frozen=True)
class EvidenceSpec:
    kind: str  # e.g. "validation_run:fairness", "model_card", "document"
    reference: str  # the point the evidence supports, e.g. "Art. 10(2)(f)"
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reference": self.reference, "description": self.description}


@dataclass(frozen=True)
class ObligationSpec:
    code: str
    article: str
    title: str
    description: str
    role: str
    applies_from_key: str
    applies_from: date
    evidence: tuple[EvidenceSpec, ...] = ()
    evidence_max_age_days: int = 365
    notes: tuple[str, ...] = field(default=())

    @property
    def evidence_kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.kind for item in self.evidence))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "article": self.article,
            "title": self.title,
            "description": self.description,
            "role": self.role,
            "applies_from_key": self.applies_from_key,
            "applies_from": self.applies_from.isoformat(),
            "evidence": [item.to_dict() for item in self.evidence],
            "evidence_kinds": list(self.evidence_kinds),
            "evidence_max_age_days": self.evidence_max_age_days,
            "notes": list(self.notes),
        }
