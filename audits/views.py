from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audits.filtersets import AuditEventFilterSet
from audits.selectors import audit_event_list, audit_event_page, audit_object_type_choices, audit_verb_choices
from audits.services import audit_trail_export_record, export_csv, export_jsonl
from core.keyset import cursor_value
from core.permissions import require_permission
from core.trail import chain_for

# Where the trail page is in the list: not a filter, so an export from any page is the same file.
PAGE_CURSORS = ("page", "before", "after")


@login_required
@require_GET
def event_list(request):
    require_permission(request, "audit.view")
    filterset = AuditEventFilterSet(request.GET, queryset=audit_event_list(user=request.user))
    page = audit_event_page(
        user=request.user,
        events=filterset.qs,
        before=cursor_value(request.GET, "before"),
        after=cursor_value(request.GET, "after"),
    )
    query = request.GET.copy()
    for cursor in ("page", "before", "after"):
        query.pop(cursor, None)
    context = {
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        "verbs": audit_verb_choices(user=request.user),
        "object_types": audit_object_type_choices(user=request.user),
    }
    template = "audits/_event_table.html" if request.htmx else "audits/event_list.html"
    return render(request, template, context)


@login_required
@require_GET
def object_trail(request):
    """The trail of one object, included on that object's page (loaded with htmx, or on its own)."""
    require_permission(request, "audit.view")
    events = audit_event_list(
        user=request.user, object_type=request.GET.get("object_type", ""), object_id=request.GET.get("object_id", "")
    )
    if not request.GET.get("object_type"):
        events = events.none()
    return render(request, "audits/_object_trail.html", {"events": events[:100]})


@login_required
@require_GET
def event_export(request, fmt: str):
    require_permission(request, "audit.export")
    filterset = AuditEventFilterSet(request.GET, queryset=audit_event_list(user=request.user))
    filtered = any(v for k, v in request.GET.items() if k not in PAGE_CURSORS)
    audit_trail_export_record(
        actor=request.user,
        scope=f"org:{request.user.organisation_id}",
        label="audit trail",
        after={"format": fmt, "filters": dict(request.GET.items())},
    )
    queryset = filterset.qs
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    options = {
        "complete": not filtered,
        "chain": chain_for(request.user.organisation_id),
        "actor": request.user,
        "scope": "filtered" if filtered else "organisation",
        "filters": {k: v for k, v in request.GET.items() if k not in PAGE_CURSORS},
    }
    if fmt == "jsonl":
        body, content_type = export_jsonl(queryset, **options), "application/x-ndjson"
    else:
        body, content_type = export_csv(queryset, **options), "text/csv"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.{fmt}"'
    return response


@login_required
@require_POST
def verify_request(request):
    """Start a verification of the organisation's chain on a worker; its result is an event."""
    require_permission(request, "audit.verify")
    from core.enqueue import task_send

    if task_send("audits.audit_trail_verify", args=(request.user.organisation_id,)):
        messages.info(
            request,
            "Verification started on a worker. In a few seconds its result is at the top of this list as an "
            "“audit_trail.verified” event; reload the page to see it.",
        )
    else:  # the broker is down: nothing was handed over, and asking again later is all it takes
        messages.error(
            request,
            "The verification could not be started: the job queue is unreachable. Try again "
            "in a few minutes; the nightly verification also runs on its own.",
        )
    return redirect("audits:event_list")


@require_GET
def checkpoint_public_key(request):
    """The public half of the audit-trail key (checkpoints and export headers), for
    tools/verify_audit_export.py --public-key. Public like the certificate key: it proves nothing
    by itself, so pin it (keep a copy from a trusted moment) rather than fetch it each time."""
    from audits import checkpoints

    key_id = checkpoints.checkpoint_key_id()
    response = HttpResponse(
        f"Key id: {key_id}\n{checkpoints.checkpoint_public_key_pem()}", content_type="text/plain; charset=utf-8"
    )
    response["X-Audit-Trail-Key-Id"] = key_id
    response["Content-Disposition"] = 'inline; filename="audit-trail-public-key.pem"'
    return response
