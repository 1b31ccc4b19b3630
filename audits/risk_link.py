"""Raise a risk from a validation finding in one click. The audits side of the link: it loads the
finding through the org-scoped selector and hands plain data to the governance service, which
keeps the reference on the risk (audits depends on governance, never the other way round)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audits import selectors
from core.errors import Conflict, NotAllowed, PortalError
from core.permissions import get_for_user
from governance.risks.services import risk_create_from_source

FINDING_SOURCE = "audits.finding"
# The register's category for each check family of the validation engine.
CATEGORY_OF_FAMILY = {
    "fairness": "bias",
    "performance": "robustness",
    "robustness": "robustness",
    "edge_cases": "robustness",
    "data_quality": "robustness",
    "drift": "robustness",
    "explainability": "transparency",
    "security": "security",
}


def finding_source_ref(finding) -> dict:
    return {
        "type": FINDING_SOURCE,
        "id": finding.pk,
        "title": f"{finding.check_id}: {finding.title}",
        "url": reverse("audits:finding_list") + f"?run={finding.run_id}",
        "severity": finding.severity,
    }


def _back(request) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("audits:finding_list")


@login_required
@require_POST
def finding_raise_risk(request, pk: int):
    finding = get_for_user(selectors.finding_list(user=request.user), request.user, "finding.view", pk=pk)
    description = "\n\n".join(
        part
        for part in (
            finding.description,
            f"Recommendation: {finding.recommendation}" if finding.recommendation else "",
            f"Raised from finding {finding.check_id} of validation #{finding.run_id} ({finding.get_severity_display()}).",
        )
        if part
    )
    try:
        risk = risk_create_from_source(
            actor=request.user,
            system=finding.system,
            title=finding.title,
            description=description,
            category=CATEGORY_OF_FAMILY.get(finding.category, "robustness"),
            source="validation_finding",
            source_ref=finding_source_ref(finding),
            severity=finding.severity,
        )
    except NotAllowed:
        raise  # core.views_errors answers it with the 403 page, as for every view
    except Conflict as exc:
        messages.info(request, exc.message)
        if "risk" in exc.extra:
            return redirect("governance:risk_detail", pk=exc.extra["risk"])
        return redirect(_back(request))
    except PortalError as exc:
        messages.error(request, exc.message)
        return redirect(_back(request))
    messages.success(
        request,
        f"Risk {risk.reference} raised from the finding, with provisional scores from its severity: assess it now.",
    )
    return redirect("governance:risk_detail", pk=risk.pk)
