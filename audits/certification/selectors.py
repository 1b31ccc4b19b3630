"""Certification reads: permission-filtered, keyword-only. The pages and the workspace build on
these; the writes are in `audits.certification.services` and `.certificates`."""

from __future__ import annotations

from django.db.models import Case, Exists, IntegerField, OuterRef, QuerySet, Value, When

from audits.certification.choices import OPEN_STATUSES, ReviewerRole, SubmissionStatus
from audits.certification.models import Certificate, Condition, FindingComment, Rerun, Submission
from core.permissions import get_for_user, has_permission

S = SubmissionStatus


def submission_list(
    *, user, status: str = "", system: int | None = None, version: int | None = None, assigned_to=None
) -> QuerySet:
    """Submissions the user may see, newest first, optionally narrowed. `assigned_to` keeps those
    the person is an active reviewer of (the reviewer's "assigned to me" view)."""
    qs = Submission.objects.restrict(user, "submission.view").select_related(
        "system", "model_version", "submitted_by", "certificate"
    )
    if status:
        qs = qs.filter(status=status)
    if system:
        qs = qs.filter(system_id=system)
    if version:
        qs = qs.filter(model_version_id=version)
    if assigned_to is not None:
        qs = qs.filter(assignments__reviewer=assigned_to, assignments__active=True)
    return qs.distinct()


def submission_get(*, user, pk) -> Submission:
    """One submission of the user's organisation, or 404."""
    qs = Submission.objects.select_related(
        "system",
        "model_version__artifact",
        "model_version__uploaded_by",
        "validation_run__test_dataset",
        "validation_run__train_dataset",
        "determination",
        "submitted_by",
        "previous",
    )
    return get_for_user(qs, user, "submission.view", pk=pk)


def certificate_get(*, user, pk) -> Certificate:
    return get_for_user(
        Certificate.objects.select_related("submission", "system", "model_version"), user, "submission.view", pk=pk
    )


def condition_get(*, user, pk) -> Condition:
    return get_for_user(Condition.objects.select_related("submission", "owner"), user, "submission.view", pk=pk)


def rerun_get(*, user, submission: Submission, pk) -> Rerun:
    return get_for_user(
        Rerun.objects.filter(submission=submission).select_related("run"), user, "submission.view", pk=pk
    )


HISTORY_LABELS = {
    "submission.created": "Created",
    "submission.frozen": "Inputs frozen",
    "submission.submitted": "Submitted",
    "submission.resubmitted": "Submitted again",
    "submission.reviewer_assigned": "Reviewer assigned",
    "submission.reviewer_blocked": "Reviewer withdrawn (conflict of interest)",
    "submission.review_started": "Review started",
    "submission.review_resumed": "Review resumed",
    "submission.changes_requested": "Changes requested",
    "submission.signed": "Signed",
    "submission.dissent_recorded": "Dissenting opinion recorded",
    "submission.rerun_started": "Re-run started",
}


def submission_history(*, submission: Submission) -> list:
    """The submission's own audit events, oldest first, each with a `label` and, for a change of
    status, `status_from`/`status_to`: its transitions and who did what."""
    from core.models import AuditEvent

    events = list(
        AuditEvent.objects.filter(
            organisation_id=submission.organisation_id, object_type="audits.submission", object_id=str(submission.pk)
        ).order_by("seq")
    )
    labels = dict(SubmissionStatus.choices)
    for event in events:
        before, after = event.before or {}, event.after or {}
        event.status_from = labels.get(before.get("status", ""), "") if isinstance(before, dict) else ""
        event.status_to = labels.get(after.get("status", ""), "") if isinstance(after, dict) else ""
        default = event.verb.split(".", 1)[-1].replace("_", " ").capitalize()
        event.label = HISTORY_LABELS.get(event.verb) or (event.status_to if event.status_to else default)
        event.detail = _history_detail(event.verb, after if isinstance(after, dict) else {})
    return events


def _history_detail(verb: str, after: dict) -> str:
    if verb == "submission.reviewer_assigned":
        return f"{after.get('reviewer', '')} as {str(after.get('role', '')).replace('_', ' ')}"
    if verb == "submission.reviewer_blocked":
        return str(after.get("reviewer", ""))
    if verb == "submission.signed":
        return str(after.get("decision", "")).replace("_", " ")
    if verb == "submission.rerun_started":
        return f"validation #{after.get('rerun', '')}"
    return ""


def _thread(comments: list[FindingComment]) -> list[FindingComment]:
    """Root comments, each with `.children` (its replies, recursively), in the order written."""
    by_parent: dict[int | None, list[FindingComment]] = {}
    for comment in comments:
        by_parent.setdefault(comment.parent_id, []).append(comment)
    for comment in comments:
        comment.children = by_parent.get(comment.pk, [])
    return by_parent.get(None, [])


def finding_thread(*, submission: Submission, finding) -> list[FindingComment]:
    comments = list(submission.comments.filter(finding=finding).select_related("author"))
    return _thread(comments)


def submission_findings(*, submission: Submission) -> list:
    """The findings under review, most severe first, each with `.decision` (or None), `.thread`
    (threaded comments) and `.comment_count`."""
    from audits.choices import SEVERITY_RANK

    rank = Case(
        *[When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()],
        default=Value(9),
        output_field=IntegerField(),
    )
    findings = list(
        submission.validation_run.findings.annotate(severity_rank=rank).order_by("severity_rank", "check_id")
    )
    decisions = {d.finding_id: d for d in submission.decisions.select_related("decided_by", "risk")}
    comments: dict[int, list[FindingComment]] = {}
    for comment in submission.comments.select_related("author"):
        comments.setdefault(comment.finding_id, []).append(comment)
    for finding in findings:
        finding.decision = decisions.get(finding.pk)
        finding.thread = _thread(comments.get(finding.pk, []))
        finding.comment_count = len(comments.get(finding.pk, []))
    return findings


def assignable_reviewers(*, submission: Submission) -> list:
    """Active auditors and compliance officers of the organisation who may review it now (not the
    uploader or submitter, not conflicted, not already assigned)."""
    from audits.certification.services import separation_problem
    from core.models import User

    assigned = submission.assignments.filter(active=True).values_list("reviewer_id", flat=True)
    people = (
        User.objects.filter(organisation_id=submission.organisation_id, is_active=True, role__in=ReviewerRole.values)
        .exclude(pk__in=assigned)
        .order_by("role", "username")
    )
    return [p for p in people if not separation_problem(person=p, submission=submission)]


def organisation_members(*, organisation_id: int) -> QuerySet:
    from core.models import User

    return User.objects.filter(organisation_id=organisation_id, is_active=True).order_by("first_name", "username")


def risks_to_link(*, user, system) -> QuerySet:
    """Open risks of the register a decision may point to, the system's own first."""
    from governance.risks.models import Risk

    own = Exists(Risk.objects.filter(pk=OuterRef("pk"), systems=system))
    return (
        Risk.objects.restrict(user, "risk.view")
        .exclude(status="closed")
        .annotate(own=own)
        .order_by("-own", "-created_at")
    )


def reviewer_state(*, user, submission: Submission) -> dict:
    """What this person may do on the submission right now, for the workspace's buttons."""
    from audits.certification.services import approvals_needed, cosigner_problem, separation_problem

    assignment = submission.assignments.filter(reviewer=user).first()
    active = bool(assignment and assignment.active) and not separation_problem(person=user, submission=submission)
    in_review = submission.status == S.IN_REVIEW
    signed = submission.signoffs.filter(signer=user).first()
    four_eyes = cosigner_problem(person=user, submission=submission) if active and in_review else ""
    return {
        "assignment": assignment,
        "is_reviewer": active,
        "can_decide": active and in_review,
        "can_sign": active and in_review and signed is None and not four_eyes,
        "cosign_problem": four_eyes,
        "my_signoff": signed,
        "can_rerun": active and bool(submission.frozen) and has_permission(user, "validation.start"),
        "can_dissent": assignment is not None,
        "can_assign": has_permission(user, "review.assign")
        and submission.status in (S.SUBMITTED, S.IN_REVIEW, S.CHANGES_REQUESTED),
        "can_resubmit": has_permission(user, "submission.create") and submission.status == S.CHANGES_REQUESTED,
        "can_comment": has_permission(user, "submission.comment")
        and submission.status != S.DRAFT
        and (active or not has_permission(user, "review.perform")),
        "approvals_needed": sorted(approvals_needed(submission)) if in_review else [],
    }


def signoff_summary(*, submission: Submission) -> list:
    return list(submission.signoffs.select_related("signer").prefetch_related("conditions__owner"))


ESCALATION_ROLE = "a compliance officer or organisation admin other than the person who escalated it"


def _blocker(submission: Submission, finding, decision, kind: str, reason: str) -> dict:
    from audits.certification.notify import submission_url

    return {
        "finding": finding.pk,
        "check_id": finding.check_id,
        "title": finding.title,
        "severity": finding.severity,
        "decision": decision.decision if decision else None,
        "kind": kind,
        "reason": reason,
        "url": f"{submission_url(submission)}#finding-{finding.pk}",
    }


def approval_blockers(*, submission: Submission) -> list[dict]:
    """Every finding of the submission's run that stops an approval (and so the certificate), most
    severe first: undecided; decided "require mitigation" but neither mitigated by a later run nor
    made a condition of the certificate; or escalated and not yet decided by the escalation role.
    Each as {finding, check_id, title, severity, decision, kind, reason, url}.

    None once the review has ended (approved, rejected, and what follows): nothing is left to
    approve, so a finding the review never decided (closed as superseded, or left to the engineer
    of a rejected submission) is no longer a blocker anyone must act on."""
    from audits.certification.choices import DecisionKind
    from audits.choices import SEVERITY_RANK

    if submission.status not in OPEN_STATUSES:
        return []

    findings = sorted(
        submission.validation_run.findings.all(), key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.check_id)
    )
    decisions = {d.finding_id: d for d in submission.decisions.select_related("decided_by")}
    conditioned = set(submission.conditions.filter(finding__isnull=False).values_list("finding_id", flat=True))
    blockers = []
    for finding in findings:
        decision = decisions.get(finding.pk)
        if decision is None:
            blockers.append(_blocker(submission, finding, None, "undecided", "No decision yet."))
        elif decision.decision == DecisionKind.REQUIRE_MITIGATION and not (
            decision.mitigation_run_id or finding.pk in conditioned
        ):
            blockers.append(
                _blocker(
                    submission,
                    finding,
                    decision,
                    "mitigation_required",
                    "Decided “require mitigation”: not yet shown fixed by a later run of the system, nor made "
                    "a condition of the certificate with an owner and a due date.",
                )
            )
        elif decision.decision == DecisionKind.ESCALATE:
            who = decision.decided_by.get_full_name() or decision.decided_by.username
            blockers.append(
                _blocker(
                    submission,
                    finding,
                    decision,
                    "escalated",
                    f"Escalated by {who}: waiting for a decision by {ESCALATION_ROLE}.",
                )
            )
    return blockers


def mitigation_runs(*, submission: Submission, finding) -> QuerySet:
    """Succeeded runs of the submission's system finished after its run, in which the finding's
    check passed: the runs that can show a "require mitigation" finding fixed."""
    from audits.models import ValidationRun

    original = submission.validation_run
    runs = ValidationRun.objects.filter(
        system_id=submission.system_id,
        status="succeeded",
        results__check_id=finding.check_id,
        results__status="pass",
    ).exclude(pk=original.pk)
    if original.finished_at:
        runs = runs.filter(finished_at__gt=original.finished_at)
    return runs.select_related("model_version").order_by("-finished_at", "-pk")


def reviewable_run_ids(*, user) -> set[int]:
    """The validation runs whose findings `user` can decide now: those of submissions in review that
    the user is an active reviewer of (the findings list offers its bulk decision on these)."""
    if not has_permission(user, "review.perform"):
        return set()
    return set(
        Submission.objects.filter(
            organisation_id=user.organisation_id,
            status=SubmissionStatus.IN_REVIEW,
            assignments__reviewer=user,
            assignments__active=True,
        ).values_list("validation_run_id", flat=True)
    )


def version_required_run(*, model_version) -> str:
    """The suite of the validation run this version still needs before it can be submitted, or ""
    when none is missing (or when a run is not what stops it: no approved classification, unsafe file)."""
    from audits.certification import services  # services reads selectors too: import when called
    from governance.models import Determination

    determination = Determination.objects.filter(system_id=model_version.system_id, status="approved").first()
    if determination is None or model_version.scan_verdict != "safe":
        return ""
    tier = determination.effective_risk_tier
    if tier == "prohibited" or services.eligible_runs(model_version=model_version, risk_tier=tier).exists():
        return ""
    return str(services.required_suite(tier))
