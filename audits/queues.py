"""The certification and validation work queues on the home page (core.home): submissions waiting
for reviewers (assigned from the home page), escalated findings, a reviewer's assigned submissions,
and an ML engineer's changes requested, findings to mitigate, conditions and failed runs."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from audits.certification.choices import (
    ConditionStatus,
    DecisionKind,
    ReviewerRole,
    SubmissionStatus,
)
from audits.certification.models import Condition, FindingDecision, ReviewAssignment, SignOff, Submission
from audits.choices import RunStatus
from audits.models import Finding, ValidationRun
from core.home import QUEUE_ITEMS, Queue, QueueItem
from core.permissions import has_permission
from governance.queues import due_words

S = SubmissionStatus
REVIEWABLE = (S.SUBMITTED, S.IN_REVIEW)
FAILED_RUN_DAYS = 14


def _name(submission: Submission) -> str:
    return f"{submission.reference} · {submission.system.name} {submission.model_version.version_label}"


def _detail(submission: Submission, anchor: str = "") -> str:
    url = reverse("certification:submission_detail", args=[submission.pk])
    return f"{url}#{anchor}" if anchor else url


def _missing_roles(submission: Submission, roles: set[str]) -> list[str]:
    """The reviewer roles a submission still needs assigned: an auditor and a compliance officer
    for a high-risk system (two distinct approvers), any one reviewer otherwise."""
    if submission.risk_tier == "high":
        return [label for value, label in ReviewerRole.choices if value not in roles]
    return [] if roles else ["a reviewer"]


def submissions_without_reviewers(*, user) -> Queue:
    """Open submissions whose assigned reviewers cannot approve them yet, oldest first, each with
    a picker of the people who may review it (the assign view checks again)."""
    from audits.certification.selectors import assignable_reviewers

    open_ = (
        Submission.objects.restrict(user, "review.assign")
        .filter(status__in=REVIEWABLE)
        .select_related("system", "model_version", "submitted_by")
        .order_by("created_at", "id")
    )
    active = {}
    for submission_id, role in ReviewAssignment.objects.filter(submission__in=open_, active=True).values_list(
        "submission_id", "reviewer_role"
    ):
        active.setdefault(submission_id, set()).add(role)
    waiting = [(s, missing) for s in open_ if (missing := _missing_roles(s, active.get(s.pk, set())))]
    now = timezone.now()
    items = []
    for submission, missing in waiting[:QUEUE_ITEMS]:
        days = (now - submission.created_at).days
        people = assignable_reviewers(submission=submission)
        items.append(
            QueueItem(
                label=_name(submission),
                url=_detail(submission, "reviewers"),
                detail=f"needs {' and '.join(m.lower() if m != 'a reviewer' else m for m in missing)}"
                f" · submitted by {submission.submitted_by.display_name}"
                f" {'today' if days == 0 else f'{days} day' + ('s' if days != 1 else '') + ' ago'}",
                tone="bad" if days >= 7 else ("warn" if days >= 2 else ""),
                action={
                    "url": reverse("certification:submission_assign", args=[submission.pk]),
                    "field": "reviewer",
                    "choices": [(p.pk, f"{p.display_name} ({p.get_role_display()})") for p in people],
                    "button": "Assign",
                    "empty": "Nobody in the organisation may review it (uploader, submitter or conflicted).",
                }
                if people
                else {"empty": "Nobody in the organisation may review it (uploader, submitter or conflicted)."},
            )
        )
    return Queue(
        key="unassigned",
        title="Submissions waiting for reviewers",
        items=items,
        total=len(waiting),
        more_url=reverse("certification:submission_list") + f"?status={S.SUBMITTED}",
        empty="Every open submission has its reviewers.",
    )


def escalations_to_decide(*, user) -> Queue:
    waiting = (
        FindingDecision.objects.restrict(user, "finding.escalation_decide")
        .filter(decision=DecisionKind.ESCALATE, escalation_decided_by__isnull=True, submission__status__in=REVIEWABLE)
        .select_related("submission__system", "submission__model_version", "finding", "decided_by")
        .order_by("updated_at", "id")
    )
    items = [
        QueueItem(
            label=f"{d.finding.check_id} {d.finding.title}",
            url=_detail(d.submission, f"finding-{d.finding_id}"),
            detail=f"{_name(d.submission)} · escalated by {d.decided_by.display_name}: it blocks approval until decided",
            tone="bad",
        )
        for d in waiting[:QUEUE_ITEMS]
    ]
    return Queue(
        key="escalations",
        title="Escalated findings to decide",
        items=items,
        total=waiting.count(),
        empty="No escalated finding waits for you.",
    )


def my_reviews(*, user) -> Queue:
    """Open submissions the user is an active reviewer of, with their state, the findings nobody
    decided yet and whether the user's sign-off is still to come."""
    assigned = (
        Submission.objects.restrict(user, "review.perform")
        .filter(status__in=REVIEWABLE, assignments__reviewer=user, assignments__active=True)
        .select_related("system", "model_version")
        .order_by("created_at", "id")
        .distinct()
    )
    # One query for the shown rows: their undecided findings and the user's sign-off as annotations.
    decided = FindingDecision.objects.filter(submission_id=OuterRef(OuterRef("pk")), finding_id=OuterRef("pk"))
    undecided_count = (
        Finding.objects.filter(run_id=OuterRef("validation_run_id"))
        .exclude(Exists(decided))
        .order_by()
        .values("run_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    shown = assigned.annotate(
        undecided=Coalesce(Subquery(undecided_count, output_field=IntegerField()), 0),
        signed=Exists(SignOff.objects.filter(submission_id=OuterRef("pk"), signer=user)),
    )
    items = []
    for submission in shown[:QUEUE_ITEMS]:
        undecided, signed = submission.undecided, submission.signed
        parts = [submission.get_status_display().lower()]
        parts.append(
            f"{undecided} finding{'s' if undecided != 1 else ''} undecided" if undecided else "every finding decided"
        )
        parts.append("you signed" if signed else "your sign-off to come")
        items.append(
            QueueItem(
                label=_name(submission),
                url=_detail(submission, "findings" if undecided else ""),
                detail=" · ".join(parts),
                tone="warn" if undecided else "",
            )
        )
    return Queue(
        key="reviews",
        title="Your reviews",
        items=items,
        total=assigned.count(),
        more_url=reverse("certification:submission_list") + "?scope=assigned",
        empty="No submission is assigned to you for review.",
    )


def changes_requested(*, user) -> Queue:
    mine = (
        Submission.objects.restrict(user, "submission.create")
        .filter(status=S.CHANGES_REQUESTED, submitted_by=user)
        .select_related("system", "model_version")
        .order_by("updated_at", "id")
    )
    items = [
        QueueItem(
            label=_name(s),
            url=_detail(s),
            detail="the reviewers asked for changes: answer and submit again, or submit a new version",
            tone="warn",
        )
        for s in mine[:QUEUE_ITEMS]
    ]
    return Queue(
        key="changes",
        title="Changes requested on your submissions",
        items=items,
        total=mine.count(),
        more_url=reverse("certification:submission_list") + f"?scope=mine&status={S.CHANGES_REQUESTED}",
        empty="No reviewer asked you for changes.",
    )


def findings_to_mitigate(*, user) -> Queue:
    """Findings reviewers decided "require mitigation", not yet shown fixed, on the user's own
    submissions or versions: a later run in which the check passes resolves them."""
    open_ = (
        FindingDecision.objects.restrict(user, "submission.create")
        .filter(decision=DecisionKind.REQUIRE_MITIGATION, mitigated_at__isnull=True)
        .filter(Q(submission__submitted_by=user) | Q(submission__model_version__uploaded_by=user))
        .exclude(submission__status__in=(S.REJECTED, S.REVOKED, S.EXPIRED))
        .select_related("submission__system", "submission__model_version", "finding")
        .order_by("created_at", "id")
    )
    items = [
        QueueItem(
            label=f"{d.finding.check_id} {d.finding.title}",
            url=_detail(d.submission, f"finding-{d.finding_id}"),
            detail=f"{_name(d.submission)} · mitigation required: a later run in which the check passes resolves it",
            tone="warn",
        )
        for d in open_[:QUEUE_ITEMS]
    ]
    return Queue(
        key="mitigate",
        title="Findings to mitigate",
        items=items,
        total=open_.count(),
        empty="No finding of yours waits for a mitigation.",
    )


def my_conditions(*, user) -> Queue | None:
    """Certificate conditions the user owns that are not met, by due date (None when they own none
    and may not create submissions: then the queue would never fill)."""
    today = timezone.localdate()
    open_ = (
        Condition.objects.restrict(user, "submission.view")
        .filter(owner=user, status__in=(ConditionStatus.OPEN, ConditionStatus.OVERDUE))
        .select_related("submission__system", "submission__model_version")
        .order_by("due_date", "id")
    )
    if not has_permission(user, "submission.create") and not open_.exists():
        return None
    items = []
    for condition in open_[:QUEUE_ITEMS]:
        when, tone = due_words(condition.due_date, today)
        items.append(
            QueueItem(
                label=condition.text[:120],
                url=_detail(condition.submission, "certificate"),
                detail=f"{_name(condition.submission)} · {when}",
                tone=tone,
            )
        )
    return Queue(
        key="conditions",
        title="Conditions you own",
        items=items,
        total=open_.count(),
        empty="You own no open condition of a certificate.",
    )


def failed_runs(*, user) -> Queue:
    """The user's validation runs that failed in the last two weeks and that no later successful
    run of the same version replaced."""
    since = timezone.now() - timedelta(days=FAILED_RUN_DAYS)
    later_success = ValidationRun.objects.filter(
        system_id=OuterRef("system_id"),
        model_version_id=OuterRef("model_version_id"),
        status=RunStatus.SUCCEEDED,
        created_at__gt=OuterRef("created_at"),
    )
    failed = (
        ValidationRun.objects.restrict(user, "validation.start")
        .filter(requested_by=user, status=RunStatus.FAILED, created_at__gte=since)
        .exclude(Exists(later_success))
        .select_related("system", "model_version")
        .order_by("-created_at", "-id")
    )
    items = [
        QueueItem(
            label=f"Validation #{run.pk} of {run.system.name}"
            + (f" {run.model_version.version_label}" if run.model_version_id else ""),
            url=reverse("audits:validation_detail", args=[run.pk]),
            detail=(run.error_message or "the run failed")[:160],
            tone="bad",
        )
        for run in failed[:QUEUE_ITEMS]
    ]
    return Queue(
        key="failed_runs",
        title="Your failed runs",
        items=items,
        total=failed.count(),
        more_url=reverse("audits:validation_list") + f"?status={RunStatus.FAILED}",
        empty=f"None of your runs failed in the last {FAILED_RUN_DAYS} days.",
    )


def register() -> None:
    from core import home

    home.register_queue("unassigned", "review.assign", submissions_without_reviewers)
    home.register_queue("escalations", "finding.escalation_decide", escalations_to_decide)
    home.register_queue("reviews", "review.perform", my_reviews)
    home.register_queue("changes", "submission.create", changes_requested)
    home.register_queue("mitigate", "submission.create", findings_to_mitigate)
    home.register_queue("conditions", "submission.view", my_conditions)
    home.register_queue("failed_runs", "validation.start", failed_runs)
