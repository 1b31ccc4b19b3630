"""Pages of validation runs and findings. Thin adapters: reads through `audits.selectors`,
writes through `audits.validation.services`; a service's refusal is translated by
core.views_errors (on the form with its status, or the 403/404 page)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audits import selectors
from audits.choices import CheckFamily, CheckStatus, FindingStatus, RunStatus, Severity, Suite
from audits.filtersets import FindingFilterSet, ValidationRunFilterSet
from audits.forms import CancelForm, ValidationPolicySettingsForm, ValidationStartForm
from audits.risk_link import FINDING_SOURCE
from audits.validation.services import (
    default_suite_for,
    validation_cancel,
    validation_column_defaults,
    validation_policy_settings_fingerprint,
    validation_policy_settings_get,
    validation_policy_settings_update,
    validation_start,
)
from core.errors import Conflict
from core.permissions import has_permission, require_permission
from core.views_errors import attempt_on_form, attempt_with_message
from governance.risks.selectors import risks_from_sources
from models_registry.models import AISystem


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _systems(request):
    return AISystem.objects.restrict(request.user, "system.view").order_by("name").only("pk", "name")


@login_required
@require_GET
def validation_list(request):
    require_permission(request, "validation.view")
    filterset = ValidationRunFilterSet(request.GET, queryset=selectors.validation_run_list(user=request.user))
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page": page,
        "query": _query_without_page(request),
        "systems": _systems(request),
        "statuses": RunStatus.choices,
        "suites": Suite.choices,
    }
    template = "audits/_validation_table.html" if request.htmx else "audits/validation_list.html"
    return render(request, template, context)


@login_required
@require_GET
def validation_new(request):
    """Pick the AI system first; the start form needs its versions and datasets."""
    require_permission(request, "validation.start")
    system_pk = request.GET.get("system", "")
    if system_pk.isdigit() and _systems(request).filter(pk=system_pk).exists():
        return redirect("audits:validation_create", system_pk=int(system_pk))
    return render(request, "audits/validation_pick_system.html", {"systems": _systems(request)})


@login_required
@require_http_methods(["GET", "POST"])
def validation_create(request, system_pk: int):
    require_permission(request, "validation.start")
    from models_registry import selectors as registry

    system = registry.system_get(user=request.user, pk=system_pk)
    versions = registry.version_list(user=request.user, system=system).filter(scan_verdict="safe")
    datasets = registry.dataset_list(user=request.user, system=system)
    initial = {
        "model_version": request.GET.get("version") or (versions.first().pk if versions.exists() else None),
        "test_dataset": getattr(datasets.filter(role="test").first(), "pk", None),
        "train_dataset": getattr(datasets.filter(role="train").first(), "pk", None),
    }
    required_suite = selectors.validation_required_suite(system=system)
    initial["suite"] = required_suite["suite"]  # the suite certification needs; ?suite= can still pick another
    # "Show its columns" (no JS) or the htmx refresh: the chosen dataset's columns, nothing started.
    refresh = request.method == "POST" and "refresh_columns" in request.POST
    source = request.POST if request.method == "POST" else request.GET
    columns = _column_choices(source, initial, versions=versions, datasets=datasets)
    if refresh or request.method == "GET":
        initial.update({k: v for k in ValidationStartForm.base_fields if (v := source.get(k)) not in (None, "")})
        initial.update(target_column=columns["target"], feature_columns=columns["features"])
        initial["sensitive_columns"] = columns["sensitive"]
    bound = request.method == "POST" and not refresh
    form = ValidationStartForm(
        request.POST if bound else None,
        initial=initial,
        versions=versions,
        datasets=datasets,
        columns=columns["columns"],
    )
    if request.htmx and request.GET.get("columns_for"):
        return render(request, "audits/_validation_columns.html", {"form": form, "columns": columns})
    status = 400 if bound else 200  # a form shown again after a POST is a refusal
    if bound and form.is_valid():
        data = dict(form.cleaned_data)
        data["suite"] = data["suite"] or None
        data["task"] = data["task"] or None
        data["target_column"] = data["target_column"] or None  # the dataset's own
        attempt = attempt_on_form(form, lambda: validation_start(actor=request.user, system=system, **data))
        status = attempt.status
        if attempt.ok:
            run = attempt.value
            run.refresh_from_db(fields=["published_at", "publish_attempts"])  # the on-commit publish has run
            if run.waiting_for_broker:
                messages.warning(
                    request,
                    f"Validation #{run.pk} is saved, but the job queue could not be reached when it was "
                    "started; it starts as soon as the queue is back (its status below stays current).",
                )
            else:
                # Words of the event, not of a state: the run may have finished by the time this shows.
                messages.success(request, f"Validation #{run.pk} started with the {run.get_suite_display()} suite.")
            if selectors.validation_suite_is_lighter(required=required_suite, chosen=run.suite):
                messages.warning(
                    request,
                    f"The {run.get_suite_display().lower()} suite is lighter than the {required_suite['label']} "
                    f"suite: {required_suite['reason']} This run cannot be used to submit the system.",
                )
            return redirect("audits:validation_detail", pk=run.pk)
    return render(
        request,
        "audits/validation_form.html",
        {
            "form": form,
            "columns": columns,
            "system": system,
            "default_suite": Suite(default_suite_for(system)).label,
            "required_suite": required_suite,
            "suite_lighter": selectors.validation_suite_is_lighter(
                required=required_suite, chosen=str(form["suite"].value() or "")
            ),
            "policy_settings": validation_policy_settings_get(organisation_id=request.user.organisation_id),
        },
        status=status,
    )


def _column_choices(source, initial, *, versions, datasets) -> dict:
    """The chosen (or preselected) test dataset's columns and what to preselect among them."""
    test_pk = source.get("test_dataset") or initial["test_dataset"]
    version_pk = source.get("model_version") if "model_version" in source else initial["model_version"]
    test = datasets.exclude(role="train").filter(pk=test_pk).first() if str(test_pk).isdigit() else None
    version = versions.filter(pk=version_pk).first() if str(version_pk).isdigit() else None
    return {**validation_column_defaults(dataset=test, model_version=version), "dataset": test, "version": version}


def validation_status_context(request, run) -> dict:
    """What the run's status card (`audits/_validation_status.html`) shows, also on a re-run's page."""
    finding_counts = selectors.validation_finding_counts(run=run)
    return {
        "run": run,
        "result_counts": selectors.validation_result_counts(run=run),
        "finding_counts": finding_counts,
        "finding_total": sum(finding_counts.values()),
        "supersession": selectors.validation_supersession(run=run),
        "check_statuses": CheckStatus.choices,
        "severities": Severity.values,
        "can_start": has_permission(request.user, "validation.start"),
        "max_attempts": settings.VALIDATION_MAX_ATTEMPTS,
        "rerun": getattr(run, "rerun_of", None),
    }  # a certification re-run: its findings stay with the original


@login_required
@require_GET
def validation_detail(request, pk: int):
    require_permission(request, "validation.view")
    run = selectors.validation_run_get(user=request.user, pk=pk)
    context = validation_status_context(request, run)
    context.update(trail_object_type="audits.validationrun", trail_object_id=run.pk)
    return render(request, "audits/validation_detail.html", context)


@login_required
@require_GET
def validation_status(request, pk: int):
    """The live part of the run page, polled by htmx while the run is active."""
    require_permission(request, "validation.view")
    run = selectors.validation_run_get(user=request.user, pk=pk)
    if not request.htmx:
        return redirect("audits:validation_detail", pk=run.pk)
    return render(request, "audits/_validation_status.html", validation_status_context(request, run))


@login_required
@require_POST
def validation_cancel_view(request, pk: int):
    require_permission(request, "validation.start")
    run = selectors.validation_run_get(user=request.user, pk=pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    attempt = attempt_with_message(request, lambda: validation_cancel(actor=request.user, run=run, reason=reason))
    if attempt.ok:
        messages.info(
            request,
            "Cancelled."
            if attempt.value.status == RunStatus.CANCELLED
            else "Cancellation requested: the run stops after the check it is running.",
        )
    return redirect("audits:validation_detail", pk=run.pk)


@login_required
@require_GET
def validation_results(request, pk: int):
    require_permission(request, "validation.view")
    run = selectors.validation_run_get(user=request.user, pk=pk)
    return render(
        request,
        "audits/validation_results.html",
        {
            "run": run,
            "groups": selectors.validation_results_by_family(run=run),
            "result_counts": selectors.validation_result_counts(run=run),
        },
    )


@login_required
@require_GET
def validation_charts(request, pk: int, check_id: str):
    """The plotly figures of one check, fetched when its charts are opened."""
    require_permission(request, "validation.view")
    run = selectors.validation_run_get(user=request.user, pk=pk)
    record = run.results.filter(check_id=check_id).only("charts").first()
    if record is None:
        raise Http404("No such check in this run.")
    return JsonResponse({"check_id": check_id, "charts": record.charts})


@login_required
@require_GET
def finding_list(request):
    require_permission(request, "finding.view")
    return finding_list_page(request)


def finding_list_page(request, *, bulk_form=None, status: int = 200):
    """The findings list of `request.GET`'s filters; `bulk_form` is the bulk decision shown again
    with its error (`audits.validation.finding_bulk_views`)."""
    from audits.validation.finding_bulk_views import bulk_decide_context

    filterset = FindingFilterSet(request.GET, queryset=selectors.finding_list(user=request.user))
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page": page,
        "query": _query_without_page(request),
        "raised_risks_by_source": _raised_risks(request, page),
        "systems": _systems(request),
        "severities": Severity.choices,
        "categories": CheckFamily.choices,
        "statuses": FindingStatus.choices,
        "articles": selectors.finding_article_choices(user=request.user),
        "scope": _finding_scope(request),
        "superseded_hidden": filterset.superseded_hidden(),
        **bulk_decide_context(request, bulk_form),
    }
    template = "audits/_finding_table.html" if request.htmx else "audits/finding_list.html"
    return render(request, template, context, status=status)


def _raised_risks(request, page) -> dict:
    """The risks raised from the findings on this page, in one query: the table's risk column
    would otherwise ask once per finding."""
    ids = [finding.pk for finding in page]
    if not ids or not has_permission(request.user, "risk.view"):
        return {}
    return risks_from_sources(user=request.user, source_type=FINDING_SOURCE, source_ids=ids)


def _finding_scope(request) -> dict:
    """What the list is narrowed to (one run, one model version), for its heading."""
    from models_registry.models import ModelVersion

    run_pk, version_pk = request.GET.get("run", ""), request.GET.get("model_version", "")
    if run_pk.isdigit():
        run = selectors.validation_run_list(user=request.user).filter(pk=run_pk).first()
        return {"run": run} if run else {}
    if version_pk.isdigit():
        version = (
            ModelVersion.objects.restrict(request.user, "system.view")
            .select_related("system")
            .filter(pk=version_pk)
            .first()
        )
        return {"version": version} if version else {}
    return {}


def _policy_settings_form(data, current) -> ValidationPolicySettingsForm:
    initial = {
        "allow_overrides": current.allow_overrides,
        "locked_keys": current.locked_keys,
        "based_on": validation_policy_settings_fingerprint(settings_row=current),
    }
    return ValidationPolicySettingsForm(data, initial=initial, key_groups=selectors.validation_policy_key_groups())


def _policy_settings_rebased(request, message: str):
    """After a concurrent change: the current settings, and the admin's choices on top of them
    (now based on the current fingerprint, so saving again is a deliberate decision)."""
    current = validation_policy_settings_get(organisation_id=request.user.organisation_id)
    data = request.POST.copy()
    data["based_on"] = validation_policy_settings_fingerprint(settings_row=current)
    form = _policy_settings_form(data, current)
    form.is_valid()
    form.add_error(None, message)
    return form, current


@login_required
@require_http_methods(["GET", "POST"])
def validation_policy_settings_edit(request):
    """Organisation admins: may a run override the validation policy, and which keys stay locked."""
    require_permission(request, "org.manage")
    current = validation_policy_settings_get(organisation_id=request.user.organisation_id)
    form = _policy_settings_form(request.POST or None, current)
    status = 400 if request.method == "POST" else 200  # a form shown again after a POST is a refusal
    if request.method == "POST" and form.is_valid():
        attempt = attempt_on_form(
            form, lambda: validation_policy_settings_update(actor=request.user, **form.cleaned_data)
        )
        if attempt.ok:
            messages.success(request, "Validation policy settings saved.")
            return redirect("audits:validation_policy_settings")
        if isinstance(attempt.error, Conflict):
            form, current = _policy_settings_rebased(request, attempt.error.message)
        status = attempt.status
    known = set(dict(form.fields["locked_keys"].choices))
    return render(
        request,
        "audits/validation_policy_settings.html",
        {"form": form, "current": current, "retired_keys": sorted(set(current.locked_keys or []) - known)},
        status=status,
    )
