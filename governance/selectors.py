"""Permission-filtered reads for classification and obligations."""

from __future__ import annotations

from datetime import date

from django.db.models import Case, Count, Max, Q, Value, When
from django.utils import timezone

from core.models import User
from core.permissions import has_permission
from governance.choices import CURRENT_STATUSES, DeterminationStatus, ObligationStatus, OutcomeChoice
from governance.models import ApplicationDate, ClassificationDraft, Determination, Obligation, ObligationSettings
from governance.rules.changes import Reassessment, reassess
from governance.rules.dates import DEFAULT_PLAN_LEAD_DAYS
from governance.rules.obligations import check_families_of, evidence_kind_label
from governance.rules.version import RULES_VERSION
from models_registry.choices import RiskTier
from models_registry.models import AISystem, ModelVersion


def _today() -> date:
    return timezone.localdate()


def classification_system_list(*, user: User) -> list[AISystem]:
    """The organisation's systems, each with `.current`, `.pending` and `.has_draft` attached
    (three queries in all, whatever the number of systems)."""
    systems = list(AISystem.objects.restrict(user, "classification.view").order_by("name"))
    ids = [system.pk for system in systems]
    active = (
        Determination.objects.filter(system_id__in=ids)
        .filter(status__in=[*CURRENT_STATUSES, DeterminationStatus.SUBMITTED])
        .select_related("submitted_by", "approved_by")
    )
    by_system: dict[int, dict[str, Determination]] = {}
    for determination in active:
        slot = "pending" if determination.status == DeterminationStatus.SUBMITTED else "current"
        by_system.setdefault(determination.system_id, {})[slot] = determination
    drafts = set(ClassificationDraft.objects.filter(system_id__in=ids).values_list("system_id", flat=True))
    for system in systems:
        system.current = by_system.get(system.pk, {}).get("current")
        system.pending = by_system.get(system.pk, {}).get("pending")
        system.has_draft = system.pk in drafts
    return systems


def determination_list(*, user: User, system: AISystem | None = None):
    queryset = Determination.objects.restrict(user, "classification.view").select_related(
        "organisation", "system", "answered_by", "submitted_by", "approved_by"
    )
    if system is not None:
        queryset = queryset.filter(system=system)
    return queryset.order_by("system__name", "-number")


HIGH_RISK_OUTCOMES = frozenset(
    {OutcomeChoice.PROHIBITED, OutcomeChoice.HIGH_RISK_ANNEX_I, OutcomeChoice.HIGH_RISK_ANNEX_III}
)
HIGH_RISK_TIERS = frozenset({RiskTier.HIGH, RiskTier.PROHIBITED})


def four_eyes_required(*, determination: Determination, outcome: str = "", risk_tier: str = "") -> bool:
    """Whether the organisation's four-eyes setting applies to approving this determination: the
    setting is on and the questionnaire's result, or the `outcome`/`risk_tier` an override would
    approve, is high-risk or prohibited (overriding a high-risk result down needs four eyes too)."""
    if not determination.organisation.four_eyes_high_risk:
        return False
    outcomes = {determination.outcome, outcome}
    tiers = {determination.risk_tier, risk_tier}
    return bool(outcomes & HIGH_RISK_OUTCOMES or tiers & HIGH_RISK_TIERS)


def determination_four_eyes(*, determination: Determination, user: User) -> dict:
    """What the approval card says beforehand: whether another person must approve (`required`),
    whether that excludes this user (`excluded`) and who answered or submitted it (`answerers`)."""
    required = four_eyes_required(determination=determination)
    answerers = list(User.objects.filter(pk__in=determination.answerer_ids).order_by("last_name", "username"))
    return {
        "enabled": determination.organisation.four_eyes_high_risk,
        "required": required,
        "excluded": required and user.pk in determination.answerer_ids,
        "answerers": answerers,
    }


def current_determination(*, system: AISystem) -> Determination | None:
    return Determination.objects.filter(system=system, status__in=CURRENT_STATUSES).first()


def pending_determination(*, system: AISystem) -> Determination | None:
    return Determination.objects.filter(system=system, status=DeterminationStatus.SUBMITTED).first()


def classification_draft(*, system: AISystem) -> ClassificationDraft | None:
    return ClassificationDraft.objects.filter(system=system).select_related("updated_by").first()


def obligation_list(*, user: User, include_not_applicable: bool = False):
    """Obligations with what the board needs, in one query: system, owner, the newest evidence
    date and an `is_overdue` flag."""
    today = _today()
    queryset = (
        Obligation.objects.restrict(user, "obligation.view")
        .select_related("system", "owner", "determination")
        .annotate(
            newest_evidence=Max("evidence__dated_at"),
            evidence_count=Count("evidence"),
            is_overdue=Case(
                When(
                    Q(due_date__lt=today) & ~Q(status=ObligationStatus.ACCEPTED) & Q(applicable=True), then=Value(True)
                ),
                default=Value(False),
            ),
        )
    )
    if not include_not_applicable:
        queryset = queryset.filter(applicable=True)
    return queryset.order_by("applies_from", "system__name", "position", "id")


def obligation_board_rows(obligations) -> list[Obligation]:
    """Attach days remaining and staleness for display. Read-only: only the periodic sweep
    changes a status because of stale evidence."""
    today = _today()
    now = timezone.now()
    rows = list(obligations)
    for obligation in rows:
        obligation.days_until_applies = (obligation.applies_from - today).days
        obligation.applies_already = obligation.days_until_applies <= 0
        obligation.days_until_due = (obligation.due_date - today).days if obligation.due_date else None
        newest = getattr(obligation, "newest_evidence", None)
        obligation.evidence_is_stale = bool(newest and (now - newest).days > obligation.evidence_max_age_days)
    return rows


def obligation_summary(obligations) -> dict:
    """Counts over a (filtered) obligations queryset for the board's header."""
    today = _today()
    return obligations.aggregate(
        total=Count("id"),
        overdue=Count("id", filter=Q(is_overdue=True)),
        accepted=Count("id", filter=Q(status=ObligationStatus.ACCEPTED)),
        needs_rework=Count("id", filter=Q(status=ObligationStatus.NEEDS_REWORK)),
        not_yet_applicable=Count("id", filter=Q(applies_from__gt=today)),
    )


def next_application_dates(obligations) -> list[dict]:
    """Upcoming application dates with how many obligations start then and days remaining."""
    today = _today()
    rows = (
        obligations.filter(applies_from__gte=today)
        .order_by()
        .values("applies_from")
        .annotate(n=Count("id"))
        .order_by("applies_from")
    )
    return [
        {"date": row["applies_from"], "count": row["n"], "days": (row["applies_from"] - today).days} for row in rows
    ]


def obligation_owner_choices(*, user: User):
    return User.objects.filter(organisation_id=user.organisation_id, is_active=True).order_by("username")


def model_version_choices(*, user: User, system: AISystem):
    return ModelVersion.objects.restrict(user, "system.view").filter(system=system).order_by("-created_at")


def classification_home_stats(user: User) -> dict:
    """Numbers for the home page: systems by risk tier, determinations awaiting approval or
    needing review, obligations overdue and the next ones due. Empty when the user may not see
    classifications."""
    if not has_permission(user, "classification.view"):
        return {}
    systems = AISystem.objects.restrict(user, "classification.view")
    by_tier = dict(systems.order_by().values_list("risk_tier").annotate(n=Count("id")))
    determinations = Determination.objects.restrict(user, "classification.view")
    stats = {
        "systems_by_risk_tier": [(value, label, by_tier.get(value, 0)) for value, label in RiskTier.choices],
        "systems_total": sum(by_tier.values()),
        "awaiting_approval": determinations.filter(status=DeterminationStatus.SUBMITTED).count(),
        "needs_review": determinations.filter(status=DeterminationStatus.NEEDS_REVIEW).count(),
    }
    if has_permission(user, "obligation.view"):
        obligations = obligation_list(user=user)
        open_ = obligations.exclude(status=ObligationStatus.ACCEPTED)
        stats["obligations_open"] = open_.count()
        stats["obligations_overdue"] = obligations.filter(is_overdue=True).count()
        stats["obligations_next_due"] = list(open_.filter(due_date__gte=_today()).order_by("due_date", "id")[:5])
        stats["obligations_mine"] = open_.filter(owner=user).count()
    return stats


def obligation_plan_lead_days(organisation_id: int) -> int:
    """The organisation's plan lead time in days (the rules' default until someone sets one)."""
    row = ObligationSettings.objects.filter(organisation_id=organisation_id).values_list("plan_lead_days").first()
    return row[0] if row else DEFAULT_PLAN_LEAD_DAYS


def obligation_check_families(obligation: Obligation) -> tuple[str, ...]:
    """The validation check families the obligation is about (from its suggested evidence)."""
    return check_families_of([hint.get("kind", "") for hint in obligation.evidence_hints or []])


def run_failure_warning(*, obligation: Obligation, run: dict) -> str:
    """In words, why a validation run is weak evidence for this obligation: failed checks of the
    families the obligation is about (any failed check when it names none). "" when none failed.

    ``run``: an evidence snapshot (``validation_summary``) or an evidence-source run dict."""
    families = obligation_check_families(obligation)
    failed = [c for c in run.get("failed_checks") or [] if not families or c.get("family") in families]
    run_id = run.get("run") or run.get("id")
    about = " about " + ", ".join(f.replace("_", " ") for f in families) if families else ""
    if failed:
        names = "; ".join(f"{c.get('check_id', '')} {c.get('name', '')}".strip() for c in failed)
        return f"Validation run #{run_id} failed {len(failed)} check(s){about}: {names}."
    if "failed_checks" in run:
        return ""
    # A snapshot from before failed checks were kept: only the counts are known.
    by_family = run.get("families") or {}
    if families and by_family:
        n = sum(by_family.get(f, {}).get("fail", 0) for f in families)
    elif families and run.get("family") in families:
        n = (run.get("family_counts") or {}).get("fail", 0)
    else:
        n = (run.get("counts") or {}).get("fail", 0)
    return f"Validation run #{run_id} failed {n} check(s){about}." if n else ""


def evidence_hint_rows(obligation: Obligation) -> list[dict]:
    """The catalogue's suggested evidence, with the kind in words."""
    return [{**hint, "label": evidence_kind_label(hint.get("kind", ""))} for hint in obligation.evidence_hints or []]


def application_date_map() -> dict[str, date]:
    """The application dates in force: the admin-edited table over the rules module's defaults."""
    return dict(ApplicationDate.objects.values_list("key", "applies_from"))


def rules_reassessment(*, determination: Determination, dates: dict[str, date] | None = None) -> Reassessment | None:
    """What the current rules would change for a determination made under an older version
    (None when it was made under the current one). Read-only: nothing stored is rewritten; a new
    submission, approved by a person, replaces it. Only the current determination owns the
    system's obligations, so only its obligations and their dates are compared. ``dates``: the
    application dates, when the caller already has them (a list re-assesses many)."""
    if determination.rules_version == RULES_VERSION:
        return None
    stored_obligations = None
    if determination.status in CURRENT_STATUSES:
        stored_obligations = dict(
            determination.system.obligations.filter(applicable=True).values_list("code", "applies_from")
        )
    if dates is None:
        dates = application_date_map()
    return reassess(determination.answers, determination.result, stored_obligations=stored_obligations, dates=dates)


def determinations_to_reassess(*, user: User):
    """Current determinations of the user's organisation made under an older rules version."""
    return (
        Determination.objects.restrict(user, "classification.view")
        .filter(status__in=CURRENT_STATUSES)
        .exclude(rules_version=RULES_VERSION)
        .select_related("system")
        .order_by("created_at", "id")
    )
