"""The compliance officer's work queues on the home page (core.home): determinations waiting for an
approval, evidence waiting for a review, obligations falling due and risks due for review. An
obligation's or a risk's owner sees their own in any role."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.urls import reverse

from core.home import QUEUE_ITEMS, Queue, QueueItem
from core.permissions import has_permission
from governance import selectors
from governance.choices import DeterminationStatus, ObligationStatus
from governance.models import Determination, Obligation
from governance.presentation import needs_unsure_review
from governance.risks.choices import ACTIVE_STATUSES
from governance.risks.models import Risk
from governance.selectors import _today, four_eyes_required

# How far ahead "due" looks: an obligation whose plan date is this close, a risk review this close.
OBLIGATION_HORIZON_DAYS = 30
RISK_REVIEW_HORIZON_DAYS = 14


def due_words(day, today) -> tuple[str, str]:
    """'overdue since 3 Nov' in red, 'due 12 Dec' amber within a week, plain after."""
    if day < today:
        return f"overdue since {day:%d %b %Y}", "bad"
    if day <= today + timedelta(days=7):
        return f"due {day:%d %b %Y}", "warn"
    return f"due {day:%d %b %Y}", ""


def determinations_to_approve(*, user) -> Queue:
    """Submitted determinations of the organisation, oldest first. One the user answered, where the
    organisation's four-eyes rule applies, is listed as waiting for another approver."""
    pending = (
        Determination.objects.restrict(user, "classification.approve")
        .filter(status=DeterminationStatus.SUBMITTED)
        .select_related("system", "answered_by", "organisation")
        .order_by("created_at", "id")
    )
    review = Determination.objects.restrict(user, "classification.approve").filter(
        status=DeterminationStatus.NEEDS_REVIEW
    )
    items = []
    for determination in pending[:QUEUE_ITEMS]:
        mine = user.pk in determination.answerer_ids
        if mine and four_eyes_required(determination=determination):
            detail, tone = "you answered it: another compliance officer approves it (four-eyes)", ""
        else:
            detail, tone = f"answered by {determination.answered_by.display_name}, waiting for approval", "warn"
        label = f"{determination.system.name}: {determination.get_outcome_display()}"
        if needs_unsure_review(determination.result, determination.unsure_justifications):
            # Resting on "unsure" answers, the result is not a verdict yet (issue #14 defect 7).
            unsure = len(determination.result.get("unsure_answers", []))
            outcome = determination.get_outcome_display()
            label = f"{determination.system.name}: needs review (provisional), {outcome} if the stricter readings hold"
            detail += f"; justify or resolve {unsure} unsure answer(s)"
        items.append(
            QueueItem(
                label=label,
                url=reverse("governance:determination_detail", args=[determination.pk]),
                detail=detail,
                tone=tone,
            )
        )
    room = QUEUE_ITEMS - len(items)
    for determination in review.select_related("system").order_by("review_requested_at", "id")[: max(room, 0)]:
        items.append(
            QueueItem(
                label=f"{determination.system.name}: classification needs review",
                url=reverse("governance:system_classification", args=[determination.system_id]),
                detail=determination.review_reason[:160] or "the approved result needs a new look",
                tone="bad",
            )
        )
    return Queue(
        key="determinations",
        title="Classifications to approve or review",
        items=items,
        total=pending.count() + review.count(),
        more_url=reverse("governance:classification_list"),
        empty="No classification waits for an approval or a review.",
    )


# How many outdated determinations the home page re-classifies to find the affected ones.
REASSESS_SCAN = 50


def determinations_to_reassess(*, user) -> Queue | None:
    """Current determinations made under an older rules version, the ones whose result the
    current rules change first (None when every determination is on the current rules)."""
    outdated = selectors.determinations_to_reassess(user=user)
    total = outdated.count()
    if not total:
        return None
    affected, unaffected = [], []
    dates = selectors.application_date_map()
    for determination in outdated[:REASSESS_SCAN]:
        reassessment = selectors.rules_reassessment(determination=determination, dates=dates)
        url = reverse("governance:system_classification", args=[determination.system_id])
        if reassessment and reassessment.affected:
            detail = f"rules {determination.rules_version} → {reassessment.to_version}: " + "; ".join(
                reassessment.lines()
            )
            affected.append(
                QueueItem(label=f"{determination.system.name}: re-assess", url=url, detail=detail[:200], tone="warn")
            )
        else:
            unaffected.append(
                QueueItem(
                    label=f"{determination.system.name}: made under rules {determination.rules_version}",
                    url=url,
                    detail="the current rules give the same result; resubmit when convenient",
                )
            )
    return Queue(
        key="reassess",
        title="Classifications to re-assess under the current rules",
        items=(affected + unaffected)[:QUEUE_ITEMS],
        total=total,
        more_url=reverse("governance:classification_list"),
        empty="Every classification was made under the current rules.",
        hint="A new rules version never rewrites an approved result: submit the answers again and approve.",
    )


def evidence_to_review(*, user) -> Queue:
    waiting = (
        Obligation.objects.restrict(user, "obligation.manage")
        .filter(applicable=True, status=ObligationStatus.EVIDENCE_SUBMITTED)
        .select_related("system")
        .order_by("due_date", "id")
    )
    items = [
        QueueItem(
            label=f"{o.system.name}: {o.article} {o.title}",
            url=reverse("governance:obligation_detail", args=[o.pk]),
            detail="evidence submitted: accept it or ask for rework",
        )
        for o in waiting[:QUEUE_ITEMS]
    ]
    return Queue(
        key="evidence",
        title="Evidence to review",
        items=items,
        total=waiting.count(),
        more_url=reverse("governance:obligation_board") + f"?status={ObligationStatus.EVIDENCE_SUBMITTED}",
        empty="No obligation's evidence waits for your review.",
    )


def obligations_due(*, user) -> Queue | None:
    """Open obligations whose plan date passed or comes within the horizon: the organisation's for
    a compliance officer, the user's own for anyone else."""
    today = _today()
    manager = has_permission(user, "obligation.manage")
    open_ = (
        Obligation.objects.restrict(user, "obligation.view")
        .filter(applicable=True, due_date__lte=today + timedelta(days=OBLIGATION_HORIZON_DAYS))
        .exclude(status__in=(ObligationStatus.ACCEPTED, ObligationStatus.EVIDENCE_SUBMITTED))
        .select_related("system", "owner")
        .order_by("due_date", "id")
    )
    if not manager:
        open_ = open_.filter(owner=user)
        if not open_.exists():
            return None
    items = []
    for o in open_[:QUEUE_ITEMS]:
        when, tone = due_words(o.due_date, today)
        owner = "you" if o.owner_id == user.pk else (o.owner.display_name if o.owner else "no owner yet")
        items.append(
            QueueItem(
                label=f"{o.system.name}: {o.article} {o.title}",
                url=reverse("governance:obligation_detail", args=[o.pk]),
                detail=f"{o.get_status_display().lower()} · {when} · owner: {owner}",
                tone=tone,
            )
        )
    more = reverse("governance:obligation_board")
    return Queue(
        key="obligations",
        title="Obligations due" if manager else "Your obligations due",
        items=items,
        total=open_.count(),
        more_url=more if manager else f"{more}?owner={user.pk}",
        empty=f"No obligation falls due in the next {OBLIGATION_HORIZON_DAYS} days.",
        hint="By plan date; the legal date an obligation applies from is on its page.",
    )


def risks_to_review(*, user) -> Queue | None:
    """Active risks whose review date passed or comes within the horizon: the register's for a
    risk manager, the user's own for anyone else (None when they own none)."""
    today = _today()
    manager = has_permission(user, "risk.manage")
    due = (
        Risk.objects.restrict(user, "risk.view")
        .filter(status__in=ACTIVE_STATUSES)
        .filter(Q(next_review_date__lte=today + timedelta(days=RISK_REVIEW_HORIZON_DAYS)))
        .select_related("owner")
        .order_by("next_review_date", "id")
    )
    if not manager:
        due = due.filter(owner=user)
        if not due.exists():
            return None
    items = []
    for risk in due[:QUEUE_ITEMS]:
        when, tone = due_words(risk.next_review_date, today)
        items.append(
            QueueItem(
                label=f"{risk.reference} {risk.title}",
                url=reverse("governance:risk_detail", args=[risk.pk]),
                detail=f"review {when} · owner: {'you' if risk.owner_id == user.pk else risk.owner.display_name}",
                tone=tone,
            )
        )
    return Queue(
        key="risks",
        title="Risks to review" if manager else "Your risks to review",
        items=items,
        total=due.count(),
        more_url=reverse("governance:risk_list") + ("?overdue=true" if manager else f"?owner={user.pk}"),
        empty=f"No risk is due for review in the next {RISK_REVIEW_HORIZON_DAYS} days.",
    )


def register() -> None:
    from core import home

    home.register_queue("determinations", "classification.approve", determinations_to_approve)
    home.register_queue("reassess", "classification.approve", determinations_to_reassess)
    home.register_queue("evidence", "obligation.manage", evidence_to_review)
    home.register_queue("obligations", "obligation.view", obligations_due)
    home.register_queue("risks", "risk.view", risks_to_review)
