"""Writes of the risk register. Each one checks the actor's permission, validates, owns its
transaction and records its audit event (and, for risks, a revision) inside it.

Who may do what (the permission table in core/choices.py plus ownership):
- `risk.manage` (compliance officers) record and edit any risk of the organisation, and manage
  controls, the threat library, components and the risk settings (org admins may also change the
  settings, with `org.manage`);
- a *system owner* — the user who registered every AI system the risk is recorded against —
  may record risks on those systems; the *risk owner* may edit and treat their risk;
- accepting a risk whose current score is above the organisation's appetite needs `risk.accept`;
  below the appetite the risk's owner may accept it. Acceptance always needs a justification;
- anyone who may perform reviews (auditors) may raise a risk from a finding or review decision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import Conflict, NotAllowed, PortalError, ValidationFailed
from core.models import User
from core.permissions import has_permission
from core.trail import audit_record
from governance.risks import scoring
from governance.risks.choices import (
    ComponentKind,
    ControlEffectiveness,
    ControlType,
    RiskCategory,
    RiskSource,
    RiskStatus,
    Treatment,
    can_move,
)
from governance.risks.models import Control, Risk, RiskRevision, RiskSavedView, RiskSettings, SystemComponent, Threat
from models_registry.models import AISystem

logger = logging.getLogger(__name__)

FIELDS = (
    "title",
    "description",
    "category",
    "source",
    "owner",
    "likelihood",
    "impact",
    "residual_likelihood",
    "residual_impact",
    "residual_reason",
    "treatment",
    "acceptance_justification",
    "due_date",
    "next_review_date",
    "status",
    "threat",
    "component",
)
MANY = ("systems", "controls", "obligations")
EDITABLE = frozenset(FIELDS + MANY)


# --- settings -----------------------------------------------------------------------------------


def risk_settings_for(*, organisation_id: int) -> RiskSettings:
    settings, _ = RiskSettings.objects.get_or_create(organisation_id=organisation_id)
    return settings


def risk_settings_update(
    *, actor: User, appetite: int, likelihood_scale: list, impact_scale: list, bands: list, review_reminder_days: int
) -> RiskSettings:
    """Change the organisation's appetite, scale definitions, bands or reminder lead time."""
    if not (has_permission(actor, "risk.manage") or has_permission(actor, "org.manage")):
        raise NotAllowed("Only a compliance officer or an organisation admin can change the risk settings.")
    problems = []
    if type(appetite) is not int or not 1 <= appetite <= 25:
        problems.append("The appetite is a score from 1 to 25.")
    for name, scale in (("likelihood", likelihood_scale), ("impact", impact_scale)):
        if message := scoring.check_scale(scale):
            problems.append(f"The {name} scale: {message}")
    if message := scoring.check_bands(bands):
        problems.append(message)
    if type(review_reminder_days) is not int or not 1 <= review_reminder_days <= 365:
        problems.append("Reminders are sent 1 to 365 days before a review.")
    if problems:
        raise ValidationFailed(problems[0], code="invalid_settings", extra={"problems": problems})
    with transaction.atomic():
        settings = risk_settings_for(organisation_id=actor.organisation_id)  # type: ignore[arg-type]  # organisation_id is nullable only for platform users, who never reach a service
        settings = RiskSettings.objects.select_for_update().get(pk=settings.pk)
        fields = ("appetite", "likelihood_scale", "impact_scale", "bands", "review_reminder_days")
        before = {name: getattr(settings, name) for name in fields}
        after = {
            "appetite": appetite,
            "likelihood_scale": likelihood_scale,
            "impact_scale": impact_scale,
            "bands": bands,
            "review_reminder_days": review_reminder_days,
        }
        changed = {name for name in fields if before[name] != after[name]}
        if not changed:
            return settings
        for name in changed:
            setattr(settings, name, after[name])
        settings.save()
        audit_record(
            verb="risk_settings.changed",
            target=settings,
            actor=actor,
            before={n: before[n] for n in sorted(changed)},
            after={n: after[n] for n in sorted(changed)},
        )
    return settings


# --- controls -----------------------------------------------------------------------------------


def _require_manage(actor: User, message: str) -> None:
    if not has_permission(actor, "risk.manage"):
        raise NotAllowed(message)


def _check_control(*, actor: User, name: str, control_type: str, effectiveness: str, owner: User) -> None:
    if not (name or "").strip():
        raise ValidationFailed("Give the control a name.", code="name_required")
    if control_type not in ControlType.values:
        raise ValidationFailed(
            f"Unknown control type {control_type!r}: use preventive, detective or corrective.",
            code="invalid_control_type",
            extra={"allowed": ControlType.values},
        )
    if effectiveness not in ControlEffectiveness.values:
        raise ValidationFailed(
            f"Unknown effectiveness {effectiveness!r}.",
            code="invalid_effectiveness",
            extra={"allowed": ControlEffectiveness.values},
        )
    if owner is None or owner.organisation_id != actor.organisation_id or not owner.is_active:
        raise ValidationFailed(
            "The control's owner must be an active member of your organisation.", code="invalid_owner"
        )


def _control_summary(control: Control) -> dict:
    return {
        "name": control.name,
        "description": control.description,
        "control_type": control.control_type,
        "effectiveness": control.effectiveness,
        "owner": control.owner.username,
    }


def control_create(
    *,
    actor: User,
    name: str,
    control_type: str,
    owner: User,
    description: str = "",
    effectiveness: str = ControlEffectiveness.NOT_ASSESSED,
) -> Control:
    _require_manage(actor, "Only a compliance officer can add controls.")
    _check_control(actor=actor, name=name, control_type=control_type, effectiveness=effectiveness, owner=owner)
    with transaction.atomic():
        if Control.objects.filter(organisation_id=actor.organisation_id, name__iexact=name.strip()).exists():  # type: ignore[misc]  # organisation_id is nullable only for platform users, who never reach a service
            raise Conflict(f"A control named “{name.strip()}” already exists.", code="duplicate_control")
        control = Control.objects.create(
            organisation_id=actor.organisation_id,
            name=name.strip(),  # type: ignore[misc]  # organisation_id is nullable only for platform users, who never reach a service
            description=description,
            control_type=control_type,
            effectiveness=effectiveness,
            owner=owner,
            created_by=actor,
        )
        audit_record(verb="control.created", target=control, actor=actor, after=_control_summary(control))
    return control


def control_update(*, control: Control, actor: User, changes: Mapping[str, Any]) -> Control:
    _require_manage(actor, "Only a compliance officer can change controls.")
    unknown = set(changes) - {"name", "description", "control_type", "effectiveness", "owner"}
    if unknown:
        raise ValidationFailed(f"Unknown control field(s): {', '.join(sorted(unknown))}.", code="unknown_fields")
    with transaction.atomic():
        control = Control.objects.select_for_update().get(pk=control.pk, organisation_id=actor.organisation_id)
        before = _control_summary(control)
        for name, value in changes.items():
            setattr(control, name, value.strip() if name == "name" else value)
        _check_control(
            actor=actor,
            name=control.name,
            control_type=control.control_type,
            effectiveness=control.effectiveness,
            owner=control.owner,
        )
        if (
            Control.objects.filter(organisation_id=control.organisation_id, name__iexact=control.name)
            .exclude(pk=control.pk)
            .exists()
        ):
            raise Conflict(f"A control named “{control.name}” already exists.", code="duplicate_control")
        after = _control_summary(control)
        if after == before:
            return control
        control.save()
        audit_record(
            verb="control.updated",
            target=control,
            actor=actor,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return control


# --- threat library and components --------------------------------------------------------------


def threat_create(
    *,
    actor: User,
    code: str,
    name: str,
    description: str,
    references: list[str] | None = None,
    typical_controls: list[str] | None = None,
    components: list[str] | None = None,
) -> Threat:
    """Extend the library with a threat of the organisation's own."""
    _require_manage(actor, "Only a compliance officer can extend the threat library.")
    code = (code or "").strip().lower().replace(" ", "_")
    if not code or not (name or "").strip() or not (description or "").strip():
        raise ValidationFailed("A threat needs a code, a name and a description.", code="threat_incomplete")
    bad = set(components or []) - set(ComponentKind.values)
    if bad:
        raise ValidationFailed(f"Unknown component kind(s): {', '.join(sorted(bad))}.", code="invalid_component_kind")
    if Threat.objects.filter(code=code, organisation_id__in=[None, actor.organisation_id]).exists():
        raise Conflict(f"The library already has a threat with code “{code}”.", code="duplicate_threat")
    with transaction.atomic():
        threat = Threat.objects.create(
            organisation_id=actor.organisation_id,
            code=code,
            name=name.strip(),
            description=description.strip(),
            references=list(references or []),
            typical_controls=list(typical_controls or []),
            components=list(components or []),
        )
        audit_record(
            verb="threat.created",
            target=threat,
            actor=actor,
            organisation=actor.organisation,
            after={"code": code, "name": threat.name},
        )
    return threat


def _may_model_system(actor: User, system: AISystem) -> bool:
    return system.organisation_id == actor.organisation_id and (
        has_permission(actor, "risk.manage")
        or (has_permission(actor, "risk.view") and system.created_by_id == actor.pk)
    )


def component_create(*, actor: User, system: AISystem, kind: str, name: str, description: str = "") -> SystemComponent:
    """Add a component to a system's threat model; the library threats usual for its kind apply
    until someone changes the selection."""
    if not _may_model_system(actor, system):
        raise NotAllowed("Only a compliance officer or the system's owner can edit its threat model.")
    if kind not in ComponentKind.values:
        raise ValidationFailed(
            f"Unknown component kind {kind!r}.", code="invalid_component_kind", extra={"allowed": ComponentKind.values}
        )
    if not (name or "").strip():
        raise ValidationFailed("Give the component a name.", code="name_required")
    with transaction.atomic():
        if SystemComponent.objects.filter(system=system, name__iexact=name.strip()).exists():
            raise Conflict(f"“{name.strip()}” is already a component of this system.", code="duplicate_component")
        component = SystemComponent.objects.create(
            organisation_id=system.organisation_id, system=system, kind=kind, name=name.strip(), description=description
        )
        threats = [t for t in threat_library(organisation_id=system.organisation_id) if kind in t.components]
        component.threats.set(threats)
        audit_record(
            verb="threat_model.component_added",
            target=system,
            actor=actor,
            after={"component": component.name, "kind": kind, "threats": sorted(t.code for t in threats)},
        )
    return component


def component_set_threats(*, actor: User, component: SystemComponent, threats: Iterable[Threat]) -> SystemComponent:
    if not _may_model_system(actor, component.system):
        raise NotAllowed("Only a compliance officer or the system's owner can edit its threat model.")
    threats = list(threats)
    if any(t.organisation_id not in (None, component.organisation_id) for t in threats):
        raise ValidationFailed("Pick threats from your organisation's library.", code="invalid_threat")
    with transaction.atomic():
        before = sorted(component.threats.values_list("code", flat=True))
        component.threats.set(threats)
        after = sorted(t.code for t in threats)
        if before != after:
            audit_record(
                verb="threat_model.threats_changed",
                target=component.system,
                actor=actor,
                before={"component": component.name, "threats": before},
                after={"component": component.name, "threats": after},
            )
    return component


def threat_library(*, organisation_id: int):
    return Threat.objects.filter(organisation_id__in=[organisation_id]) | Threat.objects.filter(
        organisation__isnull=True
    )


# --- risks: validation --------------------------------------------------------------------------


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


def risk_check(*, data: Mapping[str, Any], organisation_id: int) -> list[dict]:
    """Every problem with a risk's data (all of its fields), as {field, code, message}. Shared by
    the forms' services, the API and the importer so all of them say the same thing."""
    problems = []
    title = (data.get("title") or "").strip()
    if not title:
        problems.append(_problem("title", "title_required", "Give the risk a title."))
    elif len(title) > 200:
        problems.append(_problem("title", "title_too_long", "The title is at most 200 characters."))
    for field, enum in (
        ("category", RiskCategory),
        ("source", RiskSource),
        ("treatment", Treatment),
        ("status", RiskStatus),
    ):
        if data.get(field) not in enum.values:
            problems.append(
                _problem(
                    field,
                    f"invalid_{field}",
                    f"Unknown {field} {data.get(field)!r}; allowed: " + ", ".join(enum.values) + ".",
                )
            )
    problems += [
        _problem(p.field, p.code, p.message)
        for p in scoring.check_scores(
            likelihood=data.get("likelihood"),
            impact=data.get("impact"),
            residual_likelihood=data.get("residual_likelihood"),
            residual_impact=data.get("residual_impact"),
            residual_reason=data.get("residual_reason") or "",
        )
    ]
    accepting = data.get("treatment") == Treatment.ACCEPT or data.get("status") == RiskStatus.ACCEPTED
    if accepting and not scoring.justification_ok(data.get("acceptance_justification") or ""):
        problems.append(
            _problem(
                "acceptance_justification",
                "acceptance_needs_justification",
                "Accepting a risk needs a written justification (at least 20 characters).",
            )
        )
    owner = data.get("owner")
    if owner is None or owner.organisation_id != organisation_id or not owner.is_active:
        problems.append(_problem("owner", "invalid_owner", "The owner must be an active member of your organisation."))
    for field in ("due_date", "next_review_date"):
        value = data.get(field)
        if value is not None and type(value) is not date:
            problems.append(_problem(field, "invalid_date", f"{field.replace('_', ' ').capitalize()} must be a date."))
    problems += _check_links(data, organisation_id)
    return problems


def _check_links(data: Mapping[str, Any], organisation_id: int) -> list[dict]:
    problems = []
    systems = list(data.get("systems") or [])
    if not systems:
        problems.append(_problem("systems", "systems_required", "Record the risk against at least one AI system."))
    if any(s.organisation_id != organisation_id for s in systems):
        problems.append(_problem("systems", "invalid_system", "Every AI system must belong to your organisation."))
    if any(c.organisation_id != organisation_id for c in data.get("controls") or []):
        problems.append(_problem("controls", "invalid_control", "Every control must belong to your organisation."))
    system_ids = {s.pk for s in systems}
    if any(o.system_id not in system_ids for o in data.get("obligations") or []):
        problems.append(
            _problem(
                "obligations", "invalid_obligation", "Link obligations of the systems the risk is recorded against."
            )
        )
    threat, component = data.get("threat"), data.get("component")
    if threat is not None and threat.organisation_id not in (None, organisation_id):
        problems.append(_problem("threat", "invalid_threat", "Pick a threat from your organisation's library."))
    if component is not None and component.system_id not in system_ids:
        problems.append(
            _problem("component", "invalid_component", "The component must belong to one of the risk's systems.")
        )
    return problems


def _raise_problems(problems: list[dict]) -> None:
    if problems:
        raise ValidationFailed(problems[0]["message"], code=problems[0]["code"], extra={"problems": problems})


def _may_record_on(actor: User, systems: Iterable[AISystem], *, as_reviewer: bool = False) -> bool:
    systems = list(systems)
    if has_permission(actor, "risk.manage") or (as_reviewer and has_permission(actor, "review.perform")):
        return True
    return has_permission(actor, "risk.view") and bool(systems) and all(s.created_by_id == actor.pk for s in systems)


def _may_edit(actor: User, risk: Risk) -> bool:
    if actor.organisation_id != risk.organisation_id:
        return False
    return has_permission(actor, "risk.manage") or (has_permission(actor, "risk.view") and risk.owner_id == actor.pk)


def _check_acceptance(
    *, actor: User, data: Mapping[str, Any], appetite: int, newly_accepted: bool, scores_changed: bool
) -> None:
    """Accepting a risk above the appetite, or raising the score of an accepted one above it,
    needs a compliance officer (`risk.accept`)."""
    if data["status"] != RiskStatus.ACCEPTED or not (newly_accepted or scores_changed):
        return
    inherent = scoring.score(data["likelihood"], data["impact"])
    residual = scoring.score(data.get("residual_likelihood"), data.get("residual_impact"))
    if scoring.above_appetite(inherent, residual, appetite) and not has_permission(actor, "risk.accept"):  # type: ignore[arg-type]  # risk_check refused an empty score above
        raise NotAllowed(
            f"This risk scores {scoring.current_score(inherent, residual)}, above the organisation's "  # type: ignore[arg-type]  # risk_check refused an empty score above
            f"appetite of {appetite}: only a compliance officer can accept it.",
            code="above_appetite",
        )


# --- risks: writes ------------------------------------------------------------------------------


def risk_snapshot(risk: Risk) -> dict:
    """What a revision keeps: every field in readable form (names rather than ids for links)."""
    return {
        "reference": risk.reference,
        "title": risk.title,
        "description": risk.description,
        "category": risk.category,
        "source": risk.source,
        "owner": risk.owner.username,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "inherent_score": risk.inherent_score,
        "residual_likelihood": risk.residual_likelihood,
        "residual_impact": risk.residual_impact,
        "residual_score": risk.residual_score,
        "residual_reason": risk.residual_reason,
        "treatment": risk.treatment,
        "acceptance_justification": risk.acceptance_justification,
        "accepted_by": risk.accepted_by.username if risk.accepted_by_id else None,  # type: ignore[union-attr]  # set on this path (checked by the caller / validated above)
        "due_date": risk.due_date.isoformat() if risk.due_date else None,
        "next_review_date": risk.next_review_date.isoformat() if risk.next_review_date else None,
        "status": risk.status,
        "threat": risk.threat.code if risk.threat_id else None,  # type: ignore[union-attr]  # set on this path (checked by the caller / validated above)
        "component": risk.component.name if risk.component_id else None,  # type: ignore[union-attr]  # set on this path (checked by the caller / validated above)
        "systems": sorted(risk.systems.values_list("name", flat=True)),
        "controls": sorted(risk.controls.values_list("name", flat=True)),
        "obligations": sorted(f"{a} ({s})" for a, s in risk.obligations.values_list("article", "system__name")),
        "source_ref": ({"type": risk.source_type, "id": risk.source_id} if risk.source_type else None),
    }


def _revise(*, risk: Risk, actor: User | None, verb: str, before: dict | None, reason: str = "") -> RiskRevision | None:
    """Store a revision and the audit event of one change; nothing when nothing changed."""
    after = risk_snapshot(risk)
    before = before or {}
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if not changes:
        return None
    number = (risk.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    revision = RiskRevision.objects.create(
        risk=risk, number=number, verb=verb, snapshot=after, changes=changes, reason=reason, actor=actor
    )
    audit_record(
        verb=verb,
        target=risk,
        actor=actor,
        reason=reason,
        before={k: v[0] for k, v in changes.items()} if before else None,
        after={k: v[1] for k, v in changes.items()},
    )
    return revision


def _apply_fields(risk: Risk, data: Mapping[str, Any], *, actor: User, was_status: str | None) -> None:
    for name in FIELDS:
        setattr(risk, name, data.get(name))
    risk.description = risk.description or ""
    risk.residual_reason = risk.residual_reason or ""
    risk.acceptance_justification = risk.acceptance_justification or ""
    risk.inherent_score = scoring.score(risk.likelihood, risk.impact)  # type: ignore[assignment]  # likelihood and impact were checked above
    risk.residual_score = scoring.score(risk.residual_likelihood, risk.residual_impact)
    risk.current_score = scoring.current_score(risk.inherent_score, risk.residual_score)
    now = timezone.now()
    if risk.status == RiskStatus.ACCEPTED and was_status != RiskStatus.ACCEPTED:
        risk.accepted_by, risk.accepted_at = actor, now
    elif risk.status != RiskStatus.ACCEPTED:
        risk.accepted_by, risk.accepted_at = None, None
    if risk.status == RiskStatus.CLOSED and was_status != RiskStatus.CLOSED:
        risk.closed_at = now
    elif risk.status != RiskStatus.CLOSED:
        risk.closed_at = None


def _next_reference(organisation_id: int) -> str:
    # The settings row is locked for the rest of the transaction, so two writers never take the
    # same R-number.
    settings = risk_settings_for(organisation_id=organisation_id)
    RiskSettings.objects.select_for_update().get(pk=settings.pk)
    numbers = Risk.objects.filter(organisation_id=organisation_id).values_list("reference", flat=True)
    highest = max((int(ref[2:]) for ref in numbers if ref[2:].isdigit()), default=0)
    return f"R-{highest + 1}"


def _defaults(data: Mapping[str, Any], actor: User) -> dict:
    full = {
        "description": "",
        "source": RiskSource.ASSESSMENT,
        "owner": actor,
        "residual_likelihood": None,
        "residual_impact": None,
        "residual_reason": "",
        "treatment": Treatment.MITIGATE,
        "acceptance_justification": "",
        "due_date": None,
        "next_review_date": None,
        "status": RiskStatus.OPEN,
        "threat": None,
        "component": None,
        "systems": [],
        "controls": [],
        "obligations": [],
    }
    full.update({k: v for k, v in data.items() if v is not None or k in ("residual_likelihood", "residual_impact")})
    return full


def risk_insert(
    *,
    actor: User,
    data: Mapping[str, Any],
    verb: str = "risk.created",
    source_type: str = "",
    source_id: str = "",
    source_snapshot: dict | None = None,
    as_reviewer: bool = False,
    appetite: int | None = None,
) -> Risk:
    """Validate and store one risk. Callers own the transaction (risk_create, the importer)."""
    unknown = set(data) - EDITABLE
    if unknown:
        raise ValidationFailed(f"Unknown risk field(s): {', '.join(sorted(unknown))}.", code="unknown_fields")
    data = _defaults(data, actor)
    if not _may_record_on(actor, data["systems"], as_reviewer=as_reviewer):
        raise NotAllowed("Only a compliance officer, or the owner of every system concerned, can record this risk.")
    _raise_problems(risk_check(data=data, organisation_id=actor.organisation_id))  # type: ignore[arg-type]  # organisation_id is nullable only for platform users, who never reach a service
    if appetite is None:
        appetite = risk_settings_for(organisation_id=actor.organisation_id).appetite  # type: ignore[arg-type]  # organisation_id is nullable only for platform users, who never reach a service
    _check_acceptance(actor=actor, data=data, appetite=appetite, newly_accepted=True, scores_changed=True)
    risk = Risk(
        organisation_id=actor.organisation_id,
        reference=_next_reference(actor.organisation_id),  # type: ignore[arg-type, misc]  # organisation_id is nullable only for platform users, who never reach a service
        created_by=actor,
        source_type=source_type,
        source_id=str(source_id or ""),
        source_snapshot=source_snapshot or {},
    )
    _apply_fields(risk, data, actor=actor, was_status=None)
    risk.save()
    for name in MANY:
        getattr(risk, name).set(data[name])
    _revise(risk=risk, actor=actor, verb=verb, before=None)
    return risk


def risk_create(*, actor: User, data: Mapping[str, Any]) -> Risk:
    """Record a risk. `data` holds the fields of `EDITABLE` (model instances for links)."""
    with transaction.atomic():
        return risk_insert(actor=actor, data=data)


def _check_update(*, risk: Risk, actor: User, changes: Mapping[str, Any]) -> dict:
    """Raise the first reason `changes` to `risk` are refused; return the risk's data with the
    changes applied. Shared by `risk_update` and `risk_update_check` so both say the same."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationFailed(f"Unknown risk field(s): {', '.join(sorted(unknown))}.", code="unknown_fields")
    if not _may_edit(actor, risk):
        raise NotAllowed("Only a compliance officer or the risk's owner can change this risk.")
    data = {name: getattr(risk, name) for name in FIELDS}
    data.update({name: list(getattr(risk, name).all()) for name in MANY})
    data.update(changes)
    if data["status"] != risk.status and not can_move(risk.status, data["status"]):
        raise Conflict(
            f"A risk cannot go from {risk.get_status_display().lower()} to "
            f"{RiskStatus(data['status']).label.lower() if data['status'] in RiskStatus.values else data['status']}.",
            code="illegal_transition",
            extra={"from": risk.status, "to": data["status"]},
        )
    if (
        "owner" in changes
        and changes["owner"] != risk.owner
        and not has_permission(actor, "risk.manage")
        and changes["owner"] is not None
        and changes["owner"].pk != risk.owner_id
    ):
        raise NotAllowed("Only a compliance officer can give a risk to another owner.")
    _raise_problems(risk_check(data=data, organisation_id=risk.organisation_id))
    appetite = risk_settings_for(organisation_id=risk.organisation_id).appetite
    score_fields = ("likelihood", "impact", "residual_likelihood", "residual_impact")
    _check_acceptance(
        actor=actor,
        data=data,
        appetite=appetite,
        newly_accepted=risk.status != RiskStatus.ACCEPTED,
        scores_changed=any(data[f] != getattr(risk, f) for f in score_fields),
    )
    return data


def risk_update_check(*, risk: Risk, actor: User, changes: Mapping[str, Any]) -> list[dict]:
    """What `risk_update` would refuse, as {field, code, message} problems, writing nothing
    ([] when it would apply): the import's dry run asks this."""
    try:
        _check_update(risk=risk, actor=actor, changes=changes)
    except PortalError as exc:
        return exc.extra.get("problems") or [_problem("", exc.code, exc.message)]
    return []


def risk_update(*, risk: Risk, actor: User, changes: Mapping[str, Any], reason: str = "") -> Risk:
    """Change a risk: any of its fields, including its status along the transitions table."""
    with transaction.atomic():
        risk = Risk.objects.select_for_update(of=("self",)).select_related("owner", "accepted_by").get(pk=risk.pk)
        data = _check_update(risk=risk, actor=actor, changes=changes)
        before = risk_snapshot(risk)
        was_status = risk.status
        _apply_fields(risk, data, actor=actor, was_status=was_status)
        risk.save()
        for name in MANY:
            if name in changes:
                getattr(risk, name).set(changes[name])
        verb = "risk.updated"
        if risk.status != was_status:
            verb = "risk.accepted" if risk.status == RiskStatus.ACCEPTED else "risk.status_changed"
        _revise(risk=risk, actor=actor, verb=verb, before=before, reason=reason)
    return risk


def risk_transition(*, risk: Risk, actor: User, to_status: str, justification: str = "", reason: str = "") -> Risk:
    """Move a risk's status; accepting it also sets the treatment to accept with the justification."""
    changes: dict[str, Any] = {"status": to_status}
    if to_status == RiskStatus.ACCEPTED:
        changes.update(treatment=Treatment.ACCEPT, acceptance_justification=justification)
    return risk_update(risk=risk, actor=actor, changes=changes, reason=reason or justification)


# Provisional scores of a risk raised in one click, from the severity of what raised it; the
# owner assesses them properly afterwards (the review date is set to make sure they do).
SEVERITY_SCORES = {"critical": (4, 5), "high": (4, 4), "medium": (3, 3), "low": (2, 2), "info": (1, 2)}
FIRST_REVIEW_DAYS = 30


def risk_create_from_source(
    *,
    actor: User,
    system: AISystem,
    title: str,
    description: str,
    category: str,
    source: str = RiskSource.VALIDATION_FINDING,
    source_ref: Mapping[str, Any],
    severity: str = "medium",
) -> Risk:
    """Raise a risk from another record (a validation finding, a review decision) in one click.

    `source_ref` = {"type": "audits.finding", "id": 12, "title": ..., "url": ...}: kept on the
    risk so both records link to each other. A source that already raised an active risk is
    refused (Conflict, with the risk's id in `extra`) rather than duplicated.
    """
    source_type, source_id = str(source_ref.get("type") or ""), str(source_ref.get("id") or "")
    if not source_type or not source_id:
        raise ValidationFailed("The source reference needs a type and an id.", code="invalid_source_ref")
    likelihood, impact = SEVERITY_SCORES.get(severity, SEVERITY_SCORES["medium"])
    with transaction.atomic():
        existing = (
            Risk.objects.filter(
                organisation_id=actor.organisation_id,
                source_type=source_type,  # type: ignore[misc]  # organisation_id is nullable only for platform users, who never reach a service
                source_id=source_id,
            )
            .exclude(status=RiskStatus.CLOSED)
            .first()
        )
        if existing is not None:
            raise Conflict(
                f"This already raised risk {existing.reference}.",
                code="already_raised",
                extra={"risk": existing.pk, "reference": existing.reference},
            )
        snapshot = {k: source_ref[k] for k in ("type", "id", "title", "url", "severity") if k in source_ref}
        data = {
            "title": title[:200],
            "description": description,
            "category": category,
            "source": source,
            "owner": actor,
            "likelihood": likelihood,
            "impact": impact,
            "systems": [system],
            "next_review_date": timezone.localdate() + timedelta(days=FIRST_REVIEW_DAYS),
        }
        return risk_insert(
            actor=actor,
            data=data,
            verb="risk.raised_from_source",
            source_type=source_type,
            source_id=source_id,
            source_snapshot=snapshot,
            as_reviewer=True,
        )


# --- reminders ----------------------------------------------------------------------------------


def risk_review_reminders(*, today: date | None = None, send, errors: list[dict] | None = None) -> list[int]:
    """Remind owners of reviews falling due within their organisation's lead time, once per review
    date (the date reminded is stored, so a second run sends nothing). `send(risk)` delivers it.

    Each risk is claimed by a conditional UPDATE of its reminder stamp, so a risk closed or
    rescheduled since the scan, or stamped by a sweep running at the same time, is not reminded.
    A risk whose reminder fails is logged, appended to `errors`, and left unstamped (retried on the
    next run); the others are still reminded."""
    today = today or timezone.localdate()
    lead = dict(RiskSettings.objects.values_list("organisation_id", "review_reminder_days"))
    horizon = today + timedelta(days=max(lead.values(), default=14))
    candidates = (
        Risk.objects.exclude(status=RiskStatus.CLOSED)
        .filter(next_review_date__isnull=False, next_review_date__lte=horizon)
        .values_list("pk", "organisation_id", "next_review_date", "review_reminded_for")
    )
    due = [
        (pk, when)
        for pk, org, when, reminded in candidates
        if when <= today + timedelta(days=lead.get(org, 14)) and reminded != when
    ]
    sent = []
    for pk, when in due:
        try:
            with transaction.atomic():
                if _risk_remind(pk, when, send):
                    sent.append(pk)
        except Exception as exc:  # noqa: BLE001 — one bad row must not abort the day's reminders
            logger.exception("risk review reminder for risk %s failed", pk)
            if errors is not None:
                errors.append({"risk": pk, "error": f"{type(exc).__name__}: {exc}"[:500]})
    return sent


def _risk_remind(pk: int, when: date, send) -> bool:
    # The claim: stamps the review date read in the scan, only if it is still the risk's next review,
    # the risk is not closed and that date was not reminded yet. Rolled back if sending fails.
    claimed = (
        Risk.objects.filter(pk=pk, next_review_date=when)
        .exclude(status=RiskStatus.CLOSED)
        .exclude(review_reminded_for=when)
        .update(review_reminded_for=when, updated_at=timezone.now())
    )
    if not claimed:
        return False  # changed since the scan
    risk = Risk.objects.select_related("owner").get(pk=pk)
    send(risk)
    audit_record(
        verb="risk.review_reminder_sent",
        target=risk,
        after={"owner": risk.owner.username, "next_review_date": risk.next_review_date},
    )
    return True


# --- saved views --------------------------------------------------------------------------------


def saved_view_save(*, actor: User, name: str, query: str) -> RiskSavedView:
    """Save (or replace) a named filter of the register for the actor."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed("Name the view (at most 80 characters).", code="invalid_name")
    query = (query or "").lstrip("?")[:1000]
    view, _ = RiskSavedView.objects.update_or_create(
        user=actor, name=name, defaults={"organisation_id": actor.organisation_id, "query": query}
    )
    return view


def saved_view_delete(*, actor: User, view: RiskSavedView) -> None:
    if view.user_id != actor.pk:
        raise NotAllowed("You can only delete your own saved views.")
    view.delete()
