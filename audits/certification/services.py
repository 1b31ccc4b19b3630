"""Certification services: submitting a model version, assigning reviewers, triaging findings,
comments, re-runs, sign-off and dissent. Certificates (issue, suspend, revoke, expire) are in
`audits.certification.certificates`.

Every write locks the submission row first (`_lock`): reviewers act concurrently, and the lock plus
`lock_version` make the second of two racing writers see the first one's change instead of
overwriting it. Every state change writes an audit event in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audits.certification import notify
from audits.certification.certificates import certificate_issue
from audits.certification.choices import (
    OPEN_POINT_DECISIONS,
    OPEN_STATUSES,
    DecisionKind,
    ReviewerRole,
    SignOffDecision,
    SubmissionStatus,
)
from audits.certification.freeze import freeze, snapshot_digest
from audits.certification.models import (
    Condition,
    ConflictOfInterest,
    DissentingOpinion,
    FindingComment,
    FindingDecision,
    ReviewAssignment,
    SignOff,
    Submission,
)
from audits.certification.transitions import submission_move, submission_touch
from audits.choices import FindingStatus, RunStatus, Suite
from core.errors import Conflict, NotAllowed, NotFound, PortalError, ValidationFailed
from core.permissions import has_permission
from core.trail import audit_record

S = SubmissionStatus
MIN_REASON_LENGTH = 10
SUITE_RANK = {Suite.QUICK: 0, Suite.STANDARD: 1, Suite.FULL: 2}
FINDING_STATUS_OF_DECISION = {
    DecisionKind.ACCEPT_RISK: FindingStatus.ACCEPTED,
    DecisionKind.REQUIRE_MITIGATION: FindingStatus.MITIGATION_REQUIRED,
    DecisionKind.FALSE_POSITIVE: FindingStatus.FALSE_POSITIVE,
    DecisionKind.ESCALATE: FindingStatus.ESCALATED,
}


# --- guards ---------------------------------------------------------------------------------------


def _require(actor, permission: str, message: str) -> None:
    if not has_permission(actor, permission):
        raise NotAllowed(message, code="not_allowed")


def _same_org(actor, obj, label: str):
    if obj is None or obj.organisation_id != actor.organisation_id:
        raise NotFound(f"That {label} does not exist.", code="not_found")
    return obj


def _reason(text: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) < MIN_REASON_LENGTH:
        raise ValidationFailed(
            f"{what} needs a written reason of at least {MIN_REASON_LENGTH} characters.",
            code="reason_required",
            extra={"field": "reason"},
        )
    return text


def _lock(submission: Submission, expected_version: int | None = None) -> Submission:
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if expected_version is not None and int(expected_version) != locked.lock_version:
        raise Conflict(
            "Someone changed this submission while you had it open. Reload the page, check what "
            "changed, and try again.",
            code="stale",
            extra={"current_version": locked.lock_version},
        )
    return locked


def separation_problem(*, person, submission: Submission) -> str:
    """Why `person` may not review or approve this submission, or "" if they may."""
    if person.organisation_id != submission.organisation_id or not person.is_active:
        return "They are not an active member of this organisation."
    if not has_permission(person, "review.perform"):
        return "Only auditors and compliance officers review submissions."
    if person.pk == submission.model_version.uploaded_by_id:
        return "They uploaded this model version; separation of duties forbids reviewing their own work."
    if person.pk == submission.submitted_by_id:
        return "They submitted this version; separation of duties forbids reviewing their own submission."
    if ConflictOfInterest.objects.filter(system_id=submission.system_id, person=person).exists():
        return "They declared a conflict of interest for this system."
    return ""


def cosigner_problem(*, person, submission: Submission) -> str:
    """Why `person` may not sign this submission under the organisation's four-eyes rule
    (`Organisation.four_eyes_high_risk`, on by default), or "" if they may: the approver of a
    high-risk classification does not also co-sign the certificate that rests on it."""
    from governance.selectors import four_eyes_required

    determination = submission.determination
    if determination.approved_by_id != person.pk:
        return ""
    if not four_eyes_required(determination=determination, risk_tier=submission.risk_tier):
        return ""
    return (
        "Four-eyes rule: your organisation requires that a co-signer of a high-risk certificate did not "
        f"approve the EU AI Act classification it rests on, and you approved this one (determination "
        f"#{determination.pk}). Another reviewer of your role must sign."
    )


def _active_reviewer(actor, submission: Submission) -> ReviewAssignment:
    _require(actor, "review.perform", "Only auditors and compliance officers review submissions.")
    _same_org(actor, submission, "submission")
    problem = separation_problem(person=actor, submission=submission)
    if problem:
        raise NotAllowed(
            f"You cannot review this submission: {problem[0].lower()}{problem[1:]}", code="separation_of_duties"
        )
    assignment = submission.assignments.filter(reviewer=actor, active=True).first()
    if assignment is None:
        raise NotAllowed("You are not assigned to review this submission.", code="not_assigned")
    if submission.status != S.IN_REVIEW:
        raise Conflict(
            f"This submission is {submission.get_status_display().lower()}; reviews happen while it is in review.",
            code="not_in_review",
        )
    return assignment


# --- submitting -----------------------------------------------------------------------------------


def required_suite(risk_tier: str) -> str:
    from audits.validation.services import SUITE_BY_RISK_TIER

    return SUITE_BY_RISK_TIER.get(risk_tier, Suite.STANDARD)


def eligible_runs(*, model_version, risk_tier: str):
    """Succeeded runs of this version whose suite is at least the one the risk tier requires."""
    from audits.models import ValidationRun

    needed = SUITE_RANK[required_suite(risk_tier)]  # type: ignore[index]  # TextChoices members and their str values are one key
    suites = [s for s, rank in SUITE_RANK.items() if rank >= needed]
    return ValidationRun.objects.filter(
        model_version=model_version, status=RunStatus.SUCCEEDED, suite__in=suites
    ).order_by("-finished_at", "-pk")


def submission_blockers(*, model_version) -> list[str]:
    """Everything that stops this version being submitted now, in words the engineer can act on."""
    from governance.models import Determination

    blockers = []
    determination = Determination.objects.filter(system_id=model_version.system_id, status="approved").first()
    if determination is None:
        blockers.append(
            "The system has no approved EU AI Act classification: classify it and have a compliance "
            "officer approve the result."
        )
    elif determination.effective_risk_tier == "prohibited":
        blockers.append("The system is classified as a prohibited practice (Art. 5): it cannot be certified.")
    tier = determination.effective_risk_tier if determination else model_version.system.risk_tier
    if determination and not eligible_runs(model_version=model_version, risk_tier=tier).exists():
        blockers.append(
            f"No finished validation run of this version with the {required_suite(tier)} suite "
            f"(or stricter), which a {tier.replace('_', ' ')} system needs."
        )
    if model_version.scan_verdict != "safe":
        blockers.append("The model file did not pass the safety scan.")
    if Submission.objects.filter(model_version=model_version, status__in=OPEN_STATUSES).exists():
        blockers.append("This version already has a submission in progress.")
    return blockers


def _previous_submission(system) -> Submission | None:
    return Submission.objects.filter(system=system).exclude(status=S.DRAFT).order_by("-created_at", "-pk").first()


def open_points(submission: Submission) -> list[dict]:
    """Decisions that left work to do, with their comment threads' size: what a follower inherits."""
    points = []
    for d in submission.decisions.filter(decision__in=OPEN_POINT_DECISIONS).select_related("finding"):
        points.append(
            {
                "check_id": d.finding.check_id,
                "title": d.finding.title,
                "severity": d.finding.severity,
                "decision": d.decision,
                "justification": d.justification,
                "comments": submission.comments.filter(finding=d.finding).count(),
                "from_submission": submission.reference,
            }
        )
    points.extend(
        {
            "check_id": "",
            "title": f"Condition: {c.text}",
            "severity": "",
            "decision": "condition",
            "justification": f"Due {c.due_date:%Y-%m-%d}",
            "comments": 0,
            "from_submission": submission.reference,
        }
        for c in submission.conditions.exclude(status="met")
    )
    return points


def submission_create(*, actor, model_version, validation_run=None, note: str = "", submit: bool = True) -> Submission:
    """Create a submission of `model_version` (submitted at once unless `submit` is False) and
    freeze what is being certified."""
    from governance.models import Determination

    _require(actor, "submission.create", "Only ML engineers submit model versions for certification.")
    _same_org(actor, model_version, "model version")
    with transaction.atomic():
        # Locks the system row: two submissions of one version racing each other are serialised.
        from models_registry.models import AISystem

        system = AISystem.objects.select_for_update().get(pk=model_version.system_id)
        blockers = submission_blockers(model_version=model_version)
        if blockers:
            raise ValidationFailed(blockers[0], code="not_submittable", extra={"blockers": blockers})
        determination = Determination.objects.get(system=system, status="approved")
        tier = determination.effective_risk_tier
        runs = eligible_runs(model_version=model_version, risk_tier=tier)
        if validation_run is not None:
            if not runs.filter(pk=validation_run.pk).exists():
                raise ValidationFailed(
                    f"That validation run is not a finished run of this version with the suite a {tier} system needs.",
                    code="run_not_eligible",
                    extra={"field": "validation_run"},
                )
            run = validation_run
        else:
            run = runs.first()
        previous = _previous_submission(system)
        number = _next_submission_number(actor.organisation_id)
        try:
            with transaction.atomic():
                submission = Submission.objects.create(
                    organisation_id=actor.organisation_id,
                    system=system,
                    model_version=model_version,
                    validation_run=run,
                    determination=determination,
                    previous=previous,
                    number=number,
                    risk_tier=tier,
                    note=note.strip(),
                    submitted_by=actor,
                    carried_points=open_points(previous) if previous else [],
                )
        except IntegrityError:  # cannot happen while every number comes from the counter; never a 500
            raise Conflict(
                "Another submission took that number at the same moment; submit again.", code="submission_number_taken"
            ) from None
        audit_record(
            verb="submission.created",
            target=submission,
            actor=actor,
            after={
                "model_version": model_version.version_label,
                "validation_run": run.pk,
                "determination": determination.pk,
                "risk_tier": tier,
                "previous": previous.reference if previous else None,
                "carried_points": len(submission.carried_points),
            },
        )
        if submit:
            submission_submit(actor=actor, submission=submission)
            submission.refresh_from_db()
    return submission


def _next_submission_number(organisation_id: int) -> int:
    """The organisation's next submission number (S-1, S-2, ...). The counter row is locked until
    the caller's transaction ends: submissions of two systems of one organisation (which lock
    different system rows) take their numbers one after the other instead of both reading the
    same highest number. Starts from the highest existing number for an organisation without one."""
    from django.db.models import Max

    from audits.certification.models import SubmissionCounter

    counter, _ = SubmissionCounter.objects.select_for_update().get_or_create(
        organisation_id=organisation_id,
        defaults={
            "last_number": lambda: (
                Submission.objects.filter(organisation_id=organisation_id).aggregate(last=Max("number"))["last"] or 0
            )
        },
    )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def submission_submit(*, actor, submission: Submission, expected_version: int | None = None) -> Submission:
    """Submit a draft, or resubmit after changes were requested. Freezes the inputs on first submit."""
    _require(actor, "submission.create", "Only ML engineers submit model versions for certification.")
    _same_org(actor, submission, "submission")
    with transaction.atomic():
        submission = _lock(submission, expected_version)
        if not submission.frozen:
            run = submission.validation_run
            submission.frozen = freeze(
                model_version=submission.model_version, run=run, determination=submission.determination
            )
            submission.frozen_sha256 = snapshot_digest(submission.frozen)
            submission.submitted_at = timezone.now()
            submission_touch(submission, "frozen", "frozen_sha256", "submitted_at")
            audit_record(
                verb="submission.frozen",
                target=submission,
                actor=actor,
                after={
                    "frozen_sha256": submission.frozen_sha256,
                    "model_sha256": submission.frozen["model"]["sha256"],
                    "results_sha256": submission.frozen["validation"]["results_sha256"],
                },
            )
        submission_move(
            submission,
            S.SUBMITTED,
            actor=actor,
            verb="submission.resubmitted" if submission.status == S.CHANGES_REQUESTED else "submission.submitted",
        )
        if submission.assignments.filter(active=True).exists():
            submission_move(submission, S.IN_REVIEW, actor=actor, verb="submission.review_resumed")
        recipients = notify.reviewers(submission) or notify.compliance_team(submission.organisation_id)
        transaction.on_commit(
            lambda: notify.send(
                recipients=recipients,
                kind="submission.submitted",
                organisation=submission.organisation,
                title=f"{submission.reference} submitted: {submission.system.name} {submission.model_version.version_label}",
                body=submission.note,
                url=notify.submission_url(submission),
            )
        )
    return submission


# --- assignment and conflicts -----------------------------------------------------------------------


def reviewer_assign(*, actor, submission: Submission, reviewer) -> ReviewAssignment:
    _require(actor, "review.assign", "Only an organisation admin or a compliance officer assigns reviewers.")
    _same_org(actor, submission, "submission")
    _same_org(actor, reviewer, "person")
    problem = separation_problem(person=reviewer, submission=submission)
    if problem:
        raise NotAllowed(
            f"{reviewer.get_full_name() or reviewer.username} cannot review this submission. {problem}",
            code="separation_of_duties",
            extra={"field": "reviewer"},
        )
    with transaction.atomic():
        submission = _lock(submission)
        if submission.status not in (S.SUBMITTED, S.IN_REVIEW, S.CHANGES_REQUESTED):
            raise Conflict(
                f"Reviewers are assigned to submitted work; this one is {submission.get_status_display().lower()}.",
                code="not_assignable",
            )
        assignment, created = ReviewAssignment.objects.get_or_create(
            submission=submission,
            reviewer=reviewer,
            defaults={
                "organisation_id": submission.organisation_id,
                "reviewer_role": reviewer.role,
                "assigned_by": actor,
            },
        )
        if not created and assignment.active:
            raise Conflict("That person is already assigned.", code="already_assigned")
        if not created:
            assignment.active, assignment.assigned_by = True, actor
            assignment.save(update_fields=["active", "assigned_by", "updated_at"])
        audit_record(
            verb="submission.reviewer_assigned",
            target=submission,
            actor=actor,
            after={"reviewer": reviewer.username, "role": reviewer.role},
        )
        submission_touch(submission)
        if submission.status == S.SUBMITTED:
            submission_move(submission, S.IN_REVIEW, actor=actor, verb="submission.review_started")
        transaction.on_commit(
            lambda: notify.send(
                recipients=[reviewer],
                kind="submission.assigned",
                organisation=submission.organisation,
                title=f"You were assigned to review {submission.reference}: {submission.system.name}",
                url=notify.submission_url(submission),
            )
        )
    return assignment


def conflict_declare(*, actor, system, person, reason: str) -> ConflictOfInterest:
    """Declare that `person` has a conflict of interest on `system`. People declare their own; an
    admin or compliance officer can declare one for anyone. It withdraws their open assignments."""
    _same_org(actor, system, "AI system")
    _same_org(actor, person, "person")
    if person.pk != actor.pk:
        _require(actor, "review.assign", "Only an admin or a compliance officer declares a conflict for someone else.")
    reason = _reason(reason, "A conflict of interest")
    with transaction.atomic():
        try:
            with transaction.atomic():
                conflict = ConflictOfInterest.objects.create(
                    organisation_id=system.organisation_id,
                    system=system,
                    person=person,
                    reason=reason,
                    declared_by=actor,
                )
        except IntegrityError:
            raise Conflict(
                "A conflict of interest is already on record for that person and system.", code="already_declared"
            ) from None
        audit_record(
            verb="conflict.declared",
            target=conflict,
            actor=actor,
            reason=reason,
            after={"person": person.username, "system": system.name},
        )
        withdrawn = ReviewAssignment.objects.filter(
            reviewer=person, active=True, submission__system=system, submission__status__in=OPEN_STATUSES
        )
        for assignment in withdrawn.select_related("submission"):
            assignment.active = False
            assignment.save(update_fields=["active", "updated_at"])
            audit_record(
                verb="submission.reviewer_blocked",
                target=assignment.submission,
                actor=actor,
                reason="Conflict of interest declared.",
                after={"reviewer": person.username},
            )
    return conflict


# --- triage ---------------------------------------------------------------------------------------


def finding_decide(
    *, actor, submission: Submission, finding, decision: str, justification: str = "", risk=None, notify_people=True
) -> FindingDecision:
    """Record (or change) the reviewer's decision on one finding of the submission's run. The
    submitter hears of it in a digest (one per reviewer and submission within a few minutes);
    `notify_people=False` leaves telling them to the caller (`finding_decide_many`: one digest)."""
    if decision not in DecisionKind.values:
        raise ValidationFailed(
            f"Decision must be one of {', '.join(DecisionKind.values)}.",
            code="invalid_decision",
            extra={"field": "decision"},
        )
    if finding.run_id != submission.validation_run_id:
        raise NotFound("That finding is not part of this submission.", code="not_found")
    justification = (justification or "").strip()
    if decision == DecisionKind.ACCEPT_RISK:
        _reason(justification, "Accepting a risk")
    elif decision == DecisionKind.FALSE_POSITIVE:
        _reason(justification, "Marking a finding as a false positive")
    if risk is not None:
        _same_org(actor, risk, "risk")
    with transaction.atomic():
        submission = _lock(submission)
        _active_reviewer(actor, submission)
        current = FindingDecision.objects.filter(submission=submission, finding=finding).first()
        _refuse_settled_decision(submission, finding, current)
        before = {"decision": current.decision, "justification": current.justification} if current else None
        record, _ = FindingDecision.objects.update_or_create(
            submission=submission,
            finding=finding,
            defaults={
                "organisation_id": submission.organisation_id,
                "decision": decision,
                "justification": justification,
                "risk": risk,
                "decided_by": actor,
            },
        )
        finding.status = FINDING_STATUS_OF_DECISION[decision]  # type: ignore[index]  # TextChoices members and their str values are one key
        finding.save(update_fields=["status", "updated_at"])
        audit_record(
            verb="finding.decided",
            target=finding,
            actor=actor,
            reason=justification,
            before=before,
            after={
                "decision": decision,
                "submission": submission.reference,
                "risk": risk.reference if risk is not None else None,
            },
        )
        submission_touch(submission)
        if notify_people:
            _notify_decisions(submission, [(finding, decision)], actor)
    return record


MAX_BULK_DECISIONS = 200


def finding_decide_many(*, actor, findings, decision: str, justification: str = "", risk=None) -> list[FindingDecision]:
    """Decide several findings at once with one decision and one justification (the findings list).
    Each finding is decided by `finding_decide` in the submission in review that the actor reviews
    and whose run it belongs to, so each gets its own audit event; all in one transaction: when one
    cannot be decided nothing is, and the error names that finding. Each submitter hears of it in
    one digest per submission."""
    findings = list({f.pk: f for f in findings}.values())
    if not findings:
        raise ValidationFailed(
            "Choose at least one finding to decide.", code="no_findings", extra={"field": "findings"}
        )
    if len(findings) > MAX_BULK_DECISIONS:
        raise ValidationFailed(
            f"Decide at most {MAX_BULK_DECISIONS} findings at once; you chose {len(findings)}.",
            code="too_many_findings",
            extra={"field": "findings"},
        )
    _require(actor, "review.perform", "Only auditors and compliance officers review submissions.")
    records: list[FindingDecision] = []
    decided: dict[int, tuple[Submission, list]] = {}
    with transaction.atomic():  # all or nothing: a batch decided halfway would be hard to read
        for finding in sorted(findings, key=lambda f: f.pk):
            _same_org(actor, finding, "finding")
            submission = _submission_reviewing(actor, finding)
            try:
                records.append(
                    finding_decide(
                        actor=actor,
                        submission=submission,
                        finding=finding,
                        decision=decision,
                        justification=justification,
                        risk=risk,
                        notify_people=False,
                    )
                )
            except PortalError as exc:
                if "field" in exc.extra:  # the decision or justification itself: the same for every finding
                    raise
                raise type(exc)(
                    f"{_finding_name(finding)} cannot be decided: {exc.message}",
                    code=exc.code,
                    extra={**exc.extra, "finding": finding.pk},
                ) from exc
            decided.setdefault(submission.pk, (submission, []))[1].append((finding, decision))
        for submission, pairs in decided.values():
            _notify_decisions(submission, pairs, actor)
    return records


def _finding_name(finding) -> str:
    return f"Finding #{finding.pk} ({finding.check_id}, {finding.title})"


def _submission_reviewing(actor, finding) -> Submission:
    """The submission in review of the finding's run that the actor is assigned to review."""
    submissions = Submission.objects.filter(validation_run_id=finding.run_id, organisation_id=actor.organisation_id)
    mine = submissions.filter(assignments__reviewer=actor, assignments__active=True).distinct()
    submission = mine.filter(status=S.IN_REVIEW).order_by("-pk").first()
    if submission is not None:
        return submission
    if mine.exists():
        latest = mine.order_by("-pk").first()
        raise Conflict(
            f"{_finding_name(finding)} cannot be decided: its submission {latest.reference} is "  # type: ignore[union-attr]  # exists() above
            f"{latest.get_status_display().lower()}; reviews happen while it is in review.",  # type: ignore[union-attr]  # exists() above
            code="not_in_review",
            extra={"finding": finding.pk},
        )
    raise NotAllowed(
        f"{_finding_name(finding)} cannot be decided: it is not part of a submission you are assigned to review.",
        code="not_assigned",
        extra={"finding": finding.pk},
    )


def _refuse_settled_decision(submission: Submission, finding, current: FindingDecision | None) -> None:
    """A reviewer no longer changes a decision that is escalated (the escalation role decides it),
    that the escalation role decided, or whose mitigation is on record (a run or a condition)."""
    if current is None:
        return
    if current.decision == DecisionKind.ESCALATE:
        raise Conflict(
            f"{finding.check_id} is escalated: only the escalation role (a compliance officer or "
            "organisation admin other than the person who escalated it) decides it now.",
            code="escalated",
        )
    if current.escalation_decided_by_id:
        raise Conflict(
            f"{finding.check_id} was decided on escalation; a reviewer cannot change that decision.",
            code="escalation_decided",
        )
    if current.mitigation_run_id or submission.conditions.filter(finding=finding).exists():
        raise Conflict(
            f"{finding.check_id} is resolved (mitigated by a later run, or a condition of the certificate); "
            "its decision can no longer change.",
            code="mitigation_recorded",
        )


DECISION_SOURCE = "audits.findingdecision"


def finding_decision_raise_risk(*, actor, decision: FindingDecision):
    """Raise a risk in the register from a reviewer's decision in one click, and keep the link
    both ways: the risk records the decision as its source, the decision points at the risk."""
    from audits.risk_link import CATEGORY_OF_FAMILY
    from governance.risks.choices import RiskSource
    from governance.risks.models import Risk
    from governance.risks.services import risk_create_from_source

    _same_org(actor, decision, "decision")
    submission = decision.submission
    if not (
        has_permission(actor, "risk.manage") or submission.assignments.filter(reviewer=actor, active=True).exists()
    ):
        raise NotAllowed(
            "Only the submission's reviewers or a compliance officer raise a risk from a decision.", code="not_allowed"
        )
    if decision.decision == DecisionKind.FALSE_POSITIVE:
        raise Conflict(
            "A finding marked as a false positive is not a risk; change the decision first.", code="false_positive"
        )
    finding = decision.finding
    with transaction.atomic():
        # Locks the decision: two clicks at once must not raise two risks.
        decision = FindingDecision.objects.select_for_update().get(pk=decision.pk)
        if decision.risk_id is not None:
            raise Conflict(
                f"This decision is already linked to risk {decision.risk.reference}.",  # type: ignore[union-attr]  # set on this path (checked by the caller / validated above)
                code="already_raised",
                extra={"risk": decision.risk_id},
            )
        source_ref = {
            "type": DECISION_SOURCE,
            "id": decision.pk,
            "severity": finding.severity,
            "title": f"{submission.reference} · {finding.check_id}: {decision.get_decision_display().lower()}",
            "url": f"{notify.submission_url(submission)}#finding-{finding.pk}",
        }
        description = "\n\n".join(
            part
            for part in (
                finding.description,
                f"Reviewer's decision ({decision.get_decision_display()}): {decision.justification}"
                if decision.justification
                else "",
                f"Raised from {submission.reference}, finding {finding.check_id} of validation #{finding.run_id}.",
            )
            if part
        )
        try:
            risk = risk_create_from_source(
                actor=actor,
                system=submission.system,
                title=finding.title,
                description=description,
                category=CATEGORY_OF_FAMILY.get(finding.category, "robustness"),
                source=RiskSource.AUDIT,
                source_ref=source_ref,
                severity=finding.severity,
            )
        except Conflict as exc:  # an active risk from this decision exists but lost its link: restore it
            if exc.code != "already_raised":
                raise
            risk = Risk.objects.get(pk=exc.extra["risk"])
        decision.risk = risk
        decision.save(update_fields=["risk", "updated_at"])
        audit_record(
            verb="finding.decision_risk_linked",
            target=finding,
            actor=actor,
            after={"submission": submission.reference, "decision": decision.decision, "risk": risk.reference},
        )
    return risk


DECISION_TALLY = {
    DecisionKind.ACCEPT_RISK: "accepted",
    DecisionKind.REQUIRE_MITIGATION: "require mitigation",
    DecisionKind.FALSE_POSITIVE: "false positive",
    DecisionKind.ESCALATE: "escalated",
}


def _notify_decisions(submission, pairs, actor) -> None:
    """One digest per submission and reviewer: "Mia decided 13 findings on S-5 (9 accepted, ...)".
    The submitter hears of every decision; the escalation role of the escalated ones."""
    name = actor.get_full_name() or actor.username
    title = f"{name} decided {{count}} finding{{s}} on {submission.reference} ({{tallies}})"
    items = [
        {"text": f"{f.check_id} {f.title}: {DecisionKind(d).label.lower()}", "tally": DECISION_TALLY[DecisionKind(d)]}
        for f, d in pairs
    ]
    escalated = [item for item, (_, d) in zip(items, pairs, strict=True) if d == DecisionKind.ESCALATE]
    submitter = [submission.submitted_by] if submission.submitted_by_id != actor.pk else []
    escalation = [
        p
        for p in (notify.escalation_team(submission.organisation_id) if escalated else [])
        if p.pk not in (actor.pk, submission.submitted_by_id)
    ]
    digest = {
        "kind": "finding.decided",
        "organisation": submission.organisation,
        "title": title,
        "url": notify.submission_url(submission),
        "digest_key": f"submission:{submission.pk}:decided-by:{actor.pk}",
    }
    transaction.on_commit(lambda: notify.send(recipients=submitter, items=items, **digest))
    if escalation:
        transaction.on_commit(lambda: notify.send(recipients=escalation, items=escalated, **digest))


def finding_comment_add(*, actor, submission: Submission, finding, body: str, parent=None) -> FindingComment:
    _require(actor, "submission.comment", "Your role cannot comment on submissions.")
    _same_org(actor, submission, "submission")
    if finding.run_id != submission.validation_run_id:
        raise NotFound("That finding is not part of this submission.", code="not_found")
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("Write a comment first.", code="empty_comment", extra={"field": "body"})
    if len(body) > 10_000:
        raise ValidationFailed("Comments are limited to 10,000 characters.", code="too_long", extra={"field": "body"})
    if parent is not None and (parent.submission_id != submission.pk or parent.finding_id != finding.pk):
        raise ValidationFailed("You can only reply to a comment on the same finding.", code="invalid_parent")
    if submission.status == S.DRAFT:
        raise Conflict("Comments open once the submission is submitted.", code="not_submitted")
    if (
        has_permission(actor, "review.perform")
        and not submission.assignments.filter(reviewer=actor, active=True).exists()
    ):
        raise NotAllowed(
            "Only the assigned reviewers and the ML team discuss a submission's findings.", code="not_assigned"
        )
    with transaction.atomic():
        comment = FindingComment.objects.create(
            organisation_id=submission.organisation_id,
            submission=submission,
            finding=finding,
            parent=parent,
            author=actor,
            body=body,
        )
        audit_record(
            verb="finding.commented",
            target=comment,
            actor=actor,
            after={
                "submission": submission.reference,
                "finding": finding.check_id,
                "reply_to": parent.pk if parent else None,
                "length": len(body),
            },
        )
        recipients = notify.reviewers(submission, exclude=actor) + [submission.submitted_by]
        if parent is not None:
            recipients.append(parent.author)
        unique = {p.pk: p for p in recipients if p.pk != actor.pk}
        transaction.on_commit(
            lambda: notify.send(
                recipients=list(unique.values()),
                kind="finding.commented",
                organisation=submission.organisation,
                title=f"{actor.get_full_name() or actor.username} commented on {finding.check_id} in {submission.reference}",
                body=body[:500],
                url=notify.submission_url(submission),
            )
        )
    return comment


def submission_request_changes(
    *, actor, submission: Submission, reason: str, expected_version: int | None = None
) -> Submission:
    reason = _reason(reason, "Requesting changes")
    with transaction.atomic():
        submission = _lock(submission, expected_version)
        _active_reviewer(actor, submission)
        submission_move(submission, S.CHANGES_REQUESTED, actor=actor, reason=reason)
        transaction.on_commit(
            lambda: notify.send(
                recipients=[submission.submitted_by],
                kind="submission.changes_requested",
                organisation=submission.organisation,
                title=f"Changes requested on {submission.reference}",
                body=reason,
                url=notify.submission_url(submission),
            )
        )
    return submission


def dissent_record(*, actor, submission: Submission, opinion: str) -> DissentingOpinion:
    """A reviewer who disagrees with the decision (or with a co-reviewer) puts it on record."""
    _require(actor, "review.perform", "Only reviewers record a dissenting opinion.")
    _same_org(actor, submission, "submission")
    if not submission.assignments.filter(reviewer=actor).exists():
        raise NotAllowed("Only a reviewer of this submission can record a dissenting opinion.", code="not_assigned")
    opinion = _reason(opinion, "A dissenting opinion")
    with transaction.atomic():
        submission = _lock(submission)
        record = DissentingOpinion.objects.create(
            organisation_id=submission.organisation_id, submission=submission, author=actor, opinion=opinion
        )
        audit_record(
            verb="submission.dissent_recorded",
            target=submission,
            actor=actor,
            reason=opinion,
            after={"dissent": record.pk},
        )
        submission_touch(submission)
    return record


# --- re-run -----------------------------------------------------------------------------------------


def _rerun_columns(original) -> dict:
    picked = (original.reproducibility or {}).get("columns")
    if not picked:
        return {}
    return {
        "feature_columns": picked.get("features"),
        "target_column": picked.get("target"),
        "sensitive_columns": picked.get("sensitive"),
    }


def submission_rerun(*, actor, submission: Submission):
    """Run the validation again from the frozen inputs (same version, datasets, suite, policy, seed)."""
    from audits.certification.models import Rerun
    from audits.validation.services import validation_start

    _require(actor, "review.perform", "Only reviewers re-run a submission's validation.")
    _same_org(actor, submission, "submission")
    if not submission.assignments.filter(reviewer=actor, active=True).exists():
        raise NotAllowed("You are not assigned to review this submission.", code="not_assigned")
    if not submission.frozen:
        raise Conflict("Only a submitted submission has frozen inputs to re-run.", code="not_submitted")
    original = submission.validation_run
    _require(actor, "validation.start", "Only an auditor can start a re-run.")
    with transaction.atomic():
        run = validation_start(
            actor=actor,
            test_dataset=original.test_dataset,
            model_version=original.model_version,
            train_dataset=original.train_dataset,
            suite=original.suite,
            policy_overrides=original.policy_overrides,
            seed=original.seed,
            # The same columns as the run under review (None for older runs: the same defaults).
            **_rerun_columns(original),
        )
        rerun = Rerun.objects.create(
            organisation_id=submission.organisation_id, submission=submission, run=run, requested_by=actor
        )
        audit_record(
            verb="submission.rerun_started",
            target=submission,
            actor=actor,
            after={"original_run": original.pk, "rerun": run.pk},
        )
    return rerun


# --- sign-off ---------------------------------------------------------------------------------------


def undecided_critical_findings(submission: Submission):
    decided = submission.decisions.values_list("finding_id", flat=True)
    return submission.validation_run.findings.filter(severity="critical").exclude(pk__in=decided)


def _clean_conditions(actor, conditions) -> list[dict]:
    from core.models import User

    cleaned = []
    for index, item in enumerate(conditions or [], start=1):
        text = str(item.get("text", "")).strip()
        due = item.get("due_date")
        if isinstance(due, str):
            try:
                due = date.fromisoformat(due)
            except ValueError:
                due = None
        owner = item.get("owner")
        if not isinstance(owner, User):
            owner = User.objects.filter(pk=owner, organisation_id=actor.organisation_id, is_active=True).first()
        if not text or owner is None or owner.organisation_id != actor.organisation_id or not isinstance(due, date):
            raise ValidationFailed(
                f"Condition {index} needs a text, an owner from your organisation and a due date.",
                code="invalid_condition",
                extra={"field": "conditions", "index": index},
            )
        if due < timezone.localdate():
            raise ValidationFailed(
                f"Condition {index} is due in the past.",
                code="invalid_condition",
                extra={"field": "conditions", "index": index},
            )
        cleaned.append({"text": text, "owner": owner, "due_date": due})
    return cleaned


def _check_validity(valid_until: date | None, *, required: bool) -> date:
    today = timezone.localdate()
    if valid_until is None:
        if required:
            raise ValidationFailed(
                "An approval with conditions needs a validity period (valid until).",
                code="validity_required",
                extra={"field": "valid_until"},
            )
        return today + timedelta(days=settings.CERTIFICATE_VALIDITY_DAYS)
    if not today < valid_until <= today + timedelta(days=3 * 366):
        raise ValidationFailed(
            "The validity must end after today and within three years.",
            code="invalid_validity",
            extra={"field": "valid_until"},
        )
    return valid_until


BLOCKER_WORDS = {"undecided": "no decision", "mitigation_required": "not mitigated", "escalated": "escalated"}


def _refuse_approval_past_blockers(submission: Submission, undecided_critical: list[str]) -> None:
    """An approval (and so the certificate) waits until every finding of the run is resolved
    (docs/certificates.md, "Unresolved findings block approval"). The refusal names each blocker."""
    from audits.certification.selectors import approval_blockers

    blockers = approval_blockers(submission=submission)
    if not blockers:
        return
    named = ", ".join(f"{b['check_id']} ({BLOCKER_WORDS[b['kind']]})" for b in blockers)
    raise Conflict(
        f"Approval is refused while {len(blockers)} finding(s) are unresolved: {named}. Decide each one; "
        "a finding at “require mitigation” must be shown fixed by a later run or made a condition of the "
        "certificate, and an escalated one decided by the escalation role.",
        code="critical_undecided" if undecided_critical else "findings_unresolved",
        extra={"findings": undecided_critical, "blockers": blockers},
    )


def approvals_needed(submission: Submission) -> set[str]:
    """The reviewer roles whose approval is still missing. High-risk systems need two distinct
    approvers, an auditor and a compliance officer; the others need one reviewer's approval."""
    approved = submission.signoffs.filter(
        decision__in=(SignOffDecision.APPROVE, SignOffDecision.APPROVE_WITH_CONDITIONS)
    )
    roles = set(approved.values_list("signer_role", flat=True))
    if submission.risk_tier == "high":
        return {ReviewerRole.AUDITOR, ReviewerRole.COMPLIANCE_OFFICER} - roles  # type: ignore[return-value]  # ReviewerRole members are str
    return set() if roles else {"any"}


def submission_sign(
    *,
    actor,
    submission: Submission,
    decision: str,
    reason: str,
    password: str,
    conditions=None,
    valid_until: date | None = None,
    expected_version: int | None = None,
) -> SignOff:
    """Sign off: approve, approve with conditions, or reject. Needs the signer's password and a
    reason; a rejection is refused while a critical finding has no decision, an approval while any
    finding is unresolved (`selectors.approval_blockers`). Issues the certificate when the last
    required approval arrives."""
    if decision not in SignOffDecision.values:
        raise ValidationFailed(
            f"Decision must be one of {', '.join(SignOffDecision.values)}.",
            code="invalid_decision",
            extra={"field": "decision"},
        )
    if not password or not actor.check_password(password):
        raise NotAllowed(
            "Your password was not correct; sign-off needs it re-entered.",
            code="reauth_failed",
            extra={"field": "password"},
        )
    reason = _reason(reason, "A sign-off")
    with_conditions = decision == SignOffDecision.APPROVE_WITH_CONDITIONS
    cleaned = _clean_conditions(actor, conditions) if with_conditions else []
    if with_conditions and not cleaned:
        raise ValidationFailed(
            "Approving with conditions needs at least one condition.",
            code="conditions_required",
            extra={"field": "conditions"},
        )
    if conditions and not with_conditions:
        raise ValidationFailed("Conditions go with an approval with conditions.", code="unexpected_conditions")
    until = _check_validity(valid_until, required=with_conditions) if decision != SignOffDecision.REJECT else None
    with transaction.atomic():
        submission = _lock(submission, expected_version)
        assignment = _active_reviewer(actor, submission)
        problem = cosigner_problem(person=actor, submission=submission)
        if problem:
            raise NotAllowed(
                problem,
                code="four_eyes",
                extra={"rule": "four_eyes_high_risk", "determination": submission.determination_id},
            )
        undecided = list(undecided_critical_findings(submission).values_list("check_id", flat=True))
        if undecided and decision == SignOffDecision.REJECT:
            raise Conflict(
                f"Sign-off is refused while {len(undecided)} critical finding(s) have no decision: "
                f"{', '.join(undecided)}.",
                code="critical_undecided",
                extra={"findings": undecided},
            )
        if decision != SignOffDecision.REJECT:
            _refuse_approval_past_blockers(submission, undecided)
        if (
            decision != SignOffDecision.REJECT
            and submission.risk_tier == "high"
            and assignment.reviewer_role not in approvals_needed(submission)
        ):
            raise Conflict(
                "A high-risk system needs two distinct approvers, an auditor and a compliance officer; "
                "your role's approval is already given.",
                code="second_approver_needed",
            )
        try:
            with transaction.atomic():
                signoff = SignOff.objects.create(
                    organisation_id=submission.organisation_id,
                    submission=submission,
                    signer=actor,
                    signer_role=assignment.reviewer_role,
                    decision=decision,
                    reason=reason,
                    valid_until=until,
                )
        except IntegrityError:
            raise Conflict("You have already signed this submission.", code="already_signed") from None
        for item in cleaned:
            Condition.objects.create(
                organisation_id=submission.organisation_id, submission=submission, signoff=signoff, **item
            )
        audit_record(
            verb="submission.signed",
            target=submission,
            actor=actor,
            reason=reason,
            after={
                "decision": decision,
                "role": assignment.reviewer_role,
                "valid_until": until.isoformat() if until else None,
                "conditions": [
                    {"text": c["text"], "owner": c["owner"].username, "due_date": c["due_date"].isoformat()}
                    for c in cleaned
                ],
            },
        )
        submission_touch(submission)
        if decision == SignOffDecision.REJECT:
            submission_move(submission, S.REJECTED, actor=actor, reason=reason)
            _close_replaced_findings(submission, actor)
        elif not approvals_needed(submission):
            final = S.APPROVED_WITH_CONDITIONS if submission.conditions.exists() else S.APPROVED
            submission_move(submission, final, actor=actor, reason=reason)
            certificate_issue(submission=submission, actor=actor)
            _close_replaced_findings(submission, actor)
        _notify_signed(submission, actor, decision)
    return signoff


def _close_replaced_findings(submission: Submission, actor) -> None:
    """The end of a review (approved, approved with conditions, rejected) leaves no undecided
    finding of its run as open work when a newer run of the same version and suite replaced it:
    while the review ran, that run's findings stayed open for the reviewer to decide
    (`validation_findings_supersede` spares a run under review); now they are closed as
    superseded, linked to the newer run, one audit event each, in the sign-off's transaction.
    An approval has decided every finding first, so in practice this closes a rejected run's."""
    from audits.validation.services import validation_findings_supersede

    state = submission.get_status_display().lower()
    validation_findings_supersede(
        run=submission.validation_run, actor=actor, occasion=f"The review of {submission.reference} ended ({state})."
    )


def _notify_signed(submission, actor, decision) -> None:
    recipients = [submission.submitted_by, *notify.reviewers(submission, exclude=actor)]
    recipients += [c.owner for c in submission.conditions.select_related("owner")]
    unique = {p.pk: p for p in recipients if p.pk != actor.pk}
    label = SignOffDecision(decision).label
    state = submission.get_status_display()
    transaction.on_commit(
        lambda: notify.send(
            recipients=list(unique.values()),
            kind="submission.signed",
            organisation=submission.organisation,
            title=f"{submission.reference} {label.lower()} by {actor.get_full_name() or actor.username}: now {state.lower()}",
            url=notify.submission_url(submission),
        )
    )
