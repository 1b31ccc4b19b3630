from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import exports
from core.permissions import get_for_user, require_permission
from core.views_errors import attempt_on_form, attempt_with_message
from models_registry import selectors, services
from models_registry.choices import LifecycleStage, OperatorRole, RiskTier
from models_registry.filtersets import AISystemFilterSet
from models_registry.forms import AISystemForm, DatasetForm, DeleteForm, ModelVersionForm
from models_registry.models import AISystem, Dataset, ModelVersion
from models_registry.uploads import human_size


@login_required
@require_GET
def system_list(request):
    require_permission(request, "system.view")
    filterset = AISystemFilterSet(request.GET, queryset=selectors.system_list(user=request.user))
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        "stages": LifecycleStage.choices,
        "roles": OperatorRole.choices,
        "tiers": RiskTier.choices,
        "owners": selectors.owner_choices(user=request.user),
        "current_sort": request.GET.get("sort", ""),
    }
    template = "models_registry/_system_table.html" if request.htmx else "models_registry/system_list.html"
    return render(request, template, context)


@login_required
@require_GET
def system_export(request):
    require_permission(request, "system.view")
    systems = AISystemFilterSet(request.GET, queryset=selectors.system_list(user=request.user)).qs
    columns = [
        "id",
        "name",
        "purpose",
        "intended_use",
        "lifecycle_stage",
        "operator_role",
        "risk_tier",
        "owner_team",
        "business_owner",
        "processes_personal_data",
        "processes_special_categories",
        "third_party_vendor",
        "deployment_context",
        "affected_persons",
        "sector",
    ]

    def rows():
        for system in systems:
            yield [getattr(system, c) for c in columns] + [
                ", ".join(system.affected_groups or []),
                ", ".join(t.name for t in system.tags.all()),
                system.version_count,
                system.dataset_count,
                system.updated_at.isoformat(),
            ]

    # Every cell through core.exports: text that a spreadsheet would run as a formula is defused.
    header = columns + ["affected_groups", "tags", "versions", "datasets", "updated_at"]
    response = StreamingHttpResponse(exports.csv_lines(header, rows()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="ai-systems.csv"'
    return response


def _system_form_initial(system: AISystem) -> dict:
    initial = {field: getattr(system, field) for field in services.SYSTEM_FIELDS}
    initial["tags"] = ", ".join(t.name for t in system.tags.all())
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def system_create(request):
    require_permission(request, "system.create")
    form = AISystemForm(request.POST or None, initial={"operator_role": "provider", "lifecycle_stage": "development"})
    status = 200 if request.method == "GET" or form.is_valid() else 400
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("reason")
        attempt = attempt_on_form(form, lambda: services.system_create(actor=request.user, **data))
        if attempt.ok:
            messages.success(request, f"{attempt.value.name} is registered. Next: upload a model version and datasets.")
            return redirect("registry:system_detail", pk=attempt.value.pk)
        status = attempt.status
    return render(request, "models_registry/system_form.html", {"form": form, "system": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def system_edit(request, pk):
    require_permission(request, "system.change")
    system = selectors.system_get(user=request.user, pk=pk)
    form = AISystemForm(request.POST or None, initial=_system_form_initial(system))
    status = 200 if request.method == "GET" or form.is_valid() else 400
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        attempt = attempt_on_form(
            form, lambda: services.system_update(actor=request.user, system=system, reason=reason, **data)
        )
        if attempt.ok:
            messages.success(request, "Changes saved.")
            return redirect("registry:system_detail", pk=system.pk)
        status = attempt.status
    return render(request, "models_registry/system_form.html", {"form": form, "system": system}, status=status)


def _optional_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@login_required
@require_GET
def system_detail(request, pk):
    require_permission(request, "system.view")
    system = selectors.system_get(user=request.user, pk=pk)
    versions = list(selectors.version_list(user=request.user, system=system))
    context = {
        "system": system,
        "versions": versions,
        "datasets": selectors.dataset_list(user=request.user, system=system),
        "classify_url": _optional_url("governance:classify", system.pk),
        "classification_url": _optional_url("governance:system_classification", system.pk),
        "obligations_url": _optional_url("governance:system_obligations", system.pk),
        "trail_object_type": "models_registry.aisystem",
        "trail_object_id": system.pk,
    }
    return render(request, "models_registry/system_detail.html", context)


def _upload_view(request, pk, *, kind: str):
    system = selectors.system_get(user=request.user, pk=pk)
    require_permission(request, "model.upload" if kind == "model" else "dataset.upload")
    form_class = ModelVersionForm if kind == "model" else DatasetForm
    form = form_class(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        received = getattr(request, "upload_refused", None)

        def upload():
            if received:
                services.upload_cut_off(actor=request.user, system=system, kind=kind, received=received)
            if not form.is_valid():
                return None
            data = dict(form.cleaned_data)
            register = services.model_version_register if kind == "model" else services.dataset_register
            return register(actor=request.user, system=system, **data)

        attempt = attempt_on_form(form, upload)
        obj = attempt.value
        if obj is not None:
            if obj.scan_pending:
                messages.info(
                    request,
                    f"{obj} was uploaded. Checking it takes longer than usual, so it "
                    "continues in the background; this page shows the result when it is done.",
                )
            else:
                messages.success(request, f"{obj} was uploaded and registered.")
            target = "registry:version_detail" if kind == "model" else "registry:dataset_detail"
            return redirect(target, pk=obj.pk)
        if attempt.error is not None:
            extra = attempt.error.extra
            form.refusal = extra.get("reasons") if isinstance(extra, dict) else None
        status = attempt.status if attempt.error is not None else 400
    return render(
        request,
        "models_registry/upload_form.html",
        {
            "form": form,
            "system": system,
            "kind": kind,
            "max_size": settings.MAX_UPLOAD_SIZE,
            "max_size_human": human_size(settings.MAX_UPLOAD_SIZE),
            "inline_seconds": settings.UPLOAD_SCAN_INLINE_SECONDS,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_create(request, pk):
    return _upload_view(request, pk, kind="model")


@login_required
@require_http_methods(["GET", "POST"])
def dataset_create(request, pk):
    return _upload_view(request, pk, kind="dataset")


@login_required
@require_GET
def version_detail(request, pk):
    version = get_for_user(
        ModelVersion.objects.select_related("system", "artifact", "uploaded_by"), request.user, "system.view", pk=pk
    )
    others = ModelVersion.objects.filter(system=version.system).exclude(pk=version.pk).order_by("-created_at")
    return render(
        request,
        "models_registry/version_detail.html",
        {
            "version": version,
            "others": others,
            "delete_form": DeleteForm(),
            "trail_object_type": "models_registry.modelversion",
            "trail_object_id": version.pk,
        },
    )


@login_required
@require_GET
def version_diff(request, pk):
    system = selectors.system_get(user=request.user, pk=pk)
    versions = selectors.version_list(user=request.user, system=system)
    try:
        older = versions.get(pk=request.GET.get("from"))
        newer = versions.get(pk=request.GET.get("to"))
    except (ModelVersion.DoesNotExist, ValueError):
        raise Http404("Pick two versions of this system to compare.") from None
    if older.created_at > newer.created_at:
        older, newer = newer, older
    return render(
        request,
        "models_registry/version_diff.html",
        {"system": system, "older": older, "newer": newer, "rows": selectors.version_diff(older=older, newer=newer)},
    )


@login_required
@require_GET
def dataset_detail(request, pk):
    dataset = get_for_user(
        Dataset.objects.select_related("system", "artifact", "uploaded_by"), request.user, "system.view", pk=pk
    )
    return render(
        request,
        "models_registry/dataset_detail.html",
        {
            "dataset": dataset,
            "delete_form": DeleteForm(),
            "trail_object_type": "models_registry.dataset",
            "trail_object_id": dataset.pk,
        },
    )


@login_required
@require_POST
def registered_delete(request, pk, kind: str):
    model = ModelVersion if kind == "model" else Dataset
    obj = get_for_user(model.objects.select_related("system", "artifact"), request.user, "system.view", pk=pk)
    require_permission(request, "model.upload" if kind == "model" else "dataset.upload")
    form = DeleteForm(request.POST)
    back = "registry:version_detail" if kind == "model" else "registry:dataset_detail"
    if not form.is_valid():
        messages.error(request, "Say why it is deleted; the reason is kept in the audit trail.")
        return redirect(back, pk=pk)
    delete = services.model_version_delete if kind == "model" else services.dataset_delete
    attempt = attempt_with_message(
        request,
        lambda: delete(
            actor=request.user, reason=form.cleaned_data["reason"], **{"version" if kind == "model" else "dataset": obj}
        ),
    )
    if not attempt.ok:
        return redirect(back, pk=pk)
    messages.success(request, f"{obj} was deleted.")
    return redirect("registry:system_detail", pk=obj.system_id)
