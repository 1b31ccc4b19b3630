"""Permission-filtered reads of the risk register: annotated querysets, heatmap counts, the
open-risks trend and the register's summary. Aggregates run in the database, a fixed number of
queries whatever the number of risks."""

from __future__ import annotations

import bisect
from datetime import date, datetime, time, timedelta

from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

from core.models import User
from core.permissions import has_permission
from governance.risks import scoring
from governance.risks.choices import ACTIVE_STATUSES, WORKING_STATUSES, RiskStatus
from governance.risks.models import Control, Risk, RiskRevision, RiskSavedView, RiskSettings, SystemComponent, Threat
from models_registry.models import AISystem


def risk_settings_get(*, organisation_id: int) -> RiskSettings:
    """The organisation's settings, or the defaults (unsaved) when it has none yet."""
    return RiskSettings.objects.filter(organisation_id=organisation_id).first() or RiskSettings(
        organisation_id=organisation_id
    )


def overdue_q(today: date) -> Q:
    """A risk is overdue when its treatment is past its due date or its review is past due."""
    return Q(status__in=WORKING_STATUSES, due_date__lt=today) | Q(
        status__in=ACTIVE_STATUSES, next_review_date__lt=today
    )


def review_overdue_q(today: date) -> Q:
    return Q(status__in=ACTIVE_STATUSES, next_review_date__lt=today)


def above_appetite_q(appetite: int) -> Q:
    return Q(status__in=ACTIVE_STATUSES, current_score__gt=appetite)


def risk_queryset(*, user: User, appetite: int | None = None) -> QuerySet:
    """The user's organisation's risks with `is_overdue`, `review_overdue` and `above_appetite`
    annotations (no joins: fit for aggregation). Empty without `risk.view`."""
    if appetite is None:
        appetite = risk_settings_get(organisation_id=user.organisation_id).appetite if user.is_authenticated else 25
    today = timezone.localdate()
    return Risk.objects.restrict(user, "risk.view").annotate(
        is_overdue=Case(When(overdue_q(today), then=Value(True)), default=Value(False), output_field=BooleanField()),
        review_overdue=Case(
            When(review_overdue_q(today), then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        above_appetite=Case(
            When(above_appetite_q(appetite), then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
    )


def risk_rows(queryset: QuerySet) -> QuerySet:
    """What a register page shows per row, in two queries per page."""
    return queryset.select_related("owner").prefetch_related("systems")


def risk_get(*, user: User, pk: int) -> Risk:
    from core.permissions import get_for_user

    queryset = (
        risk_queryset(user=user)
        .select_related("owner", "accepted_by", "created_by", "threat", "component__system")
        .prefetch_related("systems", "controls__owner", "obligations__system")
    )
    return get_for_user(queryset, user, "risk.view", pk=pk)


def risk_revisions(*, risk: Risk) -> QuerySet:
    return RiskRevision.objects.filter(risk=risk).select_related("actor").order_by("-number")


def risk_heatmap_counts(queryset: QuerySet) -> dict[str, list[list[int]]]:
    """5×5 counts, `[impact-1][likelihood-1]`, of inherent and residual scores (two queries)."""
    grids = {}
    for basis, (l_field, i_field) in {
        "inherent": ("likelihood", "impact"),
        "residual": ("residual_likelihood", "residual_impact"),
    }.items():
        grid = [[0] * 5 for _ in range(5)]
        rows = (
            queryset.filter(**{f"{l_field}__isnull": False})
            .order_by()
            .values_list(l_field, i_field)
            .annotate(n=Count("id"))
        )
        for likelihood, impact, n in rows:
            grid[impact - 1][likelihood - 1] = n
        grids[basis] = grid
    return grids


def risk_open_trend(queryset: QuerySet, *, weeks: int = 26, today: date | None = None) -> list[tuple[date, int]]:
    """Open (not closed) risks at the end of each of the last `weeks` weeks, from when each risk
    was created and closed (one query). A risk closed and re-opened counts as open since creation."""
    today = today or timezone.localdate()
    rows = list(queryset.order_by().values_list("created_at", "closed_at"))
    created = sorted(c for c, _ in rows)
    closed = sorted(c for _, c in rows if c is not None)
    points = []
    for back in range(weeks - 1, -1, -1):
        day = today - timedelta(weeks=back)
        moment = timezone.make_aware(datetime.combine(day, time.max))
        points.append((day, bisect.bisect_right(created, moment) - bisect.bisect_right(closed, moment)))
    return points


def risk_summary(queryset: QuerySet, *, appetite: int) -> dict:
    """The register's header numbers over a (filtered) queryset, in one query. The conditions are
    spelled out (not the annotations): an aggregate cannot filter on an annotation."""
    today = timezone.localdate()
    return queryset.order_by().aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status__in=ACTIVE_STATUSES)),
        above_appetite=Count("id", filter=above_appetite_q(appetite)),
        above_appetite_unaccepted=Count("id", filter=above_appetite_q(appetite) & ~Q(status=RiskStatus.ACCEPTED)),
        overdue=Count("id", filter=overdue_q(today)),
        review_overdue=Count("id", filter=review_overdue_q(today)),
        accepted=Count("id", filter=Q(status=RiskStatus.ACCEPTED)),
    )


def risk_home_stats(*, user: User) -> dict:
    """The home page's risk card: the register's summary numbers and the appetite they use."""
    appetite = risk_settings_get(organisation_id=user.organisation_id).appetite
    return {**risk_summary(risk_queryset(user=user, appetite=appetite), appetite=appetite), "appetite": appetite}


def risks_from_source(*, user: User, source_type: str, source_id) -> QuerySet:
    return (
        Risk.objects.restrict(user, "risk.view")
        .filter(source_type=source_type, source_id=str(source_id))
        .select_related("owner")
        .order_by("-created_at")
    )


def control_list(*, user: User) -> QuerySet:
    return (
        Control.objects.restrict(user, "risk.view")
        .select_related("owner")
        .annotate(risk_count=Count("risks", distinct=True))
        .order_by("name")
    )


def threat_library_list(*, user: User) -> QuerySet:
    if not has_permission(user, "risk.view"):
        return Threat.objects.none()
    return Threat.objects.filter(Q(organisation__isnull=True) | Q(organisation_id=user.organisation_id)).order_by(
        "name"
    )


def saved_views(*, user: User) -> QuerySet:
    return RiskSavedView.objects.filter(user=user).order_by("name")


def owner_choices(*, user: User) -> QuerySet:
    return User.objects.filter(organisation_id=user.organisation_id, is_active=True).order_by("username")


def system_choices(*, user: User) -> QuerySet:
    return AISystem.objects.restrict(user, "risk.view").order_by("name")


def threat_model(*, user: User, system: AISystem) -> tuple[list[dict], list[Risk]]:
    """The system's components, the threats that apply to each and the risks recorded for each
    (component, threat) pair; risks of the system tied to no component come last. Four queries."""
    components = list(
        SystemComponent.objects.filter(system=system).prefetch_related("threats").order_by("kind", "name")
    )
    risks = list(risk_queryset(user=user).filter(systems=system).select_related("owner", "threat", "component"))
    by_pair: dict[tuple, list[Risk]] = {}
    for risk in risks:
        by_pair.setdefault((risk.component_id, risk.threat_id), []).append(risk)
    model = []
    for component in components:
        threats = [
            {"threat": t, "risks": by_pair.pop((component.pk, t.pk), [])}
            for t in sorted(component.threats.all(), key=lambda t: t.name)
        ]
        other = [r for (c, _), rs in list(by_pair.items()) if c == component.pk for r in rs]
        for key in [k for k in by_pair if k[0] == component.pk]:
            by_pair.pop(key)
        model.append({"component": component, "threats": threats, "other_risks": other})
    unplaced = [r for rs in by_pair.values() for r in rs]
    return model, unplaced


def band_list(*, organisation_id: int) -> list[dict]:
    return risk_settings_get(organisation_id=organisation_id).bands or scoring.DEFAULT_BANDS


def risks_from_sources(*, user: User, source_type: str, source_ids) -> dict[tuple[str, str], list[Risk]]:
    """{(source_type, id): [risks]} for many sources in one query (list pages)."""
    result: dict[tuple[str, str], list[Risk]] = {}
    ids = [str(i) for i in source_ids]
    for risk in (
        Risk.objects.restrict(user, "risk.view")
        .filter(source_type=source_type, source_id__in=ids)
        .order_by("-created_at")
    ):
        result.setdefault((source_type, risk.source_id), []).append(risk)
    return result
