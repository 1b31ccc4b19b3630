"""The organisation's compliance dashboard: inventory by risk tier and lifecycle stage,
obligations by status and the nearest application dates, open findings by severity, risks above
the appetite. It lives in audits because it reads every app (audits depends on all of them).

Every number is a database aggregate (GROUP BY), so the page costs the same ten-odd queries with
ten systems or ten thousand, and each number links to the list behind it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audits.choices import FindingStatus, Severity
from audits.models import Finding
from core.permissions import has_permission
from governance.choices import ObligationStatus
from governance.models import Obligation
from governance.risks import selectors as risk_selectors
from models_registry.choices import LifecycleStage, RiskTier
from models_registry.models import AISystem

OPEN_FINDING_LIST_SIZE = 10


def _url(name: str, **params) -> str:
    return reverse(name) + ("?" + urlencode(params) if params else "")


def _systems_section(user) -> dict | None:
    if not has_permission(user, "system.view"):
        return None
    counts = {
        (tier, stage): n
        for tier, stage, n in AISystem.objects.restrict(user, "system.view")
        .order_by()
        .values_list("risk_tier", "lifecycle_stage")
        .annotate(n=Count("id"))
    }
    rows = []
    for tier, tier_label in RiskTier.choices:
        cells = [
            {"n": counts.get((tier, stage), 0), "url": _url("registry:system_list", risk_tier=tier, stage=stage)}
            for stage in LifecycleStage.values
        ]
        rows.append(
            {
                "tier": tier,
                "label": tier_label,
                "cells": cells,
                "total": sum(c["n"] for c in cells),
                "url": _url("registry:system_list", risk_tier=tier),
            }
        )
    stage_totals = [
        {"n": sum(counts.get((t, stage), 0) for t in RiskTier.values), "url": _url("registry:system_list", stage=stage)}
        for stage in LifecycleStage.values
    ]
    return {
        "stages": LifecycleStage.choices,
        "rows": rows,
        "stage_totals": stage_totals,
        "total": sum(counts.values()),
        "url": _url("registry:system_list"),
    }


def _obligations_section(user) -> dict | None:
    if not has_permission(user, "obligation.view"):
        return None
    today = timezone.localdate()
    obligations = Obligation.objects.restrict(user, "obligation.view").filter(applicable=True)
    by_status = dict(obligations.order_by().values_list("status").annotate(n=Count("id")))
    overdue = obligations.filter(due_date__lt=today).exclude(status=ObligationStatus.ACCEPTED).count()
    upcoming = (
        obligations.filter(applies_from__gte=today)
        .order_by()
        .values("applies_from")
        .annotate(n=Count("id"))
        .order_by("applies_from")[:3]
    )
    return {
        "by_status": [
            {
                "status": s,
                "label": label,
                "n": by_status.get(s, 0),
                "url": _url("governance:obligation_board", status=s),
            }
            for s, label in ObligationStatus.choices
        ],
        "total": sum(by_status.values()),
        "url": _url("governance:obligation_board"),
        "overdue": overdue,
        "overdue_url": _url("governance:obligation_board", overdue="true"),
        "upcoming": [
            {
                "date": row["applies_from"],
                "n": row["n"],
                "days": (row["applies_from"] - today).days,
                "url": _url("governance:obligation_board", applies_before=row["applies_from"].isoformat()),
            }
            for row in upcoming
        ],
    }


def _findings_section(user) -> dict | None:
    if not has_permission(user, "finding.view"):
        return None
    from audits.selectors import finding_list

    open_findings = Finding.objects.restrict(user, "finding.view").filter(status=FindingStatus.OPEN)
    by_severity = dict(open_findings.order_by().values_list("severity").annotate(n=Count("id")))
    top = list(finding_list(user=user).filter(status=FindingStatus.OPEN)[:OPEN_FINDING_LIST_SIZE])
    return {
        "by_severity": [
            {
                "severity": s,
                "label": label,
                "n": by_severity.get(s, 0),
                "url": _url("audits:finding_list", severity=s, status=FindingStatus.OPEN),
            }
            for s, label in Severity.choices
        ],
        "total": sum(by_severity.values()),
        "url": _url("audits:finding_list", status=FindingStatus.OPEN),
        "top": top,
        "raised": risk_selectors.risks_from_sources(
            user=user, source_type="audits.finding", source_ids=[f.pk for f in top]
        )
        if top
        else {},
    }


def _risks_section(user) -> dict | None:
    if not has_permission(user, "risk.view"):
        return None
    settings = risk_selectors.risk_settings_get(organisation_id=user.organisation_id)
    risks = risk_selectors.risk_queryset(user=user, appetite=settings.appetite)
    summary = risk_selectors.risk_summary(risks, appetite=settings.appetite)
    return {
        **summary,
        "appetite": settings.appetite,
        "url": _url("governance:risk_list", status="active"),
        "above_appetite_url": _url("governance:risk_list", above_appetite="true"),
        "overdue_url": _url("governance:risk_list", overdue="true"),
    }


EXPIRING_WITHIN_DAYS = 60


def _certificates_section(user) -> dict | None:
    if not has_permission(user, "submission.view"):
        return None
    from datetime import timedelta

    from audits.certification.choices import CertificateStatus
    from audits.certification.models import Certificate

    today = timezone.localdate()
    certificates = Certificate.objects.restrict(user, "submission.view")
    live = certificates.filter(status=CertificateStatus.VALID, valid_until__gte=today)
    return {
        "valid": live.count(),
        "valid_url": _url("certification:submission_list", certificate="valid"),
        "expiring": live.filter(valid_until__lte=today + timedelta(days=EXPIRING_WITHIN_DAYS)).count(),
        "expiring_url": _url("certification:submission_list", certificate="expiring"),
        "expiring_days": EXPIRING_WITHIN_DAYS,
        "suspended": certificates.filter(status=CertificateStatus.SUSPENDED).count(),
        "suspended_url": _url("certification:submission_list", certificate="suspended"),
    }


def compliance_dashboard(*, user) -> dict:
    """Every section the user may see; a section they may not see is None."""
    return {
        "systems": _systems_section(user),
        "obligations": _obligations_section(user),
        "findings": _findings_section(user),
        "risks": _risks_section(user),
        "certificates": _certificates_section(user),
    }


@login_required
@require_GET
def dashboard_view(request):
    from django.core.exceptions import PermissionDenied

    if not has_permission(request.user, "home.view"):
        raise PermissionDenied("Your role does not allow home.view.")
    data = compliance_dashboard(user=request.user)
    raised = data["findings"]["raised"] if data["findings"] else {}
    return render(
        request, "audits/dashboard.html", {"d": data, "raised_risks_by_source": raised, "today": timezone.localdate()}
    )
