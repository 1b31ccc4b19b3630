from core.models import AuditEvent
from core.permissions import has_permission


def audit_event_list(*, user, object_type: str = "", object_id: str = ""):
    """The events of the user's organisation, or none if their role may not read the trail."""
    if not has_permission(user, "audit.view"):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(organisation_id=user.organisation_id)
    if object_type:
        events = events.filter(object_type=object_type, object_id=str(object_id))
    return events


AUDIT_PAGE_SIZE = 50


def audit_event_page(*, user, events, before: int | None = None, after: int | None = None, size: int | None = None):
    """One page of the trail page, newest first, by keyset on the chain's sequence number (see
    core.keyset): `events` is `audit_event_list(user=...)` with the page's filters applied. Only the
    user's own chain is read (its `(chain, seq)` index serves every page at any depth)."""
    from core.keyset import keyset_page
    from core.trail import chain_for

    mine = events.filter(chain=chain_for(user.organisation_id))
    return keyset_page(mine, key="seq", size=size or AUDIT_PAGE_SIZE, before=before, after=after)


def audit_verb_choices(*, user) -> list[str]:
    return _distinct_values(user=user, column="verb")


def audit_object_type_choices(*, user) -> list[str]:
    return [value for value in _distinct_values(user=user, column="object_type") if value]


def _distinct_values(*, user, column: str) -> list[str]:
    """The distinct values of an indexed column in the user's events, sorted, by a loose index scan
    (one index probe per distinct value, through `audit_event_org_<column>_idx` of audits migration
    0013) instead of a DISTINCT over every event: the filter's choices cost the same with a million
    events as with ten."""
    from django.db import connection

    if not has_permission(user, "audit.view"):
        return []
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    name = connection.ops.quote_name(column)
    sql = f"""
        WITH RECURSIVE found(value) AS (
            SELECT MIN({name}) FROM {table} WHERE organisation_id = %s
            UNION ALL
            SELECT (SELECT MIN({name}) FROM {table} WHERE organisation_id = %s AND {name} > found.value)
            FROM found WHERE found.value IS NOT NULL
        )
        SELECT value FROM found WHERE value IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.organisation_id, user.organisation_id])
        return [row[0] for row in cursor.fetchall()]


# --- validation runs and findings ----------------------------------------------------------------


def validation_run_list(*, user):
    """Runs of the user's organisation with what list pages show, in a fixed number of queries."""
    from django.db.models import Count, Q

    from audits.models import ValidationRun

    return (
        ValidationRun.objects.restrict(user, "validation.view")
        .select_related("system", "model_version", "test_dataset", "train_dataset", "requested_by")
        .annotate(
            # The current findings: those a newer run superseded are counted apart.
            finding_count=Count("findings", filter=~Q(findings__status="superseded"), distinct=True),
            critical_count=Count(
                "findings", filter=Q(findings__severity="critical") & ~Q(findings__status="superseded"), distinct=True
            ),
            superseded_count=Count("findings", filter=Q(findings__status="superseded"), distinct=True),
        )
        .order_by("-created_at", "-id")
    )


def validation_run_get(*, user, pk):
    from audits.models import ValidationRun
    from core.permissions import get_for_user

    runs = ValidationRun.objects.select_related(
        "system", "model_version__artifact", "test_dataset__artifact", "train_dataset__artifact", "requested_by"
    )
    return get_for_user(runs, user, "validation.view", pk=pk)


def validation_result_counts(*, run) -> dict[str, int]:
    from django.db.models import Count

    return dict(run.results.values_list("status").annotate(n=Count("id")).order_by())


def validation_finding_counts(*, run) -> dict[str, int]:
    """The run's current findings by severity (not those a newer run superseded)."""
    from django.db.models import Count

    current = run.findings.exclude(status="superseded")
    return dict(current.values_list("severity").annotate(n=Count("id")).order_by())


def validation_supersession(*, run) -> dict:
    """What the run page says about superseded findings: how many of this run's findings newer
    runs closed, by run (`by`: [(run id, count)]), and how many of older runs' this run closed."""
    from django.db.models import Count

    from audits.models import Finding

    by = list(
        run.findings.filter(status="superseded")
        .values_list("superseded_by_id")
        .annotate(n=Count("id"))
        .order_by("superseded_by_id")
    )
    return {
        "by": by,
        "count": sum(n for _, n in by),
        "closed_by_this_run": Finding.objects.filter(superseded_by=run).count(),
    }


def validation_results_by_family(*, run) -> list[dict]:
    """The run's results grouped by check family, in the catalogue's order; charts are left out
    (the page fetches them when a chart is opened)."""
    from audits.choices import CheckFamily

    records = list(run.results.defer("charts").order_by("check_id"))
    order = {value: i for i, value in enumerate(CheckFamily.values)}
    labels = dict(CheckFamily.choices)
    groups: dict[str, list] = {}
    for record in records:
        groups.setdefault(record.family, []).append(record)
    chart_counts = validation_chart_counts(run=run)
    for record in records:
        record.chart_count = chart_counts.get(record.check_id, 0)
    return [
        {
            "family": family,
            "label": labels.get(family, family.replace("_", " ").title()),
            "results": items,
            "counts": _status_counts(items),
        }
        for family, items in sorted(groups.items(), key=lambda kv: order.get(kv[0], 99))
    ]


def _status_counts(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return counts


def validation_chart_counts(*, run) -> dict[str, int]:
    """How many charts each check has, counted by the database so the figures stay unloaded."""
    from django.db import connection
    from django.db.models import Func, IntegerField

    from audits.models import CheckResultRecord

    function = "JSONB_ARRAY_LENGTH" if connection.vendor == "postgresql" else "JSON_ARRAY_LENGTH"
    rows = (
        CheckResultRecord.objects.filter(run=run)
        .annotate(n=Func("charts", function=function, output_field=IntegerField()))
        .values_list("check_id", "n")
    )
    return {check_id: n or 0 for check_id, n in rows}


def finding_list(*, user):
    from django.db.models import Case, IntegerField, Value, When

    from audits.choices import SEVERITY_RANK
    from audits.models import Finding

    # Most severe first, then newest: the order a reviewer works through them.
    rank = Case(
        *[When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()],
        default=Value(9),
        output_field=IntegerField(),
    )
    return (
        Finding.objects.restrict(user, "finding.view")
        .select_related("system", "model_version", "run")
        .annotate(severity_rank=rank)
        .order_by("severity_rank", "-created_at", "check_id")
    )


def finding_article_choices(*, user) -> list[str]:
    return list(
        finding_list(user=user)
        .exclude(eu_ai_act_article="")
        .order_by("eu_ai_act_article")
        .values_list("eu_ai_act_article", flat=True)
        .distinct()
    )


def validation_home_stats(*, user) -> dict:
    """Numbers for the home page: active runs, runs in the last 30 days, open findings."""
    from datetime import timedelta

    from django.utils import timezone

    from audits.models import Finding, ValidationRun

    runs = ValidationRun.objects.restrict(user, "validation.view")
    findings = Finding.objects.restrict(user, "finding.view").filter(status="open")
    return {
        "validations_active": runs.filter(status__in=("queued", "running")).count(),
        "validations_last_30_days": runs.filter(created_at__gte=timezone.now() - timedelta(days=30)).count(),
        "findings_open": findings.count(),
        "findings_open_critical": findings.filter(severity="critical").count(),
    }


def validation_policy_key_groups() -> list[tuple[str, list[tuple[str, object]]]]:
    """Every policy key an organisation may lock, by section, with its default:
    [("fairness", [("fairness.dp_ratio_min", 0.8), ...]), ...] in the policy's own order."""
    from audits.checks.policy import Policy  # lazy: the checks package pulls in sklearn

    return [
        (section, [(f"{section}.{name}", default) for name, default in values.items()])
        for section, values in Policy().to_dict().items()
        if isinstance(values, dict)
    ]


SUITE_RANKS = {"quick": 0, "standard": 1, "full": 2}


def validation_required_suite(*, system) -> dict:
    """The suite a submission of this system needs (from its approved risk tier), and why, in words.

    `known` is False before the classification is approved: the risk tier, and so the suite, is open.
    """
    from audits.validation.services import SUITE_BY_RISK_TIER

    tier = system.risk_tier
    if tier == "unclassified":
        return {"known": False, "suite": "", "label": "", "rank": None, "reason": ""}
    suite = SUITE_BY_RISK_TIER.get(tier, "standard")
    label = str(suite)
    reasons = {
        "high": "High-risk systems (Annex I or III) need the full suite before submission for certification.",
        "prohibited": "A prohibited practice cannot be certified; the full suite still documents it.",
    }
    reason = reasons.get(
        tier,
        f"{system.get_risk_tier_display()} systems need at least the standard suite before submission "
        "for certification.",
    )
    return {"known": True, "suite": suite, "label": label, "rank": SUITE_RANKS[suite], "reason": reason}


def validation_suite_is_lighter(*, required: dict, chosen: str) -> bool:
    """True when `chosen` (blank: the tier's default, which is the required one) cannot certify."""
    if not required["known"] or not chosen:
        return False
    return SUITE_RANKS.get(chosen, 0) < required["rank"]
