"""Certificates: issued on approval, signed with the portal's Ed25519 key, and afterwards only
ever suspended, reinstated, revoked or expired (the signed document itself never changes).

A suspension follows automatically from a new model version of the system, an overdue condition
or a withdrawn classification; each writes an audit event and notifies the people concerned.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audits.certification import notify, signing
from audits.certification.choices import CertificateStatus, ConditionStatus, SubmissionStatus
from audits.certification.models import Certificate, Condition, Submission
from audits.certification.transitions import submission_move
from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from core.permissions import has_permission
from core.trail import audit_record

C = CertificateStatus
S = SubmissionStatus
MIN_REASON_LENGTH = 10
logger = logging.getLogger(__name__)


def verification_url(certificate_id) -> str:
    from django.urls import reverse

    base = getattr(settings, "PORTAL_BASE_URL", "").rstrip("/")
    return f"{base}{reverse('certificate_verify_id', args=[certificate_id])}"


# Payload version 2 adds `audit_anchor`; a payload without `payload_version` is version 1.
PAYLOAD_VERSION = 2


def _audit_anchor(organisation_id: int) -> dict:
    """The organisation's chain head as the certificate is signed: signed into the certificate, it
    lets anyone holding the certificate detect, offline, a later rewrite of the trail before it
    (tools/verify_audit_export.py --anchor). Read inside the sign-off's transaction, after its
    events, so it covers the decision itself."""
    from core.chain import GENESIS_HASH
    from core.models import AuditChainHead
    from core.trail import chain_for

    chain = chain_for(organisation_id)
    head = AuditChainHead.objects.filter(chain=chain).values("seq", "hash").first() or {"seq": 0, "hash": GENESIS_HASH}
    return {"chain": chain, "seq": head["seq"], "hash": head["hash"]}


def certificate_payload(*, submission: Submission, certificate_id) -> dict:
    frozen = submission.frozen
    signoffs = submission.signoffs.select_related("signer").order_by("created_at")
    valid_until = min(s.valid_until for s in signoffs if s.valid_until)
    return {
        "payload_version": PAYLOAD_VERSION,
        "audit_anchor": _audit_anchor(submission.organisation_id),
        "certificate_id": str(certificate_id),
        "issued_at": timezone.now().replace(microsecond=0).isoformat(),
        "organisation": {"id": submission.organisation_id, "name": submission.organisation.name},
        "system": {"id": submission.system_id, "name": submission.system.name},
        "model_version": {"id": submission.model_version_id, "label": submission.model_version.version_label},
        "submission": {"id": submission.pk, "reference": submission.reference},
        "risk_tier": submission.risk_tier,
        "classification": frozen["classification"],
        "decision": submission.status,
        "hashes": {
            "model_sha256": frozen["model"]["sha256"],
            "datasets": [{"role": d["role"], "name": d["name"], "sha256": d["sha256"]} for d in frozen["datasets"]],
            "results_sha256": frozen["validation"]["results_sha256"],
            "submission_sha256": submission.frozen_sha256,
        },
        "conditions": [
            {"text": c.text, "owner": c.owner.get_full_name() or c.owner.username, "due_date": c.due_date.isoformat()}
            for c in submission.conditions.select_related("owner").order_by("due_date", "pk")
        ],
        "valid_from": timezone.localdate().isoformat(),
        "valid_until": valid_until.isoformat(),
        "signers": [
            {
                "username": s.signer.username,
                "name": s.signer.get_full_name(),
                "role": s.signer_role,
                "decision": s.decision,
                "signed_at": s.created_at.replace(microsecond=0).isoformat(),
            }
            for s in signoffs
        ],
        "verification_url": verification_url(certificate_id),
    }


def certificate_issue(*, submission: Submission, actor) -> Certificate:
    """Sign and store the certificate of an approved submission (inside the sign-off's transaction)."""
    certificate_id = uuid.uuid4()
    payload = certificate_payload(submission=submission, certificate_id=certificate_id)
    document = signing.sign_document(payload)
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                id=certificate_id,
                organisation_id=submission.organisation_id,
                submission=submission,
                system=submission.system,
                model_version=submission.model_version,
                document=document,
                payload_sha256=hashlib.sha256(signing.canonical_bytes(payload)).hexdigest(),
                key_id=document["key_id"],
                valid_from=payload["valid_from"],
                valid_until=payload["valid_until"],
            )
    except IntegrityError:  # the one-certificate-per-submission constraint: a concurrent sign-off won
        raise Conflict("A certificate was already issued for this submission.", code="already_certified") from None
    audit_record(
        verb="certificate.issued",
        target=certificate,
        actor=actor,
        after={
            "submission": submission.reference,
            "payload_sha256": certificate.payload_sha256,
            "key_id": certificate.key_id,
            "valid_until": payload["valid_until"],
        },
    )
    recipients = [submission.submitted_by, *notify.compliance_team(submission.organisation_id)]
    transaction.on_commit(
        lambda: notify.send(
            recipients=recipients,
            kind="certificate.issued",
            organisation=submission.organisation,
            title=f"Certificate issued for {submission.system.name} {submission.model_version.version_label}",
            url=notify.submission_url(submission),
        )
    )
    return certificate


def effective_status(certificate: Certificate, *, today=None) -> str:
    """The status a verifier should see: a valid certificate past its end date is expired even
    before the nightly sweep has recorded it."""
    today = today or timezone.localdate()
    if certificate.status == C.VALID and certificate.valid_until < today:
        return C.EXPIRED
    if certificate.status == C.VALID and certificate.valid_from > today:
        return "not_yet_valid"
    return certificate.status


def _reason(text: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) < MIN_REASON_LENGTH:
        raise ValidationFailed(
            f"{what} needs a written reason of at least {MIN_REASON_LENGTH} characters.",
            code="reason_required",
            extra={"field": "reason"},
        )
    return text


def _change(certificate: Certificate, *, to: str, submission_to: str, actor, reason: str, verb: str) -> Certificate:
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    submission = Submission.objects.select_for_update().get(pk=certificate.submission_id)
    before = certificate.status
    certificate.status, certificate.status_reason, certificate.status_changed_at = to, reason, timezone.now()
    certificate.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    audit_record(
        verb=verb, target=certificate, actor=actor, reason=reason, before={"status": before}, after={"status": to}
    )
    submission_move(submission, submission_to, actor=actor, reason=reason)
    recipients = [
        submission.submitted_by,
        *[s.signer for s in submission.signoffs.select_related("signer")],
        *notify.compliance_team(submission.organisation_id),
    ]
    unique = {p.pk: p for p in recipients if actor is None or p.pk != actor.pk}
    transaction.on_commit(
        lambda: notify.send(
            recipients=list(unique.values()),
            kind=verb,
            organisation=submission.organisation,
            title=f"Certificate of {submission.system.name} {submission.model_version.version_label} {to}",
            body=reason,
            url=notify.submission_url(submission),
        )
    )
    return certificate


def certificate_suspend(*, certificate: Certificate, reason: str, actor=None) -> Certificate:
    """Suspend a valid certificate (automatic triggers pass no actor: the portal itself acts)."""
    if actor is not None:
        _require_manager(actor, certificate)
        reason = _reason(reason, "A suspension")
    with transaction.atomic():
        if Certificate.objects.select_for_update().get(pk=certificate.pk).status != C.VALID:
            return certificate
        return _change(
            certificate,
            to=C.SUSPENDED,
            submission_to=S.SUSPENDED,
            actor=actor,
            reason=reason,
            verb="certificate.suspended",
        )


def _require_manager(actor, certificate) -> None:
    if not has_permission(actor, "certificate.manage"):
        raise NotAllowed("Only a compliance officer or an organisation admin manages certificates.", code="not_allowed")
    if certificate.organisation_id != actor.organisation_id:
        raise NotFound("That certificate does not exist.", code="not_found")


def certificate_reinstate(*, actor, certificate: Certificate, reason: str) -> Certificate:
    _require_manager(actor, certificate)
    reason = _reason(reason, "Lifting a suspension")
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.status != C.SUSPENDED:
            raise Conflict(
                f"Only a suspended certificate can be reinstated; this one is {certificate.status}.",
                code="invalid_transition",
            )
        if certificate.valid_until < timezone.localdate():
            raise Conflict("This certificate's validity has ended; it cannot be reinstated.", code="expired")
        overdue = certificate.submission.conditions.filter(status=ConditionStatus.OVERDUE).count()
        if overdue:
            raise Conflict(
                f"{overdue} condition(s) are overdue: record them as met before lifting the suspension.",
                code="conditions_overdue",
            )
        has_conditions = certificate.submission.conditions.exists()
        return _change(
            certificate,
            to=C.VALID,
            actor=actor,
            reason=reason,
            verb="certificate.reinstated",
            submission_to=S.APPROVED_WITH_CONDITIONS if has_conditions else S.APPROVED,
        )


def certificate_revoke(*, actor, certificate: Certificate, reason: str) -> Certificate:
    _require_manager(actor, certificate)
    reason = _reason(reason, "A revocation")
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.status not in (C.VALID, C.SUSPENDED):
            raise Conflict(f"A certificate that is {certificate.status} cannot be revoked.", code="invalid_transition")
        return _change(
            certificate, to=C.REVOKED, submission_to=S.REVOKED, actor=actor, reason=reason, verb="certificate.revoked"
        )


def condition_mark_met(*, actor, condition: Condition, note: str) -> Condition:
    """The condition's owner or a certificate manager records that a condition was met."""
    if condition.organisation_id != actor.organisation_id:
        raise NotFound("That condition does not exist.", code="not_found")
    if actor.pk != condition.owner_id and not has_permission(actor, "certificate.manage"):
        raise NotAllowed("Only the condition's owner or a compliance officer records it as met.", code="not_allowed")
    note = _reason(note, "Recording a condition as met")
    with transaction.atomic():
        condition = Condition.objects.select_for_update().get(pk=condition.pk)
        if condition.status == ConditionStatus.MET:
            raise Conflict("This condition is already recorded as met.", code="already_met")
        before = condition.status
        condition.status, condition.met_at, condition.met_note = ConditionStatus.MET, timezone.now(), note
        condition.save(update_fields=["status", "met_at", "met_note", "updated_at"])
        audit_record(
            verb="condition.met",
            target=condition,
            actor=actor,
            reason=note,
            before={"status": before},
            after={"status": condition.status},
        )
    return condition


# --- automatic triggers ---------------------------------------------------------------------------


def certificates_suspend_for_system(*, system, reason: str, exclude_version_id=None) -> list[Certificate]:
    live = Certificate.objects.filter(system=system, status=C.VALID)
    if exclude_version_id is not None:
        live = live.exclude(model_version_id=exclude_version_id)
    return [certificate_suspend(certificate=c, reason=reason) for c in live]


CONDITION_REMINDER_DAYS = 14  # two weeks' notice: enough to plan the work a condition asks for


def _sweep_each(ids, step, result: dict, key: str, what: str) -> None:
    """Run `step(id)` for each row in its own transaction; one row that fails is logged and recorded
    in `result["errors"]`, and the sweep goes on with the others (the failed row is retried next time,
    since its transaction, claim included, was rolled back)."""
    for row_id in ids:
        try:
            with transaction.atomic():
                done = step(row_id)
        except Exception as exc:  # noqa: BLE001 — one bad row must not abort the day's sweep
            logger.exception("%s sweep: %s %s failed", key, what, row_id)
            result.setdefault("errors", []).append(
                {"sweep": key, what: str(row_id), "error": f"{type(exc).__name__}: {exc}"[:500]}
            )
            continue
        if done:
            result[key].append(row_id)


def conditions_sweep(*, today=None) -> dict:
    """Daily: tell owners of conditions falling due within CONDITION_REMINDER_DAYS (once), and mark
    conditions past their due date overdue, which suspends the certificate. Every row is claimed
    by a conditional UPDATE, so a condition recorded as met since the scan stays met."""
    from datetime import timedelta

    today = today or timezone.localdate()
    result: dict = {"overdue": [], "reminded": []}
    overdue = Condition.objects.filter(status=ConditionStatus.OPEN, due_date__lt=today).order_by("due_date", "pk")
    _sweep_each(
        list(overdue.values_list("pk", flat=True)),
        lambda pk: _condition_mark_overdue(pk, today),
        result,
        "overdue",
        "condition",
    )
    soon = Condition.objects.filter(
        status=ConditionStatus.OPEN,
        reminded_at__isnull=True,
        due_date__lte=today + timedelta(days=CONDITION_REMINDER_DAYS),
    )
    soon = soon.order_by("due_date", "pk")
    _sweep_each(list(soon.values_list("pk", flat=True)), _condition_remind, result, "reminded", "condition")
    return result


def _condition_mark_overdue(pk: int, today) -> bool:
    # The claim: only a condition still open and past due becomes overdue. A "met" recorded
    # between the scan and now (or waiting on the row lock) makes this match nothing.
    if not Condition.objects.filter(pk=pk, status=ConditionStatus.OPEN, due_date__lt=today).update(
        status=ConditionStatus.OVERDUE, updated_at=timezone.now()
    ):
        return False
    condition = Condition.objects.select_related("submission").get(pk=pk)
    audit_record(
        verb="condition.overdue",
        target=condition,
        actor=None,
        before={"status": ConditionStatus.OPEN},
        after={"status": ConditionStatus.OVERDUE},
        reason=f"Due {condition.due_date:%Y-%m-%d}, not recorded as met.",
    )
    certificate = Certificate.objects.filter(submission_id=condition.submission_id).first()
    if certificate is not None:
        certificate_suspend(
            certificate=certificate,
            reason=f"Condition overdue since {condition.due_date:%Y-%m-%d}: {condition.text[:200]}",
        )
    return True


def _condition_remind(pk: int) -> bool:
    # The claim stamps reminded_at only on a condition still open and not reminded: a second sweep,
    # or a condition met since the scan, sends nothing.
    now = timezone.now()
    if not Condition.objects.filter(pk=pk, status=ConditionStatus.OPEN, reminded_at__isnull=True).update(
        reminded_at=now
    ):
        return False
    condition = Condition.objects.select_related("submission__organisation", "owner").get(pk=pk)
    audit_record(
        verb="condition.reminder_sent",
        target=condition,
        actor=None,
        after={"owner": condition.owner.username, "due_date": condition.due_date.isoformat()},
    )
    notify.send(
        recipients=[condition.owner],
        kind="condition.due",
        organisation=condition.submission.organisation,
        title=f"Condition due {condition.due_date:%d %b %Y} on {condition.submission.reference}",
        body=condition.text,
        url=notify.submission_url(condition.submission),
    )
    return True


def certificates_expire_sweep(*, today=None) -> dict:
    """Daily: record certificates past their end date as expired; returns {"expired": [ids]} and
    the "errors" of rows that failed. Each is re-checked under its row lock (it may have been revoked
    or reinstated since the scan); one that fails is recorded and the others are still expired."""
    today = today or timezone.localdate()
    result: dict = {"expired": []}
    ids = Certificate.objects.filter(status__in=(C.VALID, C.SUSPENDED), valid_until__lt=today).values_list(
        "pk", flat=True
    )
    _sweep_each(list(ids), lambda pk: _certificate_expire(pk, today), result, "expired", "certificate")
    result["expired"] = [str(pk) for pk in result["expired"]]
    return result


def _certificate_expire(pk, today) -> bool:
    certificate = (
        Certificate.objects.select_for_update()
        .filter(pk=pk, status__in=(C.VALID, C.SUSPENDED), valid_until__lt=today)
        .first()
    )
    if certificate is None:  # revoked, expired or extended since the scan
        return False
    _change(
        certificate,
        to=C.EXPIRED,
        submission_to=S.EXPIRED,
        actor=None,
        reason=f"Validity ended on {certificate.valid_until:%Y-%m-%d}.",
        verb="certificate.expired",
    )
    return True
