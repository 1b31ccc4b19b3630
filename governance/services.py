"""Writes for classification and obligations. Each one checks the actor's permission, owns its
transaction and records its audit event inside it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import Conflict, NotAllowed, NotFound, TooLarge, ValidationFailed
from core.models import User
from core.permissions import has_permission
from core.trail import audit_record
from governance import events, evidence_sources, selectors
from governance.choices import (
    CLASSIFICATION_RELEVANT_FIELDS,
    EVIDENCE_MAX_BYTES,
    EVIDENCE_RELIANT_STATUSES,
    MIN_JUSTIFICATION_LENGTH,
    NEEDS_EVIDENCE,
    OBLIGATION_TRANSITIONS,
    REVIEW,
    WORK,
    DeterminationStatus,
    EvidenceKind,
    ObligationStatus,
    OutcomeChoice,
)
from governance.models import (
    ApplicationDate,
    ClassificationDraft,
    Determination,
    Evidence,
    Obligation,
    ObligationSettings,
)
from governance.rules import (
    DATE_KEYS,
    DEFAULT_APPLICATION_DATES,
    RULES_VERSION,
    Outcome,
    classify,
    derive_obligations,
    validate_answers,
)
from governance.rules.dates import default_plan_date
from governance.rules.questionnaire import QUESTION_BY_ID, visible_answers
from models_registry.choices import RiskTier
from models_registry.models import AISystem, ModelVersion

# --- helpers ------------------------------------------------------------------------------------


def _require(actor: User, permission: str, organisation_id: int, message: str) -> None:
    if not has_permission(actor, permission) or actor.organisation_id != organisation_id:
        raise NotAllowed(message)


def _lock_system(system: AISystem) -> AISystem:
    # Every classification write for a system locks its row first, so two approvals (or an
    # approval and a needs-review signal) for the same system are serialised.
    return AISystem.objects.select_for_update().get(pk=system.pk)


def _check_answers(answers: Any) -> dict[str, Any]:
    """Refuse unknown questions and invalid values; missing answers are fine in a draft."""
    if not isinstance(answers, Mapping):
        raise ValidationFailed("Answers must be an object of question id to answer.", code="invalid_answers")
    answers = {key: value for key, value in answers.items() if value not in (None, "", [])}
    outcome = validate_answers(answers)
    if outcome.unknown_question_ids or outcome.invalid_answers:
        problems = [f"{item.question_id}: {item.message}" for item in outcome.invalid_answers]
        problems += [f"{qid}: unknown question" for qid in outcome.unknown_question_ids]
        raise ValidationFailed(
            "Some answers are not valid: " + "; ".join(problems),
            code="invalid_answers",
            extra={
                "unknown_question_ids": list(outcome.unknown_question_ids),
                "invalid_answers": [item.to_dict() for item in outcome.invalid_answers],
            },
        )
    return answers


NOTE_REASON_MAX = 2000
NOTE_LINK_MAX = 500


def _check_notes(
    notes: Any, answers: Mapping[str, Any], documents: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The reason and evidence link per answer: {question id: {"reason", "link"}}. A link must be
    an http(s) URL (never javascript: or data:); notes of questions not answered, or hidden by
    other answers, are dropped. Every problem is reported at once, per question and field.

    ``documents`` ({question id: reference}) are the documents attached to answers, taken only
    from the stored draft (answer_document_services): a "document" key in ``notes`` is ignored,
    so a client can never point an answer at a file it did not upload."""
    if notes is None:
        notes = {}
    if not isinstance(notes, Mapping):
        raise ValidationFailed(
            'Answer notes must be an object of question id to {"reason", "link"}.', code="invalid_answer_notes"
        )
    kept = visible_answers(answers)
    clean: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, str]] = {}
    for qid, note in notes.items():
        if isinstance(note, Mapping):
            note = {key: value for key, value in note.items() if key != "document"}
        if not isinstance(note, Mapping) or set(note) - {"reason", "link"}:
            errors[str(qid)] = {"note": 'Give a "reason" and/or a "link", nothing else.'}
            continue
        reason, link = note.get("reason") or "", note.get("link") or ""
        if not isinstance(reason, str) or not isinstance(link, str):
            errors[str(qid)] = {"note": "The reason and the link must be text."}
            continue
        reason, link = reason.strip(), link.strip()
        problems = {}
        if len(reason) > NOTE_REASON_MAX:
            problems["reason"] = f"The reason is {len(reason)} characters long; at most {NOTE_REASON_MAX} are allowed."
        if link and (problem := _link_problem(link)):
            problems["link"] = problem
        if problems:
            errors[str(qid)] = problems
        elif qid in kept and (reason or link):
            clean[qid] = {"reason": reason, "link": link}
    for qid, document in (documents or {}).items():
        if qid in kept and isinstance(document, Mapping):
            clean.setdefault(qid, {"reason": "", "link": ""})["document"] = dict(document)
    if errors:
        named = "; ".join(f"{_question_text(qid)} — {' '.join(p.values())}" for qid, p in errors.items())
        raise ValidationFailed(
            f"Some reasons or evidence links cannot be saved: {named}",
            code="invalid_answer_notes",
            extra={"answer_notes": errors},
        )
    return clean


def _link_problem(link: str) -> str:
    if len(link) > NOTE_LINK_MAX:
        return f"The evidence link is {len(link)} characters long; at most {NOTE_LINK_MAX} are allowed."
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link):
        return "The evidence link must be a web address starting with https:// (or http://)."
    return ""


def application_date_map() -> dict[str, date]:
    """The application dates in force (selectors.application_date_map, the one reader)."""
    return selectors.application_date_map()


def risk_tier_for(outcome: str, transparency: list[str] | tuple[str, ...], gpai: str | None = None) -> str:
    """The inventory's risk tier for an outcome (the same mapping the rules module applies):
    Art. 50 duties or the GPAI model regime are "limited", never "minimal"."""
    if outcome == Outcome.PROHIBITED:
        return RiskTier.PROHIBITED
    if outcome in (Outcome.HIGH_RISK_ANNEX_I, Outcome.HIGH_RISK_ANNEX_III):
        return RiskTier.HIGH
    if gpai and outcome != Outcome.NOT_AI_SYSTEM:  # the GPAI regime survives Art. 2(12)
        return RiskTier.LIMITED
    if outcome in (Outcome.OUT_OF_SCOPE, Outcome.NOT_AI_SYSTEM):
        return RiskTier.OUT_OF_SCOPE
    if outcome in (Outcome.TRANSPARENCY, Outcome.GPAI_MODEL, Outcome.GPAI_MODEL_SYSTEMIC):
        return RiskTier.LIMITED
    return RiskTier.LIMITED if transparency else RiskTier.MINIMAL


# --- the questionnaire ----------------------------------------------------------------------------


def classification_draft_save(
    *, system: AISystem, answers: Mapping[str, Any], actor: User, answer_notes: Mapping[str, Any] | None = None
) -> ClassificationDraft:
    """Store the answers so far (replacing the previous draft), with the reason and evidence link
    given per answer (``answer_notes``; None keeps the draft's notes of answers still given).
    Refused as a whole on a bad answer or note, so the saved draft is never half-replaced. Not an
    audit event: a draft is working state; the submission records the answers and who gave them."""
    _require(
        actor,
        "classification.draft",
        system.organisation_id,
        "Your role cannot fill in the classification questionnaire.",
    )
    clean = _check_answers(answers)
    if answer_notes is not None:
        _check_notes(answer_notes, clean)  # refused before the draft is locked
    with transaction.atomic():
        previous = ClassificationDraft.objects.select_for_update().filter(system=system).first()
        stored = previous.answer_notes if previous else {}
        notes = _check_notes(stored if answer_notes is None else answer_notes, clean, _documents(stored))
        draft, _ = ClassificationDraft.objects.update_or_create(
            system=system,
            defaults={
                "organisation_id": system.organisation_id,
                "answers": clean,
                "answer_authors": _answer_authors(previous, clean, actor),
                "answer_notes": notes,
                "updated_by": actor,
            },
        )
    return draft


def _documents(notes: Mapping[str, Any], keep: Any = None) -> dict[str, Any]:
    """The document references of stored notes ({question id: reference}); with ``keep``, only
    those of the questions it admits."""
    return {
        qid: note["document"]
        for qid, note in notes.items()
        if isinstance(note, Mapping) and note.get("document") and (keep is None or keep(qid))
    }


def _answer_authors(draft: ClassificationDraft | None, answers: Mapping[str, Any], actor: User) -> dict[str, int]:
    """Who gave each answer: an answer the draft already held keeps its author (drafts from before
    authors were recorded: whoever saved them last), a new or changed one is the actor's."""
    if draft is None:
        return {qid: actor.pk for qid in answers}
    authors = {}
    for qid, value in answers.items():
        unchanged = qid in draft.answers and draft.answers[qid] == value
        authors[qid] = int(draft.answer_authors.get(qid, draft.updated_by_id)) if unchanged else actor.pk
    return authors


def determination_submit(
    *,
    system: AISystem,
    actor: User,
    answers: Mapping[str, Any] | None = None,
    answer_notes: Mapping[str, Any] | None = None,
) -> Determination:
    """Classify the answers (the saved draft's unless given) and store the immutable record, with
    the reason and evidence link of each answer (``answer_notes``, else the draft's notes of the
    answers it holds unchanged).

    Incomplete or contradictory answers may be submitted (the record says so) but are refused at
    approval. A newer submission supersedes one still awaiting approval.
    """
    _require(actor, "classification.draft", system.organisation_id, "Your role cannot submit a classification.")
    draft = ClassificationDraft.objects.filter(system=system).first()
    if answers is None:
        if draft is None or not draft.answers:
            raise ValidationFailed(
                "There are no answers to submit yet; answer the questionnaire first.", code="no_answers"
            )
        answers, answered_by = draft.answers, draft.updated_by
    else:
        answered_by = actor
    clean = _check_answers(answers)
    if answer_notes is None and draft is not None:
        answer_notes = {q: n for q, n in draft.answer_notes.items() if q in clean and draft.answers.get(q) == clean[q]}
    documents = (
        _documents(draft.answer_notes, lambda q: q in clean and draft.answers.get(q) == clean[q]) if draft else {}
    )
    notes = _check_notes(answer_notes or {}, clean, documents)
    authors = _answer_authors(draft, clean, actor) if draft is not None else {qid: answered_by.pk for qid in clean}
    result = classify(clean)
    with transaction.atomic():
        _lock_system(system)
        pending = Determination.objects.filter(system=system, status=DeterminationStatus.SUBMITTED)
        for old in pending:
            _supersede(old, actor=actor, reason="A newer classification was submitted.")
        number = (Determination.objects.filter(system=system).aggregate(n=Max("number"))["n"] or 0) + 1
        determination = Determination.objects.create(
            organisation_id=system.organisation_id,
            system=system,
            number=number,
            answers=clean,
            result=result.to_dict(),
            rules_version=result.rules_version,
            outcome=result.outcome.value,
            risk_tier=result.risk_tier,
            is_complete=result.is_complete,
            has_contradictions=bool(result.contradictions),
            answered_by=answered_by,
            answer_authors=authors,
            answer_notes=notes,
            submitted_by=actor,
        )
        ClassificationDraft.objects.update_or_create(
            system=system,
            defaults={
                "organisation_id": system.organisation_id,
                "answers": clean,
                "answer_authors": authors,
                "answer_notes": notes,
                "updated_by": answered_by,
            },
        )
        audit_record(
            verb="classification.submitted",
            target=determination,
            actor=actor,
            after={
                "system": system.name,
                "number": number,
                "outcome": determination.outcome,
                "risk_tier": determination.risk_tier,
                "rules_version": determination.rules_version,
                "is_complete": determination.is_complete,
                "contradictions": len(result.contradictions),
                "answer_notes": notes,
            },
        )
    return determination


def _supersede(determination: Determination, *, actor: User | None, reason: str) -> None:
    before = determination.status
    determination.status = DeterminationStatus.SUPERSEDED
    determination.superseded_at = timezone.now()
    determination.save(update_fields=["status", "superseded_at", "updated_at"])
    audit_record(
        verb="classification.superseded",
        target=determination,
        actor=actor,
        before={"status": before},
        after={"status": determination.status},
        reason=reason,
    )


# --- approval and override ----------------------------------------------------------------------


def _check_approvable(determination: Determination, actor: User) -> None:
    _require(
        actor,
        "classification.approve",
        determination.organisation_id,
        "Only a compliance officer can approve or override a classification.",
    )
    if determination.status != DeterminationStatus.SUBMITTED:
        raise Conflict(
            f"This determination is {determination.get_status_display().lower()}; only one "
            "awaiting approval can be approved.",
            code="not_pending",
        )
    if not determination.is_complete:
        raise ValidationFailed(
            "This classification is incomplete and cannot be approved: answer the remaining "
            f"{len(determination.result.get('missing', []))} question(s) and submit again.",
            code="incomplete",
            extra={"missing": determination.result.get("missing", [])},
        )
    if determination.has_contradictions or determination.result.get("invalid_answers"):
        raise ValidationFailed(
            "Some answers contradict each other; resolve the contradictions and submit again before approval.",
            code="contradictory",
            extra={"contradictions": determination.result.get("contradictions", [])},
        )
    if determination.rules_version != RULES_VERSION:
        raise Conflict(
            f"This determination was made under rules {determination.rules_version}; the portal "
            f"now runs {RULES_VERSION}. Submit the answers again to classify under the current rules.",
            code="rules_outdated",
        )


def _check_four_eyes(determination: Determination, actor: User, *, outcome: str = "", risk_tier: str = "") -> None:
    """The organisation's four-eyes rule: a high-risk or prohibited result (the questionnaire's, or
    the override's) is approved by someone who neither answered nor submitted it."""
    if not selectors.four_eyes_required(determination=determination, outcome=outcome, risk_tier=risk_tier):
        return
    if actor.pk in determination.answerer_ids:
        raise NotAllowed(
            "Four-eyes rule: your organisation requires a high-risk or prohibited classification to be "
            "approved by someone who did not answer or submit it. You answered or submitted this "
            "determination, so another compliance officer must approve it.",
            code="four_eyes",
            extra={"rule": "four_eyes_high_risk", "answered_or_submitted_by": sorted(determination.answerer_ids)},
        )


UNSURE_UNJUSTIFIED = "unsure_unjustified"
UNSURE_JUSTIFICATION_MAX = 5000


def _check_unsure_justified(determination: Determination, justifications: Any) -> dict[str, str]:
    """Each "unsure" answer the result relied on is either resolved (a new submission with a
    definite answer, which has no such point) or justified in writing by the approver: the stricter
    reading is then a decision someone took, not a default. Returns {question id: text}."""
    unsure = [str(qid) for qid in determination.result.get("unsure_answers", []) or []]
    if justifications is None:
        justifications = {}
    if not isinstance(justifications, Mapping):
        raise ValidationFailed(
            "The justifications of unsure answers must be an object of question id to text.",
            code="invalid_unsure_justifications",
            extra={"field": "unsure_justifications"},
        )
    unknown = sorted(str(qid) for qid in justifications if qid not in unsure)
    if unknown:
        raise ValidationFailed(
            f"Only the unsure answers of this determination can be justified; not: {', '.join(unknown)}.",
            code="invalid_unsure_justifications",
            extra={"field": "unsure_justifications", "unknown": unknown, "unsure_answers": unsure},
        )
    clean = {}
    for qid in unsure:
        text = justifications.get(qid)
        if isinstance(text, str) and text.strip():
            clean[qid] = text.strip()
    too_long = [qid for qid, text in clean.items() if len(text) > UNSURE_JUSTIFICATION_MAX]
    if too_long:  # refused, never cut: the approver's words are kept whole or not at all
        raise ValidationFailed(
            f"A justification may be at most {UNSURE_JUSTIFICATION_MAX} characters long; shorten: "
            + "; ".join(_question_text(qid) for qid in too_long),
            code="invalid_unsure_justifications",
            extra={"field": "unsure_justifications", "too_long": too_long},
        )
    missing = [qid for qid in unsure if qid not in clean]
    if missing:
        questions = [_question_text(qid) for qid in missing]
        raise ValidationFailed(
            f'This result relies on {len(missing)} "unsure" answer(s) read the stricter way. Answer them and '
            "submit again, or justify relying on the stricter reading for each: " + "; ".join(questions),
            code=UNSURE_UNJUSTIFIED,
            extra={"field": "unsure_justifications", "missing": missing, "questions": questions},
        )
    return clean


def _question_text(qid: str) -> str:
    question = QUESTION_BY_ID.get(qid)
    return question.text if question else qid


def determination_approve(
    *,
    determination: Determination,
    actor: User,
    note: str = "",
    unsure_justifications: Mapping[str, str] | None = None,
) -> Determination:
    """Approve the rules module's result as it stands; each "unsure" answer it relied on needs
    the approver's written justification (``unsure_justifications``: {question id: text})."""
    _check_approvable(determination, actor)
    _check_four_eyes(determination, actor)
    justified = _check_unsure_justified(determination, unsure_justifications)
    return _approve(determination, actor=actor, note=note.strip(), override=None, unsure_justifications=justified)


def determination_override(
    *,
    determination: Determination,
    actor: User,
    outcome: str,
    justification: str,
    risk_tier: str = "",
    unsure_justifications: Mapping[str, str] | None = None,
) -> Determination:
    """Approve with a different outcome (and, optionally, tier), for a written reason; each
    "unsure" answer relied on needs its own justification, as for an approval."""
    _check_approvable(determination, actor)
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION_LENGTH:
        raise ValidationFailed(
            f"An override needs a written justification of at least {MIN_JUSTIFICATION_LENGTH} characters.",
            code="justification_required",
        )
    if outcome not in OutcomeChoice.values:
        raise ValidationFailed(
            f"Unknown outcome {outcome!r}.", code="invalid_outcome", extra={"allowed": list(OutcomeChoice.values)}
        )
    allowed_tiers = [t for t in RiskTier.values if t != RiskTier.UNCLASSIFIED]
    if risk_tier and risk_tier not in allowed_tiers:
        raise ValidationFailed(
            f"Unknown risk tier {risk_tier!r}.", code="invalid_risk_tier", extra={"allowed": allowed_tiers}
        )
    tier = risk_tier or risk_tier_for(
        outcome, determination.result.get("transparency", []), determination.result.get("gpai")
    )
    if outcome == determination.outcome and tier == determination.risk_tier:
        raise ValidationFailed("The override is the same as the result; approve it instead.", code="override_same")
    _check_four_eyes(determination, actor, outcome=outcome, risk_tier=tier)
    justified = _check_unsure_justified(determination, unsure_justifications)
    return _approve(
        determination, actor=actor, note="", override=(outcome, tier, justification), unsure_justifications=justified
    )


def _approve(
    determination: Determination,
    *,
    actor: User,
    note: str,
    override: tuple[str, str, str] | None,
    unsure_justifications: dict[str, str],
) -> Determination:
    rules_result = classify(determination.answers)
    if override:
        rules_result = dataclasses.replace(rules_result, outcome=Outcome(override[0]))
    with transaction.atomic():
        system = _lock_system(determination.system)
        determination = Determination.objects.select_for_update().get(pk=determination.pk)
        if determination.status != DeterminationStatus.SUBMITTED:  # lost a race with another approver
            raise Conflict("This determination was decided meanwhile; reload the page.", code="not_pending")
        previous = Determination.objects.filter(
            system=system, status__in=[DeterminationStatus.APPROVED, DeterminationStatus.NEEDS_REVIEW]
        )
        for old in previous:
            _supersede(old, actor=actor, reason=f"Replaced by determination #{determination.number}.")
        determination.status = DeterminationStatus.APPROVED
        determination.approved_by, determination.approved_at = actor, timezone.now()
        determination.approval_note = note
        determination.unsure_justifications = unsure_justifications
        if override:
            (determination.override_outcome, determination.override_risk_tier, determination.override_justification) = (
                override
            )
        determination.save()
        old_tier = system.risk_tier
        AISystem.objects.filter(pk=system.pk).update(risk_tier=determination.effective_risk_tier)
        verb = "classification.overridden" if override else "classification.approved"
        audit_record(
            verb=verb,
            target=determination,
            actor=actor,
            reason=override[2] if override else note,
            before={"status": DeterminationStatus.SUBMITTED, "risk_tier": old_tier, "outcome": determination.outcome},
            after={
                "status": determination.status,
                "risk_tier": determination.effective_risk_tier,
                "outcome": determination.effective_outcome,
                "four_eyes": selectors.four_eyes_required(
                    determination=determination,
                    outcome=determination.override_outcome,
                    risk_tier=determination.override_risk_tier,
                ),
                **({"unsure_justifications": unsure_justifications} if unsure_justifications else {}),
            },
        )
        specs = derive_obligations(rules_result, dates=application_date_map())
        _reconcile_obligations(system=system, determination=determination, specs=specs, actor=actor)
        events.classification_approved.send(sender=Determination, system=system, determination=determination)
    return determination


def _reconcile_obligations(*, system: AISystem, determination: Determination, specs, actor: User) -> None:
    """Create new obligations, refresh those that still apply (keeping status, owner and
    evidence), and mark the others not applicable: obligations are never deleted."""
    existing = {(o.code, o.role): o for o in Obligation.objects.select_for_update().filter(system=system)}
    # A new obligation's plan date: the organisation's lead time from today, or the legal date when
    # later (kept obligations keep the plan date someone may have chosen).
    classified_on, lead_days = timezone.localdate(), selectors.obligation_plan_lead_days(system.organisation_id)
    created, kept, retired = [], [], []
    for position, spec in enumerate(specs):
        fields = {
            "position": position,
            "article": spec.article,
            "title": spec.title,
            "description": spec.description,
            "notes": list(spec.notes),
            "evidence_hints": [item.to_dict() for item in spec.evidence],
            "applies_from_key": spec.applies_from_key,
            "applies_from": spec.applies_from,
            "determination": determination,
            "applicable": True,
            "not_applicable_since": None,
        }
        obligation = existing.get((spec.code, spec.role))
        if obligation is None:
            Obligation.objects.create(
                organisation_id=system.organisation_id,
                system=system,
                code=spec.code,
                role=spec.role,
                due_date=default_plan_date(
                    applies_from=spec.applies_from, classified_on=classified_on, lead_days=lead_days
                ),
                evidence_max_age_days=spec.evidence_max_age_days,
                **fields,
            )
            created.append(f"{spec.code}/{spec.role}")
            continue
        for name, value in fields.items():
            setattr(obligation, name, value)
        obligation.save()
        kept.append(f"{spec.code}/{spec.role}")
    derived = {(spec.code, spec.role) for spec in specs}
    for key, obligation in existing.items():
        if key not in derived and obligation.applicable:
            obligation.applicable, obligation.not_applicable_since = False, timezone.now()
            obligation.save(update_fields=["applicable", "not_applicable_since", "updated_at"])
            retired.append(f"{key[0]}/{key[1]}")
    audit_record(
        verb="obligation.derived",
        target=system,
        actor=actor,
        after={"determination": determination.number, "created": created, "kept": kept, "not_applicable": retired},
    )


def determination_mark_needs_review(
    *, system: AISystem, reason: str, actor: User | None = None
) -> Determination | None:
    """Flag the approved determination after a change that may alter it; returns it, or None
    when there was no approved determination to flag."""
    with transaction.atomic():
        _lock_system(system)
        current = Determination.objects.filter(system=system, status=DeterminationStatus.APPROVED).first()
        if current is None:
            return None
        current.status = DeterminationStatus.NEEDS_REVIEW
        current.review_reason, current.review_requested_at = reason, timezone.now()
        current.save(update_fields=["status", "review_reason", "review_requested_at", "updated_at"])
        audit_record(
            verb="classification.needs_review",
            target=current,
            actor=actor,
            reason=reason,
            before={"status": DeterminationStatus.APPROVED},
            after={"status": current.status},
        )
        events.classification_needs_review.send(
            sender=Determination, system=system, determination=current, reason=reason
        )
    return current


def needs_review_reason_for_change(changed_fields: set[str]) -> str:
    """The review reason for a change of an AI system's facts, or "" when it does not matter."""
    relevant = sorted(set(changed_fields) & CLASSIFICATION_RELEVANT_FIELDS)
    if not relevant:
        return ""
    return "The system's " + ", ".join(name.replace("_", " ") for name in relevant) + " changed."


# --- application dates ----------------------------------------------------------------------------


def application_date_change(*, key: str, applies_from: date, actor: User | None, note: str = "") -> ApplicationDate:
    """Move an application date (e.g. after the Digital Omnibus) and the obligations that follow it."""
    if actor is not None and not actor.is_staff:
        raise NotAllowed("Only portal staff can change the AI Act application dates.")
    if type(applies_from) is not date:
        raise ValidationFailed("The application date must be a date.", code="invalid_date")
    if key not in DATE_KEYS:
        raise ValidationFailed(
            f"Unknown application-date key {key!r}.", code="invalid_key", extra={"allowed": list(DATE_KEYS)}
        )
    with transaction.atomic():
        ApplicationDate.objects.get_or_create(key=key, defaults={"applies_from": DEFAULT_APPLICATION_DATES[key]})
        row = ApplicationDate.objects.select_for_update().get(key=key)
        before = row.applies_from
        row.applies_from, row.note = applies_from, note or row.note
        row.save()
        moved = Obligation.objects.filter(applies_from_key=key).update(applies_from=applies_from)
        audit_record(
            verb="application_date.changed",
            actor=actor,
            object_type="governance.applicationdate",
            object_id=key,
            object_repr=f"AI Act application date {key}",
            before={"applies_from": before},
            after={"applies_from": applies_from, "obligations": moved},
            reason=note,
        )
    return row


# --- obligations -------------------------------------------------------------------------------------


def _may_work_on(actor: User, obligation: Obligation) -> bool:
    if actor.organisation_id != obligation.organisation_id:
        return False
    return has_permission(actor, "obligation.manage") or (
        obligation.owner_id == actor.pk and has_permission(actor, "obligation.view")
    )


def obligation_transition(*, obligation: Obligation, to_status: str, actor: User, reason: str = "") -> Obligation:
    """Move an obligation along the allowed-transitions table."""
    with transaction.atomic():
        obligation = Obligation.objects.select_for_update().get(pk=obligation.pk)
        rule = OBLIGATION_TRANSITIONS.get((obligation.status, to_status))
        if to_status not in ObligationStatus.values:
            raise ValidationFailed(f"Unknown status {to_status!r}.", code="invalid_status")
        if not _may_work_on(actor, obligation) or (rule == REVIEW and not has_permission(actor, "obligation.manage")):
            raise NotAllowed(
                "Only a compliance officer can accept evidence or send it back; the owner "
                "of an obligation can move its work along.",
                code="not_allowed",
            )
        if not obligation.applicable:
            raise Conflict("This obligation no longer applies to the system.", code="not_applicable")
        if rule is None:
            raise Conflict(
                f"An obligation cannot go from {obligation.get_status_display().lower()} to "
                f"{ObligationStatus(to_status).label.lower()}.",
                code="illegal_transition",
                extra={"from": obligation.status, "to": to_status},
            )
        if to_status in NEEDS_EVIDENCE and not obligation.evidence.exists():
            raise ValidationFailed(
                "Add evidence before submitting or accepting this obligation.", code="evidence_required"
            )
        before = obligation.status
        obligation.status = to_status
        obligation.save(update_fields=["status", "updated_at"])
        audit_record(
            verb="obligation.status_changed",
            target=obligation,
            actor=actor,
            reason=reason,
            before={"status": before},
            after={"status": to_status},
        )
    return obligation


def obligation_assign(
    *, obligation: Obligation, actor: User, owner: User | None, due_date: date | None, evidence_max_age_days: int
) -> Obligation:
    """Set who owns the obligation, when it is due and how old its evidence may get."""
    _require(
        actor, "obligation.manage", obligation.organisation_id, "Only a compliance officer can assign obligations."
    )
    if owner is not None and owner.organisation_id != obligation.organisation_id:
        raise ValidationFailed("The owner must be a member of your organisation.", code="invalid_owner")
    if not isinstance(evidence_max_age_days, int) or evidence_max_age_days < 1:
        raise ValidationFailed("The maximum evidence age must be at least one day.", code="invalid_max_age")
    with transaction.atomic():
        obligation = Obligation.objects.select_for_update().get(pk=obligation.pk)
        before = {
            "owner": obligation.owner.username if obligation.owner else None,
            "due_date": obligation.due_date,
            "evidence_max_age_days": obligation.evidence_max_age_days,
        }
        obligation.owner, obligation.due_date = owner, due_date
        obligation.evidence_max_age_days = evidence_max_age_days
        obligation.save(update_fields=["owner", "due_date", "evidence_max_age_days", "updated_at"])
        audit_record(
            verb="obligation.assigned",
            target=obligation,
            actor=actor,
            before=before,
            after={
                "owner": owner.username if owner else None,
                "due_date": due_date,
                "evidence_max_age_days": evidence_max_age_days,
            },
        )
    return obligation


class _Unset:
    """Marks an argument the caller did not give (None is a value: "nobody owns it")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
BULK_ASSIGN_MAX = 500


def obligation_bulk_assign(
    *, obligation_ids: list[int], actor: User, owner: User | None = UNSET, plan_date: date | None = UNSET
) -> list[Obligation]:
    """Set the owner and/or the plan date of many obligations at once: all or none, one audit
    event per obligation. A field not given is left as it is; ``owner=None`` removes the owner."""
    if not has_permission(actor, "obligation.manage"):
        raise NotAllowed("Only a compliance officer can assign obligations.")
    if owner is UNSET and plan_date is UNSET:
        raise ValidationFailed("Choose an owner or a plan date to set.", code="nothing_to_set")
    ids = sorted({int(pk) for pk in obligation_ids})
    if not ids:
        raise ValidationFailed("Select at least one obligation.", code="no_obligations")
    if len(ids) > BULK_ASSIGN_MAX:
        raise ValidationFailed(
            f"Select at most {BULK_ASSIGN_MAX} obligations at a time.", code="too_many", extra={"max": BULK_ASSIGN_MAX}
        )
    if (
        owner is not UNSET
        and owner is not None
        and (owner.organisation_id != actor.organisation_id or not owner.is_active)
    ):
        raise ValidationFailed("The owner must be an active member of your organisation.", code="invalid_owner")
    if plan_date is not UNSET and plan_date is not None and type(plan_date) is not date:
        raise ValidationFailed("The plan date must be a date.", code="invalid_plan_date")
    with transaction.atomic():
        # Locked in id order, so two bulk assignments over overlapping selections cannot deadlock.
        rows = list(
            Obligation.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, organisation_id=actor.organisation_id)
            .select_related("owner")
            .order_by("pk")
        )
        missing = sorted(set(ids) - {o.pk for o in rows})
        if missing:  # another organisation's obligation reads as one that does not exist
            raise NotFound(
                f"There is no obligation {', '.join(f'#{pk}' for pk in missing)} in your organisation.",
                code="unknown_obligations",
                extra={"missing": missing},
            )
        retired = [o.pk for o in rows if not o.applicable]
        if retired:
            raise Conflict(
                f"Obligation {', '.join(f'#{pk}' for pk in retired)} no longer applies; leave it out.",
                code="not_applicable",
                extra={"not_applicable": retired},
            )
        for obligation in rows:
            _bulk_assign_one(obligation, actor=actor, owner=owner, plan_date=plan_date, count=len(rows))
    return rows


def _bulk_assign_one(obligation: Obligation, *, actor: User, owner, plan_date, count: int) -> None:
    before = {"owner": obligation.owner.username if obligation.owner else None, "due_date": obligation.due_date}
    if owner is not UNSET:
        obligation.owner = owner
    if plan_date is not UNSET:
        obligation.due_date = plan_date
    obligation.save(update_fields=["owner", "due_date", "updated_at"])
    audit_record(
        verb="obligation.assigned",
        target=obligation,
        actor=actor,
        before=before,
        after={"owner": obligation.owner.username if obligation.owner else None, "due_date": obligation.due_date},
        reason=f"Bulk assignment of {count} obligation(s).",
    )


def obligation_settings_update(*, actor: User, plan_lead_days: int) -> ObligationSettings:
    """Set the organisation's plan lead time (used for obligations derived from now on)."""
    _require(
        actor,
        "obligation.manage",
        actor.organisation_id,  # type: ignore[arg-type]
        "Only a compliance officer can change obligation settings.",
    )
    if type(plan_lead_days) is not int or not 0 <= plan_lead_days <= 3650:
        raise ValidationFailed("The plan lead time must be between 0 and 3650 days.", code="invalid_lead_time")
    with transaction.atomic():
        row, _ = ObligationSettings.objects.select_for_update().get_or_create(organisation_id=actor.organisation_id)
        before = row.plan_lead_days
        row.plan_lead_days = plan_lead_days
        row.save()
        audit_record(
            verb="obligation.settings_changed",
            target=row,
            actor=actor,
            before={"plan_lead_days": before},
            after={"plan_lead_days": plan_lead_days},
        )
    return row


def _evidence_create(*, obligation: Obligation, actor: User, **fields) -> Evidence:
    with transaction.atomic():
        obligation = Obligation.objects.select_for_update().get(pk=obligation.pk)
        if not _may_work_on(actor, obligation):
            raise NotAllowed("Only the obligation's owner or a compliance officer can add evidence.")
        if not obligation.applicable:
            raise Conflict("This obligation no longer applies to the system.", code="not_applicable")
        evidence = Evidence.objects.create(
            organisation_id=obligation.organisation_id, obligation=obligation, added_by=actor, **fields
        )
        moved_from = _submit_on_evidence(obligation, actor=actor)
        audit_record(
            verb="obligation.evidence_added",
            target=obligation,
            actor=actor,
            after={
                "evidence": evidence.pk,
                "kind": evidence.kind,
                "title": evidence.title,
                "sha256": evidence.sha256 or None,
                "model_version": evidence.model_version_id,
                "validation": evidence.validation_ref or None,
                "validation_summary": evidence.validation_summary or None,
            },
        )
        if moved_from:
            audit_record(
                verb="obligation.status_changed",
                target=obligation,
                actor=actor,
                reason=f"Evidence added: {evidence.title}",
                before={"status": moved_from},
                after={"status": obligation.status},
            )
    return evidence


def _submit_on_evidence(obligation: Obligation, *, actor: User) -> str:
    """Adding evidence submits the obligation for review when the transition table allows the
    move to "evidence submitted" by its worker; returns the status it left ("" when unchanged:
    already submitted or accepted, where new evidence only adds to what is relied on)."""
    to_status = ObligationStatus.EVIDENCE_SUBMITTED
    if OBLIGATION_TRANSITIONS.get((obligation.status, to_status)) != WORK:
        return ""
    before = obligation.status
    obligation.status = to_status
    obligation.save(update_fields=["status", "updated_at"])
    return before


def evidence_add_document(*, obligation: Obligation, actor: User, uploaded_file: File, title: str = "") -> Evidence:
    """Store an uploaded document once per organisation under its SHA-256, and link it."""
    obligation = Obligation.objects.get(pk=obligation.pk)
    if not _may_work_on(actor, obligation):  # checked before anything is written to storage
        raise NotAllowed("Only the obligation's owner or a compliance officer can add evidence.")
    if uploaded_file.size is None or uploaded_file.size == 0:
        raise ValidationFailed("The file is empty.", code="empty_file")
    if uploaded_file.size > EVIDENCE_MAX_BYTES:
        raise TooLarge(
            f"Evidence documents are limited to {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB.",
            extra={"max_bytes": EVIDENCE_MAX_BYTES},
        )
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    sha256 = digest.hexdigest()
    key = f"governance/evidence/{obligation.organisation_id}/{sha256}"
    if not default_storage.exists(key):
        uploaded_file.seek(0)
        stored = default_storage.save(key, uploaded_file)
        if stored != key:  # another upload of the same bytes won the race; keep one copy
            default_storage.delete(stored)
    name = (uploaded_file.name or "document")[:255]
    return _evidence_create(
        obligation=obligation,
        actor=actor,
        kind=EvidenceKind.DOCUMENT,
        title=(title or name)[:200],
        sha256=sha256,
        size=uploaded_file.size,
        storage_key=key,
        original_name=name,
        dated_at=timezone.now(),
    )


def evidence_add_model_card(
    *, obligation: Obligation, actor: User, model_version: ModelVersion, title: str = ""
) -> Evidence:
    """Link the model card of a registered version of the same system."""
    if model_version.system_id != obligation.system_id:
        raise ValidationFailed("The model version must belong to the same AI system.", code="wrong_system")
    return _evidence_create(
        obligation=obligation,
        actor=actor,
        kind=EvidenceKind.MODEL_CARD,
        title=(title or f"Model card of {model_version.version_label}")[:200],
        model_version=model_version,
        dated_at=model_version.created_at,
    )


def evidence_add_validation_run(
    *, obligation: Obligation, actor: User, validation_kind: str, run_id: int, title: str = ""
) -> Evidence:
    """Link a succeeded validation run of the obligation's system, for one check family. The
    evidence is dated by when the run finished, so its age is the run's age."""
    obligation = Obligation.objects.get(pk=obligation.pk)
    if not _may_work_on(actor, obligation):  # before the run is looked up: no hint about other runs
        raise NotAllowed("Only the obligation's owner or a compliance officer can add evidence.")
    family = (validation_kind or "").removeprefix("validation_run:")
    if not (validation_kind or "").startswith("validation_run:") or not family:
        raise ValidationFailed(
            'Give the check family the run is evidence of ("validation_run:<family>").', code="invalid_validation_kind"
        )
    run = evidence_sources.validation_run_for_evidence(
        user=actor,
        organisation_id=obligation.organisation_id,
        system_id=obligation.system_id,
        run_id=run_id,
        family=family,
    )
    summary = evidence_sources.validation_run_snapshot(run, family=family)
    default_title = f"{family.replace('_', ' ').capitalize()} results of validation #{run['id']}"
    return _evidence_create(
        obligation=obligation,
        actor=actor,
        kind=EvidenceKind.VALIDATION_RUN,
        title=(title or default_title)[:200],
        validation_kind=validation_kind,
        validation_ref=str(run["id"]),
        validation_run_id=run["id"],
        validation_summary=summary,
        dated_at=run["finished_at"],
    )


def evidence_staleness_sweep(*, now: datetime | None = None) -> list[int]:
    """Send obligations whose newest evidence is older than its maximum age back to needs rework.
    Returns the ids moved. Safe to run twice: a moved obligation no longer matches."""
    now = now or timezone.now()
    candidates = (
        Obligation.objects.filter(applicable=True, status__in=EVIDENCE_RELIANT_STATUSES)
        .annotate(newest=Max("evidence__dated_at"))
        .values_list("pk", "newest", "evidence_max_age_days")
    )
    stale = [pk for pk, newest, days in candidates if newest is None or newest < now - timedelta(days=days)]
    moved = []
    for pk in stale:
        with transaction.atomic():
            obligation = (
                Obligation.objects.select_for_update().filter(pk=pk, status__in=EVIDENCE_RELIANT_STATUSES).first()
            )
            if obligation is None:  # changed since the scan
                continue
            before = obligation.status
            obligation.status = ObligationStatus.NEEDS_REWORK
            obligation.save(update_fields=["status", "updated_at"])
            audit_record(
                verb="obligation.evidence_stale",
                target=obligation,
                before={"status": before},
                after={"status": obligation.status},
                reason=f"The newest evidence is older than {obligation.evidence_max_age_days} days.",
            )
            moved.append(pk)
    return moved
