"""Report pages and downloads: thin adapters over audits.reports.{report,annex_iv,system_trail}."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from audits.reports import annex_iv, jobs, report
from audits.reports.annex_iv_docx import annex_iv_docx as annex_iv_docx_bytes
from audits.reports.editing import annex_iv_edit_rows
from audits.reports.forms import annex_iv_edits_from_post
from audits.reports.services import annex_iv_document_save
from audits.reports.system_trail import system_trail_jsonl
from audits.services import audit_trail_export_record
from core.errors import Conflict, ValidationFailed
from core.permissions import get_for_user, has_permission, require_permission
from models_registry.selectors import system_get

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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
@require_http_methods(["POST"])
def submission_report_job_request(request, pk: int):
    """The report link: ask a worker for the PDF (or reuse the one already made) and show its progress."""
    require_permission(request, "submission.view")
    submission = report.submission_report_get(user=request.user, pk=pk)
    job = jobs.report_job_request(actor=request.user, submission=submission)
    return redirect("reports:report_job", pk=job.pk)


def _job_get(request, pk: int):
    require_permission(request, "submission.view")
    return get_for_user(
        jobs.ReportJob.objects.select_related("submission__system"), request.user, "submission.view", pk=pk
    )


def _job_state(job) -> dict:
    ready = job.status == jobs.ReportJob.DONE and jobs.report_job_file(job) is not None
    return {
        "status": job.status,
        "status_text": job.get_status_display(),
        "progress": job.progress,
        "stage": job.stage,
        "error": job.error_message,
        "download_url": reverse("reports:report_job_download", args=[job.pk]) if ready else None,
        "retry_url": reverse("reports:submission_report_job_request", args=[job.submission_id]),
    }


@login_required
@require_GET
def report_job(request, pk: int):
    """The PDF's progress; static/js/report-job.js polls the status endpoint, a reload does without JS."""
    job = _job_get(request, pk)
    context = {
        "job": job,
        "state": _job_state(job),
        "submission": job.submission,
        "status_url": reverse("reports:report_job_status", args=[job.pk]),
        "submission_url": _url("certification:submission_detail", job.submission_id),
    }
    return render(request, "audits/reports/report_job.html", context)


@login_required
@require_GET
def report_job_status(request, pk: int):
    return JsonResponse(_job_state(_job_get(request, pk)))


@login_required
@require_GET
def report_job_download(request, pk: int):
    job = _job_get(request, pk)
    path = jobs.report_job_file(job)
    if path is None:
        raise Http404("This report is not ready, or a newer one replaced it; request it again.")
    filename = f"report-{job.submission.reference}-{_slug(job.submission.system.name)}.pdf"
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf")


@login_required
@require_GET
def annex_iv_html(request, pk: int):
    require_permission(request, "system.view")
    system = system_get(user=request.user, pk=pk)
    links = {
        "Download PDF": reverse("reports:annex_iv_pdf", args=[pk]),
        "Download Word (DOCX)": reverse("reports:annex_iv_docx", args=[pk]),
        "Open in the portal": reverse("reports:annex_iv_edit", args=[pk]),
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
def annex_iv_docx(request, pk: int):
    require_permission(request, "system.view")
    system = system_get(user=request.user, pk=pk)
    response = HttpResponse(annex_iv_docx_bytes(system=system), content_type=DOCX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="annex-iv-draft-{_slug(system.name)}.docx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def annex_iv_edit(request, pk: int):
    """The Annex IV document in the portal: what the record fills, and per point the text a person
    adds. Members who may edit (ML engineers, compliance officers) get text areas; others read."""
    require_permission(request, "system.view")
    system = system_get(user=request.user, pk=pk)  # another organisation's system: 404 first
    if request.method == "GET":
        return _annex_iv_edit_page(request, system)
    require_permission(request, "documentation.edit")
    try:
        saved = annex_iv_document_save(actor=request.user, system=system, edits=annex_iv_edits_from_post(request.POST))
    except (ValidationFailed, Conflict) as exc:
        return _annex_iv_edit_page(request, system, error=exc)
    if saved:
        messages.success(request, f"Saved point{'s' if len(saved) > 1 else ''} {', '.join(saved)}.")
    else:
        messages.info(request, "Nothing was changed.")
    return redirect("reports:annex_iv_edit", pk=system.pk)


def _annex_iv_edit_page(request, system, error: ValidationFailed | Conflict | None = None):
    """The page; after a refused save, with the editor's text kept (400 or 409)."""
    document = annex_iv.annex_iv_build(system=system)
    conflict_points = error.extra.get("points", []) if isinstance(error, Conflict) else []
    context = {
        "doc": document,
        "system": system,
        "rows": annex_iv_edit_rows(document=document, posted=request.POST if error else None, conflict=conflict_points),
        "can_edit": has_permission(request.user, "documentation.edit"),
        "error": error,
        "system_url": _url("registry:system_detail", system.pk),
    }
    return render(request, "audits/reports/annex_iv_edit.html", context, status=error.status_code if error else 200)


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
