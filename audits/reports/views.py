"""Report pages and downloads: thin adapters over audits.reports.{report,annex_iv,system_trail}."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audits.reports import annex_iv, report
from audits.reports.system_trail import system_trail_jsonl
from audits.services import audit_trail_export_record
from core.permissions import require_permission
from models_registry.selectors import system_get


def _url(name: str, *args) -> str | None:
    """A link to another helper's page when it exists (the certification pages are built apart)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "system"


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def submission_report_html(request, pk: int):
    require_permission(request, "submission.view")
    submission = report.submission_report_get(user=request.user, pk=pk)
    links = {
        "Download PDF": reverse("reports:submission_report_pdf", args=[pk]),
        "Annex IV draft": reverse("reports:annex_iv", args=[submission.system_id]),
        "Back to the submission": _url("certification:submission_detail", pk),
    }
    html = report.submission_report_html(submission=submission, links={k: v for k, v in links.items() if v})
    return HttpResponse(html)


@login_required
@require_GET
def submission_report_pdf(request, pk: int):
    require_permission(request, "submission.view")
    submission = report.submission_report_get(user=request.user, pk=pk)
    pdf, cached = report.submission_report_pdf(submission=submission)
    filename = f"report-{submission.reference}-{_slug(submission.system.name)}.pdf"
    response = _pdf_response(pdf, filename)
    response["X-Report-Cache"] = "hit" if cached else "miss"
    return response


@login_required
@require_GET
def annex_iv_html(request, pk: int):
    require_permission(request, "system.view")
    system = system_get(user=request.user, pk=pk)
    links = {
        "Download PDF": reverse("reports:annex_iv_pdf", args=[pk]),
        "Back to the system": _url("registry:system_detail", pk),
    }
    return HttpResponse(annex_iv.annex_iv_html(system=system, links={k: v for k, v in links.items() if v}))


@login_required
@require_GET
def annex_iv_pdf(request, pk: int):
    require_permission(request, "system.view")
    system = system_get(user=request.user, pk=pk)
    return _pdf_response(annex_iv.annex_iv_pdf(system=system), f"annex-iv-draft-{_slug(system.name)}.pdf")


@login_required
@require_GET
def system_trail_export(request, pk: int):
    require_permission(request, "audit.export")
    system = system_get(user=request.user, pk=pk)
    audit_trail_export_record(
        actor=request.user,
        organisation=system.organisation,
        scope=f"system:{system.pk}",
        label=f"audit trail of {system.name}",
        after={"format": "jsonl", "scope": "system", "system": system.pk},
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        system_trail_jsonl(system=system, actor=request.user), content_type="application/x-ndjson"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{_slug(system.name)}-{stamp}.jsonl"'
    return response
