"""Resolving findings so that a submission can be approved: a "require mitigation" finding is
shown fixed by a later run of the system, or turned into a condition of the certificate with an
owner and a due date; an escalated finding is decided by the escalation role (the holders of
`finding.escalation_decide`: compliance officers and organisation admins, never the person who
escalated it). The rule these serve is in docs/certificates.md; `selectors.approval_blockers`
lists what is still unresolved.

Each service locks the submission row first (as every certification write does) and records its
change through the audit writer in the same transaction.
"""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from audits.certification import notify
from audits.certification.choices import DecisionKind, SubmissionStatus
from audits.certification.models import Condition, ConflictOfInterest, FindingDecision, Submission
from audits.certification.services import (
    FINDING_STATUS_OF_DECISION,
    _active_reviewer,
    _clean_conditions,
    _lock,
    _reason,
    _require,
    _same_org,
)
from audits.certification.transitions import submission_touch
from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from core.trail import audit_record

ESCALATION_OUTCOMES = (DecisionKind.ACCEPT_RISK, DecisionKind.REQUIRE_MITIGATION, DecisionKind.FALSE_POSITIVE)


def _mitigation_pending(submission: Submission, finding) -> FindingDecision:
    """The finding's decision, which must be "require mitigation" with nothing recorded yet."""
    if finding.run_id != submission.validation_run_id:
        raise NotFound("That finding is not part of this submission.", code="not_found")
    record = FindingDecision.objects.filter(submission=submission, finding=finding).first()
    if record is None or record.decision != DecisionKind.REQUIRE_MITIGATION:
        raise Conflict(
            f"{finding.check_id} is not decided “require mitigation”; only such a finding is mitigated "
            "or made a condition.",
            code="not_mitigation_required",
        )
    if record.mitigation_run_id:
        raise Conflict(
            f"{finding.check_id} is already shown fixed by validation #{record.mitigation_run_id}.",
            code="already_mitigated",
        )
    if submission.conditions.filter(finding=finding).exists():
        raise Conflict(f"{finding.check_id} is already a condition of the certificate.", code="already_condition")
    return record


def finding_condition_create(
    *, actor, submission: Submission, finding, owner, due_date: date | str | None, text: str = ""
) -> Condition:
    """Turn a "require mitigation" finding into a condition of the certificate (an assigned
    reviewer): the owner must fix it by the due date, and an overdue condition suspends the
    certificate (`certificates.conditions_sweep`)."""
    text = (text or "").strip() or f"Mitigate {finding.check_id}: {finding.title}"
    cleaned = _clean_conditions(actor, [{"text": text, "owner": getattr(owner, "pk", owner), "due_date": due_date}])[0]
    with transaction.atomic():
        submission = _lock(submission)
        _active_reviewer(actor, submission)
        _mitigation_pending(submission, finding)
        try:
            with transaction.atomic():
                condition = Condition.objects.create(
                    organisation_id=submission.organisation_id,
                    submission=submission,
                    finding=finding,
                    created_by=actor,
                    **cleaned,
                )
        except IntegrityError:  # the partial unique key: a racing second conversion
            raise Conflict(
                f"{finding.check_id} is already a condition of the certificate.", code="already_condition"
            ) from None
        audit_record(
            verb="finding.made_condition",
            target=finding,
            actor=actor,
            after={
                "submission": submission.reference,
                "condition": condition.pk,
                "text": condition.text,
                "owner": condition.owner.username,
                "due_date": condition.due_date.isoformat(),
            },
        )
        submission_touch(submission)
        transaction.on_commit(
            lambda: notify.send(
                recipients=[condition.owner] if condition.owner_id != actor.pk else [],
                kind="condition.assigned",
                organisation=submission.organisation,
                title=f"{submission.reference}: {finding.check_id} is a condition of the certificate, "
                f"yours by {condition.due_date:%Y-%m-%d}",
                body=condition.text,
                url=notify.submission_url(submission),
            )
        )
    return condition


def _check_mitigation_run(submission: Submission, finding, run) -> None:
    """The run must be a succeeded run of the same system, later than the submission's, in which
    the finding's check passed against the same threshold."""
    original = submission.validation_run
    if run.system_id != submission.system_id:
        raise ValidationFailed(
            f"Validation #{run.pk} is of another AI system; a mitigation is shown by a run of "
            f"{submission.system.name}.",
            code="mitigation_other_system",
            extra={"field": "run"},
        )
    if run.status != "succeeded":
        raise ValidationFailed(
            f"Validation #{run.pk} has not finished successfully.",
            code="mitigation_run_unfinished",
            extra={"field": "run"},
        )
    if run.pk == original.pk or (original.finished_at and run.finished_at and run.finished_at <= original.finished_at):
        raise ValidationFailed(
            f"Validation #{run.pk} is not later than the submission's run #{original.pk}.",
            code="mitigation_run_not_later",
            extra={"field": "run"},
        )
    result = run.results.filter(check_id=finding.check_id).first()
    if result is None or result.status != "pass":
        state = result.get_status_display().lower() if result else "not run"
        raise ValidationFailed(
            f"In validation #{run.pk}, {finding.check_id} is {state}: it does not show the finding fixed.",
            code="mitigation_check_not_passed",
            extra={"field": "run", "check_status": result.status if result else None},
        )
    before = original.results.filter(check_id=finding.check_id).values_list("threshold", flat=True).first()
    if before and result.threshold != before:
        raise ValidationFailed(
            f"In validation #{run.pk}, {finding.check_id} passed against a different threshold "
            f"({result.threshold}) than the submission's run ({before}).",
            code="mitigation_threshold_changed",
            extra={"field": "run"},
        )


def finding_mitigation_record(*, actor, submission: Submission, finding, run, note: str = "") -> FindingDecision:
    """Record that a later run of the system shows a "require mitigation" finding fixed (an
    assigned reviewer)."""
    _same_org(actor, run, "validation run")
    note = (note or "").strip()
    with transaction.atomic():
        submission = _lock(submission)
        _active_reviewer(actor, submission)
        record = _mitigation_pending(submission, finding)
        _check_mitigation_run(submission, finding, run)
        record.mitigation_run, record.mitigated_by, record.mitigated_at = run, actor, timezone.now()
        record.save(update_fields=["mitigation_run", "mitigated_by", "mitigated_at", "updated_at"])
        audit_record(
            verb="finding.mitigated",
            target=finding,
            actor=actor,
            reason=note,
            after={
                "submission": submission.reference,
                "mitigation_run": run.pk,
                "model_version": run.model_version.version_label if run.model_version_id else None,
                "check_status": "pass",
            },
        )
        submission_touch(submission)
    return record


def escalation_problem(*, person, submission: Submission, record: FindingDecision | None) -> str:
    """Why `person` may not decide this escalated finding, or "" if they may."""
    from core.permissions import has_permission

    if not has_permission(person, "finding.escalation_decide"):
        return "Only compliance officers and organisation admins decide escalated findings."
    if record is not None and record.decided_by_id == person.pk:
        return "You escalated this finding; someone else in the escalation role decides it."
    if person.pk in (submission.model_version.uploaded_by_id, submission.submitted_by_id):
        return "You uploaded or submitted this version; separation of duties forbids deciding its findings."
    if ConflictOfInterest.objects.filter(system_id=submission.system_id, person=person).exists():
        return "You declared a conflict of interest for this system."
    return ""


def finding_escalation_decide(
    *, actor, submission: Submission, finding, decision: str, justification: str
) -> FindingDecision:
    """The escalation role decides an escalated finding: accept the risk, require mitigation, or
    mark it a false positive. The decision replaces "escalate" and reviewers cannot change it."""
    _require(actor, "finding.escalation_decide", "Only compliance officers and organisation admins decide escalations.")
    _same_org(actor, submission, "submission")
    if finding.run_id != submission.validation_run_id:
        raise NotFound("That finding is not part of this submission.", code="not_found")
    if decision not in ESCALATION_OUTCOMES:
        raise ValidationFailed(
            f"Decide an escalation with one of {', '.join(ESCALATION_OUTCOMES)}.",
            code="invalid_decision",
            extra={"field": "decision"},
        )
    justification = _reason(justification, "Deciding an escalation")
    with transaction.atomic():
        submission = _lock(submission)
        if submission.status != SubmissionStatus.IN_REVIEW:
            raise Conflict("Escalations are decided while the submission is in review.", code="not_in_review")
        record = FindingDecision.objects.select_related("decided_by").filter(submission=submission, finding=finding)
        record = record.first()
        if record is None or record.decision != DecisionKind.ESCALATE:
            raise Conflict(f"{finding.check_id} is not escalated.", code="not_escalated")
        problem = escalation_problem(person=actor, submission=submission, record=record)
        if problem:
            raise NotAllowed(problem, code="separation_of_duties")
        escalated_by = record.decided_by
        record.decision, record.justification, record.decided_by = decision, justification, actor
        record.escalation_decided_by, record.escalation_decided_at = actor, timezone.now()
        record.save()
        finding.status = FINDING_STATUS_OF_DECISION[decision]  # type: ignore[index]  # TextChoices members and their str values are one key
        finding.save(update_fields=["status", "updated_at"])
        audit_record(
            verb="finding.escalation_decided",
            target=finding,
            actor=actor,
            reason=justification,
            before={"decision": DecisionKind.ESCALATE.value, "escalated_by": escalated_by.username},
            after={"decision": decision, "submission": submission.reference},
        )
        submission_touch(submission)
        recipients = [escalated_by, submission.submitted_by, *notify.reviewers(submission, exclude=actor)]
        unique = {p.pk: p for p in recipients if p.pk != actor.pk}
        transaction.on_commit(
            lambda: notify.send(
                recipients=list(unique.values()),
                kind="finding.decided",
                organisation=submission.organisation,
                title=f"{submission.reference}: escalation of {finding.check_id} decided "
                f"({DecisionKind(decision).label.lower()})",
                url=notify.submission_url(submission),
            )
        )
    return record
