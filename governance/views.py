"""Pages for classification and obligations: thin adapters over selectors and services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import exports
from core.errors import NotAllowed, PortalError
from core.permissions import get_for_user, has_permission, require_permission
from core.views_errors import attempt_on_form, attempt_with_message
from governance import answer_document_services, selectors, services
from governance.choices import ObligationStatus, next_statuses
from governance.evidence_sources import validation_run_choices
from governance.filtersets import ObligationFilterSet
from governance.forms import (
    AnswerDocumentForm,
    ApproveForm,
    EvidenceForm,
    ObligationAssignForm,
    ObligationBulkAssignForm,
    ObligationSettingsForm,
    ObligationTransitionForm,
    OverrideForm,
)
from governance.models import Determination, Evidence, Obligation
from governance.presentation import (
    answer_rows,
    answers_from_post,
    art_5_screen,
    documents_of,
    needs_unsure_review,
    notes_from_post,
    obligation_why,
    open_points,
    outcome_headline,
    overlay_lines,
    questionnaire_view,
    rationale_steps,
    review_headline,
)
from governance.record_answers import answer_from_record, record_offers
from governance.rules import QUESTION_BY_ID, RULES_VERSION, derive_obligations
from governance.rules import classify as rules_classify
from governance.rules.screens import SCREEN_BY_ID, answer_none_of, screen_states
from models_registry.models import AISystem


def _attempt(request, action, success: str) -> bool:
    """Run a service call for an action button: core.views_errors' one translation (a refusal for
    the role is the 403 page, another business error a message on the page redirected to)."""
    return attempt_with_message(request, action, success).ok


# --- classification -----------------------------------------------------------------------------


@login_required
@require_GET
def classification_list(request):
    require_permission(request, "classification.view")
    systems = selectors.classification_system_list(user=request.user)
    return render(request, "governance/classification_list.html", {"systems": systems})


@login_required
@require_http_methods(["GET", "POST"])
def classify(request, pk: int):
    """The questionnaire. Every change is saved as a draft (htmx re-renders the questions that
    still matter); without JavaScript "Save draft" does the same with a full page."""
    require_permission(request, "classification.draft")
    system = get_for_user(AISystem.objects.all(), request.user, "classification.draft", pk=pk)
    draft = selectors.classification_draft(system=system)
    answers, error = (draft.answers if draft else {}), None
    notes, note_errors = (draft.answer_notes if draft else {}), {}
    if request.method == "POST":
        answers, notes = answers_from_post(request.POST), notes_from_post(request.POST)
        screen = request.POST.get("screen_none", "")
        if screen in SCREEN_BY_ID:  # "None of these applies": "no" to the block's unanswered heads
            answers = answer_none_of(screen, answers)
        if request.POST.get("from_record"):  # "Answer from the record": what the registry record says
            answers = answer_from_record(request.POST["from_record"], system, answers)
        try:
            draft = services.classification_draft_save(
                system=system, answers=answers, actor=request.user, answer_notes=notes
            )
            if request.POST.get("action") == "submit":
                determination = services.determination_submit(system=system, actor=request.user)
                messages.success(request, f"Classification #{determination.number} submitted.")
                return redirect("governance:determination_detail", pk=determination.pk)
            if not request.htmx:
                messages.success(request, "Draft saved. You can leave and resume at any time.")
                return redirect("governance:classify", pk=system.pk)
        except PortalError as exc:
            error, note_errors = exc.message, exc.extra.get("answer_notes", {})
    context = {
        "system": system,
        "draft": draft,
        "error": error,
        "rules_version": RULES_VERSION,
        "q": questionnaire_view(
            answers,
            show_missing=bool(draft) or request.method == "POST",
            notes=notes,
            note_errors=note_errors,
            offers=record_offers(system, answers),
            documents=documents_of(draft.answer_notes if draft else None),
        ),
        "current": selectors.current_determination(system=system),
        "pending": selectors.pending_determination(system=system),
        "screens": screen_states(answers),
    }
    template = "governance/_questionnaire_body.html" if request.htmx else "governance/classify.html"
    status = 422 if error and not request.htmx else 200
    return render(request, template, context, status=status)


# --- the document behind an answer (issue #14) ----------------------------------------------------


def _answer_document_page(request, system, question: str, *, form=None, status: int = 200):
    draft = selectors.classification_draft(system=system)
    value = (draft.answers if draft else {}).get(question)
    context = {
        "system": system,
        "question": QUESTION_BY_ID[question],
        "answer": QUESTION_BY_ID[question].label_for(value) if value not in (None, "", []) else "",
        "document": documents_of(draft.answer_notes if draft else None).get(question),
        "form": form or AnswerDocumentForm(),
    }
    return render(request, "governance/answer_document.html", context, status=status)


def _question(question: str) -> str:
    if question not in QUESTION_BY_ID:
        raise Http404("There is no such question.")
    return question


@login_required
@require_http_methods(["GET", "POST"])
def answer_document(request, pk: int, question: str):
    """Attach (or replace) the document behind one answer of the draft: a page of its own, a
    plain multipart form outside the autosaving questionnaire."""
    require_permission(request, "classification.draft")
    system = get_for_user(AISystem.objects.all(), request.user, "classification.draft", pk=pk)
    question = _question(question)
    if request.method == "GET":
        return _answer_document_page(request, system, question)
    form = AnswerDocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _answer_document_page(request, system, question, form=form, status=400)
    attempt = attempt_on_form(
        form,
        lambda: answer_document_services.answer_document_attach(
            system=system, question_id=question, actor=request.user, uploaded_file=form.cleaned_data["file"]
        ),
    )
    if not attempt.ok:
        return _answer_document_page(request, system, question, form=form, status=attempt.status)
    messages.success(request, "Document attached to the answer.")
    return redirect("governance:answer_document", pk=system.pk, question=question)


@login_required
@require_POST
def answer_document_detach(request, pk: int, question: str):
    require_permission(request, "classification.draft")
    system = get_for_user(AISystem.objects.all(), request.user, "classification.draft", pk=pk)
    question = _question(question)
    _attempt(
        request,
        lambda: answer_document_services.answer_document_detach(
            system=system, question_id=question, actor=request.user
        ),
        "Document removed from the answer.",
    )
    return redirect("governance:answer_document", pk=system.pk, question=question)


def _document_response(organisation_id: int, notes, question: str) -> FileResponse:
    """The stored file of an answer's document, as a download (never rendered by the browser)."""
    document = documents_of(notes).get(question)
    if document is None:
        raise Http404("This answer has no document.")
    try:
        key = answer_document_services.document_storage_key(organisation_id, str(document.get("sha256", "")))
    except PortalError:
        raise Http404("This answer has no document.") from None
    if not default_storage.exists(key):
        raise Http404("The file is missing from storage.")
    response = FileResponse(
        default_storage.open(key, "rb"),
        as_attachment=True,
        filename=str(document.get("name") or "document"),
        content_type=str(document.get("content_type") or "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def answer_document_download(request, pk: int, question: str):
    """The document attached to an answer of a system's draft."""
    require_permission(request, "classification.view")
    system = get_for_user(AISystem.objects.all(), request.user, "classification.view", pk=pk)
    draft = selectors.classification_draft(system=system)
    return _document_response(system.organisation_id, draft.answer_notes if draft else None, question)


@login_required
@require_GET
def determination_answer_document(request, pk: int, question: str):
    """The document an answer of a submitted determination relied on (as it was submitted)."""
    require_permission(request, "classification.view")
    determination = get_for_user(
        selectors.determination_list(user=request.user), request.user, "classification.view", pk=pk
    )
    return _document_response(determination.organisation_id, determination.answer_notes, question)


@login_required
@require_GET
def system_classification(request, pk: int):
    """A system's classification history: current, pending and superseded determinations."""
    require_permission(request, "classification.view")
    system = get_for_user(AISystem.objects.all(), request.user, "classification.view", pk=pk)
    determinations = selectors.determination_list(user=request.user, system=system)
    current = selectors.current_determination(system=system)
    return render(
        request,
        "governance/system_classification.html",
        {
            "system": system,
            "determinations": determinations,
            "current": current,
            "reassessment": selectors.rules_reassessment(determination=current) if current else None,
            "draft": selectors.classification_draft(system=system),
        },
    )


@login_required
@require_GET
def determination_detail(request, pk: int):
    require_permission(request, "classification.view")
    return _determination_page(request, pk)


def _determination_page(request, pk: int, *, approve_form=None, override_form=None, status: int = 200):
    """The result page; after a refused approval, with the forms as typed and the refusal's status."""
    determination = get_for_user(
        selectors.determination_list(user=request.user), request.user, "classification.view", pk=pk
    )
    result = determination.result
    points = open_points(result, determination.unsure_justifications, determination.answers)
    provisional = needs_unsure_review(result, determination.unsure_justifications)
    context = {
        "d": determination,
        "system": determination.system,
        "result": result,
        "headline": review_headline(outcome_headline(determination.outcome, result), result)
        if provisional
        else outcome_headline(determination.outcome, result),
        "stricter_headline": outcome_headline(determination.outcome, result),
        "open_points": points,
        "provisional": provisional,
        "override_headline": outcome_headline(determination.override_outcome, result)
        if determination.is_overridden
        else "",
        "overlays": overlay_lines(result),
        "answers": answer_rows(determination.answers, determination.answer_notes),
        "rationale_steps": rationale_steps(result.get("rationale", [])),
        "art_5_rows": art_5_screen(determination.answers),
        "obligation_whys": _obligation_whys(determination),
        "missing": [QUESTION_BY_ID[qid].text for qid in result.get("missing", []) if qid in QUESTION_BY_ID],
        "approve_form": approve_form or ApproveForm(open_points=points),
        "override_form": override_form or OverrideForm(open_points=points),
        "can_approve": has_permission(request.user, "classification.approve"),
        "four_eyes": selectors.determination_four_eyes(determination=determination, user=request.user),
        "obligation_count": determination.system.obligations.filter(applicable=True).count(),
        "reassessment": selectors.rules_reassessment(determination=determination),
    }
    return render(request, "governance/determination_detail.html", context, status=status)


def _obligation_whys(determination: Determination) -> list[dict]:
    """The obligations this determination derived (its approval's, or, awaiting approval, those
    the rules derive from its result), each with the one line saying why it applies."""
    if determination.status == "submitted":
        rows = [
            {"code": s.code, "article": s.article, "title": s.title, "role": s.role} for s in _derived(determination)
        ]
    else:
        rows = list(determination.obligations.filter(applicable=True).values("pk", "code", "article", "title", "role"))
    why = {"result": determination.result, "answers": determination.answers}
    return [
        {**row, "why": obligation_why(code=row["code"], article=row["article"], role=row["role"], **why)}
        for row in rows
    ]


def _derived(determination: Determination):
    if determination.rules_version != RULES_VERSION:  # another version's result: nothing to preview
        return []
    return derive_obligations(rules_classify(determination.answers), dates=services.application_date_map())


@login_required
@require_POST
def determination_approve(request, pk: int):
    require_permission(request, "classification.approve")
    determination = get_for_user(Determination.objects.all(), request.user, "classification.approve", pk=pk)
    form = ApproveForm(request.POST, open_points=open_points(determination.result))
    form.is_valid()
    return _decide(
        request,
        pk,
        form,
        lambda: services.determination_approve(
            determination=determination,
            actor=request.user,
            note=form.cleaned_data.get("note", ""),
            unsure_justifications=form.unsure_justifications(),
        ),
        "Classification approved; the system's risk tier and obligations are updated.",
        approve_form=form,
    )


def _decide(request, pk: int, form, action, success: str, **forms):
    """Approve or override. An "unsure" answer left without a justification shows the page again
    with what was typed and the questions named (400); other refusals keep post/redirect/get (a
    message on the page; NotAllowed is the 403 page), as for every action button."""
    attempt = attempt_on_form(form, action)
    if attempt.error is None:
        messages.success(request, success)
    elif attempt.error.code == services.UNSURE_UNJUSTIFIED:
        return _determination_page(request, pk, status=attempt.status, **forms)
    elif isinstance(attempt.error, NotAllowed):
        raise attempt.error
    else:
        messages.error(request, attempt.error.message)
    return redirect("governance:determination_detail", pk=pk)


@login_required
@require_POST
def determination_override(request, pk: int):
    require_permission(request, "classification.approve")
    determination = get_for_user(Determination.objects.all(), request.user, "classification.approve", pk=pk)
    form = OverrideForm(request.POST, open_points=open_points(determination.result))
    if not form.is_valid():
        messages.error(request, "Choose an outcome and write a justification for the override.")
        return redirect("governance:determination_detail", pk=pk)
    data = form.cleaned_data
    return _decide(
        request,
        pk,
        form,
        lambda: services.determination_override(
            determination=determination,
            actor=request.user,
            outcome=data["outcome"],
            justification=data["justification"],
            risk_tier=data["risk_tier"],
            unsure_justifications=form.unsure_justifications(),
        ),
        "Override approved; the justification is kept with the record.",
        override_form=form,
    )


# --- obligations ------------------------------------------------------------------------------------


def _board_context(request, system=None):
    base = selectors.obligation_list(user=request.user)
    data = request.GET.copy()
    if system is not None:
        data["system"] = str(system.pk)
    filterset = ObligationFilterSet(data, queryset=base, request=request)
    obligations = filterset.qs if filterset.is_valid() else base.none()
    page = Paginator(obligations, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filterset": filterset,
        "page": page,
        "rows": selectors.obligation_board_rows(page.object_list),
        "summary": selectors.obligation_summary(obligations),
        "system": system,
        "query": query.urlencode(),
        "upcoming": selectors.next_application_dates(obligations),
        "statuses": ObligationStatus.choices,
        "today": timezone.localdate(),
        "may_manage": has_permission(request.user, "obligation.manage"),
    }


def _bulk_form(request, data=None) -> ObligationBulkAssignForm:
    return ObligationBulkAssignForm(data, owners=selectors.obligation_owner_choices(user=request.user))


@login_required
@require_GET
def obligation_board(request):
    require_permission(request, "obligation.view")
    context = {**_board_context(request), "bulk_form": _bulk_form(request), "selected": set()}
    return render(request, "governance/obligation_board.html", context)


@login_required
@require_POST
def obligation_bulk_assign(request):
    """Set owner and/or plan date on the obligations ticked on the board. A refusal shows the
    board again with the ticks, the owner and the date as they were, and the reason."""
    require_permission(request, "obligation.manage")
    form, status = _bulk_form(request, request.POST), 400
    if form.is_valid():
        attempt = attempt_on_form(
            form, lambda: services.obligation_bulk_assign(actor=request.user, **form.service_kwargs())
        )
        if attempt.ok:
            messages.success(request, f"{len(attempt.value)} obligation(s) updated.")
            back = request.POST.get("back_to_system", "")
            if back.isdigit():  # only an id: never a URL taken from the form
                return redirect("governance:system_obligations", pk=int(back))
            return redirect("governance:obligation_board")
        status = attempt.status
    selected = {value for value in request.POST.getlist("obligations")}
    context = {**_board_context(request), "bulk_form": form, "selected": selected}
    return render(request, "governance/obligation_board.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def obligation_settings(request):
    """The organisation's plan lead time for new obligations."""
    require_permission(request, "obligation.manage")
    lead = selectors.obligation_plan_lead_days(request.user.organisation_id)
    form, status = ObligationSettingsForm(request.POST or None, initial={"plan_lead_days": lead}), 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            attempt = attempt_on_form(
                form, lambda: services.obligation_settings_update(actor=request.user, **form.cleaned_data)
            )
            if attempt.ok:
                messages.success(request, "Obligation settings saved; they apply to obligations derived from now on.")
                return redirect("governance:obligation_settings")
            status = attempt.status
    return render(request, "governance/obligation_settings.html", {"form": form}, status=status)


@login_required
@require_GET
def system_obligations(request, pk: int):
    require_permission(request, "obligation.view")
    system = get_for_user(AISystem.objects.all(), request.user, "obligation.view", pk=pk)
    context = {**_board_context(request, system), "bulk_form": _bulk_form(request), "selected": set()}
    return render(request, "governance/obligation_board.html", context)


EXPORT_COLUMNS = (
    "system",
    "article",
    "title",
    "role",
    "status",
    "owner",
    "applies_from",
    "days_until_applies",
    "due_date",
    "overdue",
    "evidence_count",
    "newest_evidence",
)


@login_required
@require_GET
def obligation_export(request):
    require_permission(request, "obligation.view")
    filterset = ObligationFilterSet(request.GET, queryset=selectors.obligation_list(user=request.user), request=request)
    if not filterset.is_valid():
        return HttpResponseBadRequest(
            "Invalid filters: " + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()),
            content_type="text/plain",
        )
    today = timezone.localdate()

    def rows():
        for o in filterset.qs.iterator(chunk_size=500):
            yield (
                o.system.name,
                o.article,
                o.title,
                o.role,
                o.get_status_display(),
                o.owner.username if o.owner else "",
                o.applies_from,
                (o.applies_from - today).days,
                o.due_date or "",
                "yes" if o.is_overdue else "no",
                o.evidence_count,
                o.newest_evidence or "",
            )

    # Every cell through core.exports: text that a spreadsheet would run as a formula is defused.
    response = StreamingHttpResponse(exports.csv_lines(EXPORT_COLUMNS, rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="obligations-{today.isoformat()}.csv"'
    return response


def _evidence_form(request, obligation: Obligation, data=None, files=None) -> EvidenceForm:
    versions = selectors.model_version_choices(user=request.user, system=obligation.system)
    runs = validation_run_choices(user=request.user, system_id=obligation.system_id)
    form = EvidenceForm(data, files, versions=versions, runs=runs)
    # Warned before linking: the runs offered that failed checks this obligation is about.
    form.run_warnings = [w for run in runs if (w := selectors.run_failure_warning(obligation=obligation, run=run))]
    return form


def _obligation_page(request, pk: int, *, evidence_form: EvidenceForm | None = None, status: int = 200):
    obligation = get_for_user(
        selectors.obligation_list(user=request.user, include_not_applicable=True),
        request.user,
        "obligation.view",
        pk=pk,
    )
    selectors.obligation_board_rows([obligation])
    user = request.user
    may_manage = has_permission(user, "obligation.manage")
    evidence = list(obligation.evidence.select_related("added_by", "model_version"))
    for item in evidence:
        item.warning = (
            selectors.run_failure_warning(obligation=obligation, run=item.validation_summary)
            if item.validation_summary
            else ""
        )
    context = {
        "o": obligation,
        "evidence": evidence,
        "evidence_warnings": [item.warning for item in evidence if item.warning],
        "hints": selectors.evidence_hint_rows(obligation),
        "why": obligation_why(
            code=obligation.code,
            article=obligation.article,
            result=obligation.determination.result,
            answers=obligation.determination.answers,
            role=obligation.role,
        ),
        "may_manage": may_manage,
        "may_work": may_manage or obligation.owner_id == user.pk,
        "moves": [(s, ObligationStatus(s).label, rule) for s, rule in next_statuses(obligation.status)],
        "assign_form": ObligationAssignForm(
            owners=selectors.obligation_owner_choices(user=user),
            initial={
                "owner": obligation.owner_id,
                "due_date": obligation.due_date,
                "evidence_max_age_days": obligation.evidence_max_age_days,
            },
        ),
        "evidence_form": evidence_form or _evidence_form(request, obligation),
    }
    return render(request, "governance/obligation_detail.html", context, status=status)


@login_required
@require_GET
def obligation_detail(request, pk: int):
    require_permission(request, "obligation.view")
    return _obligation_page(request, pk)


@login_required
@require_POST
def obligation_transition(request, pk: int):
    require_permission(request, "obligation.view")
    obligation = get_for_user(Obligation.objects.all(), request.user, "obligation.view", pk=pk)
    form = ObligationTransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid status.")
    else:
        _attempt(
            request,
            lambda: services.obligation_transition(obligation=obligation, actor=request.user, **form.cleaned_data),
            "Status updated.",
        )
    return redirect("governance:obligation_detail", pk=pk)


@login_required
@require_POST
def obligation_assign(request, pk: int):
    require_permission(request, "obligation.manage")
    obligation = get_for_user(Obligation.objects.all(), request.user, "obligation.manage", pk=pk)
    form = ObligationAssignForm(request.POST, owners=selectors.obligation_owner_choices(user=request.user))
    if not form.is_valid():
        messages.error(request, "Check the owner, due date and maximum evidence age.")
    else:
        _attempt(
            request,
            lambda: services.obligation_assign(obligation=obligation, actor=request.user, **form.cleaned_data),
            "Obligation updated.",
        )
    return redirect("governance:obligation_detail", pk=pk)


@login_required
@require_POST
def evidence_add(request, pk: int):
    """Add evidence of the chosen kind. Wrong input shows the page again with the form as typed
    (a file must be chosen again: browsers never refill a file input) and the reason, as a 4xx."""
    require_permission(request, "obligation.view")
    obligation = get_for_user(Obligation.objects.all(), request.user, "obligation.view", pk=pk)
    form = _evidence_form(request, obligation, data=request.POST, files=request.FILES)
    if not form.is_valid():
        return _obligation_page(request, pk, evidence_form=form, status=400)
    data, common = (
        form.cleaned_data,
        {"obligation": obligation, "actor": request.user, "title": form.cleaned_data["title"]},
    )
    calls = {
        "document": lambda: services.evidence_add_document(uploaded_file=data["file"], **common),
        "model_card": lambda: services.evidence_add_model_card(model_version=data["model_version"], **common),
        "validation_run": lambda: services.evidence_add_validation_run(
            validation_kind=data["validation_kind"], run_id=data["validation_run"], **common
        ),
    }
    attempt = attempt_on_form(form, calls[data["kind"]], aliases={"run": ("validation_run",)})
    if not attempt.ok:
        return _obligation_page(request, pk, evidence_form=form, status=attempt.status)
    evidence = attempt.value
    messages.success(
        request,
        "Evidence added; the obligation now awaits review."
        if evidence.obligation.status == ObligationStatus.EVIDENCE_SUBMITTED
        else "Evidence added.",
    )
    return redirect("governance:obligation_detail", pk=pk)


@login_required
@require_GET
def evidence_download(request, pk: int):
    require_permission(request, "obligation.view")
    evidence = get_for_user(Evidence.objects.all(), request.user, "obligation.view", pk=pk, kind="document")
    if not default_storage.exists(evidence.storage_key):
        raise Http404("The file is missing from storage.")
    return FileResponse(
        default_storage.open(evidence.storage_key, "rb"), as_attachment=True, filename=evidence.original_name
    )
