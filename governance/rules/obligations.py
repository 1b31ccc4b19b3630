"""Obligations that follow from a Determination and the organisation's role(s).

One ObligationSpec per (code, role): Art. 4, for example, appears once for the provider and once
for the deployer when the organisation is both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

from governance.rules.content import obligations_catalogue as catalogue
from governance.rules.content.obligations_catalogue import Template
from governance.rules.dates import resolve_dates
from governance.rules.schema import Determination, ObligationSpec, Outcome, Role

_OUT = (Outcome.OUT_OF_SCOPE, Outcome.NOT_AI_SYSTEM)
_HIGH_RISK = (Outcome.HIGH_RISK_ANNEX_I, Outcome.HIGH_RISK_ANNEX_III)
# "unsure" is read as a body governed by public law, the stricter reading (rules 2026.12-1).
_FRIA_DEPLOYER_TYPES = ("public_law_body", "private_public_service", "unsure")
_PUBLIC_DEPLOYER_TYPES = ("public_law_body", "unsure")
_FRIA_POINTS = ("5(b)", "5(c)")


class _Builder:
    def __init__(self, dates: Mapping[str, date], high_risk_key: str) -> None:
        self.dates = dates
        self.high_risk_key = high_risk_key
        self.items: list[ObligationSpec] = []

    def add(
        self,
        template: Template,
        *,
        role: str | None = None,
        article: str | None = None,
        description: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        key = self.high_risk_key if template.date_key == "high_risk" else template.date_key
        self.items.append(
            ObligationSpec(
                code=template.code,
                article=article or template.article,
                title=template.title,
                description=description or template.description,
                role=role or template.role,
                applies_from_key=key,
                applies_from=self.dates[key],
                evidence=template.evidence,
                evidence_max_age_days=template.max_age_days,
                notes=template.notes + notes,
            )
        )


def derive_obligations(
    determination: Determination,
    *,
    dates: Mapping[str, date] | None = None,
    roles: Collection[str] | None = None,
) -> list[ObligationSpec]:
    """The obligations binding ``roles`` (default: the determination's effective roles).

    ``dates`` overrides entries of DEFAULT_APPLICATION_DATES (e.g. after the Digital Omnibus);
    unknown keys raise DatesError.
    """
    resolved = resolve_dates(dates)
    held = tuple(roles) if roles is not None else determination.effective_roles
    unknown = set(held) - {role.value for role in Role}
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; expected {[role.value for role in Role]}")
    outcome = determination.outcome
    builder = _Builder(resolved, "annex_i" if outcome is Outcome.HIGH_RISK_ANNEX_I else "annex_iii")

    if outcome is Outcome.HIGH_RISK_ANNEX_I and determination.annex_i_section == "B":
        # Art. 2(2): only Art. 6(1), 102-109 and 112 apply; nothing else from this Act binds here.
        if Role.PROVIDER in held:
            builder.add(catalogue.SECTION_B)
        _gpai(builder, determination, held)
        return builder.items

    if outcome not in _OUT:
        for role in (Role.PROVIDER, Role.DEPLOYER):
            # Art. 4 binds providers and deployers of AI systems, not a provider of a model only.
            if role in held and not (role is Role.PROVIDER and determination.offering == "gpai_model"):
                builder.add(catalogue.LITERACY, role=role.value)
    if outcome is Outcome.PROHIBITED:
        for role in held:
            builder.add(catalogue.PROHIBITION, role=role)
    if outcome in _HIGH_RISK:
        _high_risk(builder, determination, held)
    if outcome is Outcome.NOT_HIGH_RISK_ART_6_3 and Role.PROVIDER in held:
        for template in catalogue.ART_6_3:
            builder.add(template)
    _transparency(builder, determination, held)
    _gpai(builder, determination, held)
    return builder.items


def _high_risk(builder: _Builder, determination: Determination, held: tuple[str, ...]) -> None:
    points = determination.annex_iii_points
    registrable = tuple(point for point in points if point != "2")
    if Role.PROVIDER in held:
        for template in catalogue.HIGH_RISK_PROVIDER:
            if template.code == "art_49_registration":
                _registration(builder, template, points, registrable)
            elif template.code == "art_43_conformity_assessment":
                builder.add(template, notes=_conformity_notes(determination))
            else:
                builder.add(template)
    if Role.IMPORTER in held:
        builder.add(catalogue.IMPORTER)
    if Role.DISTRIBUTOR in held:
        builder.add(catalogue.DISTRIBUTOR)
    if Role.AUTHORISED_REPRESENTATIVE in held:
        for template in catalogue.AUTHORISED_REPRESENTATIVE:
            if template.code != "art_22_registration" or registrable:
                builder.add(template)
    if Role.DEPLOYER not in held:
        return
    builder.add(catalogue.HIGH_RISK_DEPLOYER)
    if determination.rbi_exception:
        builder.add(catalogue.RBI_USE_NOTIFICATION)
    if determination.post_rbi_law_enforcement:
        builder.add(catalogue.POST_RBI_AUTHORISATION)
    # Art. 27 and Art. 86 concern Art. 6(2) / Annex III systems, except point 2.
    if registrable and (
        determination.deployer_type in _FRIA_DEPLOYER_TYPES or any(point in _FRIA_POINTS for point in registrable)
    ):
        builder.add(catalogue.FRIA)
    if registrable and determination.deployer_type in _PUBLIC_DEPLOYER_TYPES:
        builder.add(catalogue.PUBLIC_DEPLOYER_REGISTRATION)
    if registrable:
        builder.add(catalogue.EXPLANATION)


def _registration(builder: _Builder, template: Template, points: tuple[str, ...], registrable: tuple[str, ...]) -> None:
    if registrable:
        builder.add(template)
    elif points:  # Annex III point 2 only: registration at national level.
        builder.add(
            template,
            article="Art. 49(5)",
            description="Register the critical-infrastructure system at national level, as your Member State provides.",
        )
    # Annex I only: Art. 49(1) covers Annex III systems, so no EU-database entry is listed.


def _conformity_notes(determination: Determination) -> tuple[str, ...]:
    if determination.outcome is Outcome.HIGH_RISK_ANNEX_I:
        return (
            "Annex I Section A: follow the sectoral conformity procedure with the AI Act "
            "requirements included (Art. 43(3)).",
        )
    if any(point.startswith("1") for point in determination.annex_iii_points):
        return (
            "Annex III point 1: a notified body (Annex VII) is mandatory unless harmonised "
            "standards or common specifications were applied in full (Art. 43(1)).",
        )
    return ("Annex III points 2 to 8: internal control under Annex VI (Art. 43(2)).",)


def _transparency(builder: _Builder, determination: Determination, held: tuple[str, ...]) -> None:
    keys = [f"art50_{paragraph[3]}" for paragraph in determination.transparency if paragraph != "50(4)"]
    keys += [f"art50_4_{kind}" for kind in determination.art_50_4_kinds]
    for key in keys:
        template = catalogue.TRANSPARENCY[key]
        if template.role in held:
            builder.add(template)


def _gpai(builder: _Builder, determination: Determination, held: tuple[str, ...]) -> None:
    if determination.gpai_representative and Role.AUTHORISED_REPRESENTATIVE in held:
        builder.add(catalogue.GPAI["54_representative"])
    if determination.gpai is None:
        return
    systemic = determination.gpai == "gpai_systemic_risk"
    open_source = determination.gpai_open_source and not systemic
    for key in ("53a", "53b"):
        if not open_source:  # Art. 53(2): lifted for open-source models without systemic risk.
            builder.add(catalogue.GPAI[key])
    builder.add(catalogue.GPAI["53c"])
    builder.add(catalogue.GPAI["53d"])
    if determination.gpai_third_country and not open_source:  # Art. 54(6)
        builder.add(catalogue.GPAI["54"])
    if systemic:
        builder.add(catalogue.GPAI["52"])
        builder.add(catalogue.GPAI["55"])


# What each kind of evidence is called on screen (the catalogue's codes are for machines).
EVIDENCE_KIND_LABELS: Mapping[str, str] = {
    "validation_run:performance": "Validation run: performance checks",
    "validation_run:robustness": "Validation run: robustness checks",
    "validation_run:edge_cases": "Validation run: edge-case checks",
    "validation_run:explainability": "Validation run: explainability checks",
    "validation_run:fairness": "Validation run: fairness checks",
    "validation_run:data_quality": "Validation run: data-quality checks",
    "validation_run:drift": "Validation run: drift checks",
    "validation_run:security": "Validation run: security checks",
    "model_card": "Model card",
    "dataset_card": "Dataset card",
    "document": "Document",
    "risk_register": "Risk register",
    "log_export": "Log export",
    "incident_register": "Incident register",
    "registration_record": "Registration record",
    "training_record": "Training record",
}


def evidence_kind_label(kind: str) -> str:
    """ "validation_run:fairness" -> "Validation run: fairness checks"; an unknown code in words."""
    if kind in EVIDENCE_KIND_LABELS:
        return EVIDENCE_KIND_LABELS[kind]
    return kind.replace("validation_run:", "validation run: ").replace("_", " ").capitalize()


def check_families_of(evidence_kinds: Collection[str]) -> tuple[str, ...]:
    """The validation check families an obligation is about, from the kinds of evidence the
    catalogue suggests for it (e.g. Art. 10 data governance -> data_quality, fairness)."""
    prefix = "validation_run:"
    return tuple(sorted({kind.removeprefix(prefix) for kind in evidence_kinds if kind.startswith(prefix)}))
