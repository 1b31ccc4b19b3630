"""Pages of the risk register: thin adapters over the selectors and services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import Conflict, ValidationFailed
from core.permissions import get_for_user, has_permission, require_permission
from core.views_errors import attempt_with_message
from governance.models import Obligation
from governance.risks import charts, exports, importer, selectors, services
from governance.risks.choices import RISK_TRANSITIONS, RiskStatus
from governance.risks.filtersets import RiskFilterSet
from governance.risks.forms import (
    ComponentForm,
    ComponentThreatsForm,
    ControlForm,
    ImportForm,
    RiskForm,
    RiskTransitionForm,
    SavedViewForm,
    SettingsForm,
    ThreatForm,
)
from governance.risks.models import Control, Risk, RiskSavedView, SystemComponent
from models_registry.models import AISystem

PAGE_SIZE = 50


def _attempt(request, action, success: str):
    """Run a service call: core.views_errors' one translation (a refusal for the role is the 403
    page, another business error a message). Returns the service's result, or None when refused."""
    return attempt_with_message(request, action, success).value


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _filtered(request):
    settings = selectors.risk_settings_get(organisation_id=request.user.organisation_id)
    base = selectors.risk_queryset(user=request.user, appetite=settings.appetite)
    filterset = RiskFilterSet(request.GET, queryset=base, request=request)
    risks = filterset.qs if filterset.is_valid() else base.none()
    return filterset, risks, settings


# --- the register -----------------------------------------------------------------------------------


@login_required
@require_GET
def risk_list(request):
    require_permission(request, "risk.view")
    filterset, risks, settings = _filtered(request)
    page = Paginator(selectors.risk_rows(risks), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "page": page,
        "summary": selectors.risk_summary(risks, appetite=settings.appetite),
        "settings": settings,
        "query": _query_without(request, "page"),
        "sort_query": _query_without(request, "page", "sort"),
        "saved_views": selectors.saved_views(user=request.user),
        "today": timezone.localdate(),
        "may_manage": has_permission(request.user, "risk.manage"),
    }
    template = "governance/risks/_risk_table.html" if request.htmx else "governance/risks/risk_list.html"
    return render(request, template, context)


@login_required
@require_GET
def risk_export(request, fmt: str):
    require_permission(request, "risk.view")
    filterset, risks, _ = _filtered(request)
    if not filterset.is_valid():
        return HttpResponseBadRequest(
            "Invalid filters: " + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items()),
            content_type="text/plain",
        )
    stamp = timezone.localdate().isoformat()
    if fmt == "xlsx":
        response = HttpResponse(
            exports.xlsx_bytes(risks), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    else:
        response = StreamingHttpResponse(exports.csv_rows(risks), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="risk-register-{stamp}.{fmt}"'
    return response


@login_required
@require_GET
def risk_heatmap(request):
    """Heatmaps of inherent and residual scores for the filtered register, and the trend."""
    require_permission(request, "risk.view")
    filterset, risks, settings = _filtered(request)
    counts = selectors.risk_heatmap_counts(risks)
    labels = {
        "likelihood_labels": [x["label"] for x in settings.likelihood_scale],
        "impact_labels": [x["label"] for x in settings.impact_scale],
    }
    query = _query_without(request, "page", "likelihood", "impact", "residual_likelihood", "residual_impact")
    base = reverse("governance:risk_list") + "?" + (query + "&" if query else "")
    context = {
        "filterset": filterset,
        "settings": settings,
        "summary": selectors.risk_summary(risks, appetite=settings.appetite),
        "counts": counts,
        "inherent_figure": charts.heatmap_figure(
            counts=counts["inherent"], bands=settings.bands, appetite=settings.appetite, title="Inherent", **labels
        ),
        "residual_figure": charts.heatmap_figure(
            counts=counts["residual"], bands=settings.bands, appetite=settings.appetite, title="Residual", **labels
        ),
        "trend_figure": charts.trend_figure(selectors.risk_open_trend(risks)),
        "inherent_url": base + "likelihood=__L__&impact=__I__",
        "residual_url": base + "residual_likelihood=__L__&residual_impact=__I__",
        "levels": [5, 4, 3, 2, 1],
        "query": query,
    }
    return render(request, "governance/risks/risk_heatmap.html", context)


# --- one risk -------------------------------------------------------------------------------------


def _form_choices(request, systems_for_obligations=None) -> dict:
    user = request.user
    systems = selectors.system_choices(user=user)
    obligations = Obligation.objects.restrict(user, "risk.view").filter(applicable=True).select_related("system")
    if systems_for_obligations is not None:
        obligations = obligations.filter(system__in=systems_for_obligations)
    return {
        "systems": systems,
        "owners": selectors.owner_choices(user=user),
        "controls": Control.objects.restrict(user, "risk.view").order_by("name"),
        "obligations": obligations.order_by("system__name", "applies_from", "position"),
        "threats": selectors.threat_library_list(user=user),
        "components": SystemComponent.objects.restrict(user, "risk.view")
        .select_related("system")
        .order_by("system__name", "name"),
        "settings": selectors.risk_settings_get(organisation_id=user.organisation_id),
    }


def _initial_from_query(request) -> dict:
    """Pre-fill from the threat library or the threat model (?threat=&system=&component=)."""
    initial = {"owner": request.user.pk, "source": "assessment"}
    threat = selectors.threat_library_list(user=request.user).filter(pk=request.GET.get("threat") or 0).first()
    if threat is not None:
        initial.update(
            threat=threat.pk,
            title=threat.name,
            category="security",
            description=threat.description + "\n\nTypical controls: " + "; ".join(threat.typical_controls),
        )
    system = selectors.system_choices(user=request.user).filter(pk=request.GET.get("system") or 0).first()
    if system is not None:
        initial["systems"] = [system.pk]
    if (request.GET.get("component") or "").isdigit():
        initial["component"] = int(request.GET["component"])
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def risk_create(request):
    require_permission(request, "risk.view")
    choices = _form_choices(request)
    form = RiskForm(request.POST or None, initial=_initial_from_query(request), **choices)
    if request.method == "POST" and form.is_valid():
        risk = _attempt(
            request, lambda: services.risk_create(actor=request.user, data=form.service_data()), "Risk recorded."
        )
        if risk is not None:
            return redirect("governance:risk_detail", pk=risk.pk)
    return render(
        request,
        "governance/risks/risk_form.html",
        {"form": form, "settings": choices["settings"]},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def risk_detail(request, pk: int):
    require_permission(request, "risk.view")
    risk = selectors.risk_get(user=request.user, pk=pk)
    settings = selectors.risk_settings_get(organisation_id=request.user.organisation_id)
    may_edit = has_permission(request.user, "risk.manage") or risk.owner_id == request.user.pk
    context = {
        "risk": risk,
        "settings": settings,
        "revisions": selectors.risk_revisions(risk=risk),
        "band": services.scoring.band_of(risk.current_score, settings.bands),
        "may_edit": may_edit,
        "moves": [(s, RiskStatus(s).label) for s in RISK_TRANSITIONS[risk.status]],
        "transition_form": RiskTransitionForm(),
        "today": timezone.localdate(),
    }
    return render(request, "governance/risks/risk_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def risk_edit(request, pk: int):
    require_permission(request, "risk.view")
    risk = selectors.risk_get(user=request.user, pk=pk)
    choices = _form_choices(request)
    initial = {name: getattr(risk, name) for name in services.FIELDS}
    initial.update({name: list(getattr(risk, name).all()) for name in services.MANY})
    form = RiskForm(request.POST or None, initial=initial, **choices)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.service_data().items() if k != "status"}
        done = _attempt(
            request,
            lambda: services.risk_update(
                risk=risk, actor=request.user, changes=changes, reason=form.cleaned_data["reason"]
            ),
            "Risk updated.",
        )
        if done is not None:
            return redirect("governance:risk_detail", pk=risk.pk)
    return render(
        request,
        "governance/risks/risk_form.html",
        {"form": form, "risk": risk, "settings": choices["settings"]},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def risk_transition(request, pk: int):
    require_permission(request, "risk.view")
    risk = get_for_user(Risk.objects.all(), request.user, "risk.view", pk=pk)
    form = RiskTransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid status.")
    else:
        label = RiskStatus(form.cleaned_data["to_status"]).label.lower()
        _attempt(
            request,
            lambda: services.risk_transition(risk=risk, actor=request.user, **form.cleaned_data),
            f"The risk is now {label}.",
        )
    return redirect("governance:risk_detail", pk=pk)


# --- import -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def risk_import(request):
    require_permission(request, "risk.manage")
    if request.GET.get("template"):
        response = HttpResponse(importer.template_csv(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="risk-import-template.csv"'
        return response
    form = ImportForm(request.POST or None, request.FILES or None)
    report, error = None, None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:  # NotAllowed is not caught: core.views_errors answers it with the 403 page
            report = importer.risk_import(
                actor=request.user, raw=data["file"].read(), mode=data["mode"], apply=data["action"] == "apply"
            )
        except (ValidationFailed, Conflict) as exc:
            error = exc.message
    return render(
        request,
        "governance/risks/risk_import.html",
        {
            "form": form,
            "report": report,
            "error": error,
            "columns": importer.COLUMNS,
            "required": importer.REQUIRED_COLUMNS,
        },
        status=422 if error else 200,
    )


# --- saved views ----------------------------------------------------------------------------------


@login_required
@require_POST
def saved_view_save(request):
    require_permission(request, "risk.view")
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the view (at most 80 characters).")
        return redirect("governance:risk_list")
    view = _attempt(
        request,
        lambda: services.saved_view_save(actor=request.user, **form.cleaned_data),
        f"View “{form.cleaned_data['name']}” saved.",
    )
    return redirect(reverse("governance:risk_list") + (f"?{view.query}" if view and view.query else ""))


@login_required
@require_POST
def saved_view_delete(request, pk: int):
    require_permission(request, "risk.view")
    view = get_for_user(RiskSavedView.objects.filter(user=request.user), request.user, "risk.view", pk=pk)
    _attempt(request, lambda: services.saved_view_delete(actor=request.user, view=view), "View deleted.")
    return redirect("governance:risk_list")


# --- controls, library, threat model, settings ---------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def control_list(request):
    require_permission(request, "risk.view")
    owners = selectors.owner_choices(user=request.user)
    form = ControlForm(request.POST or None, owners=owners, initial={"owner": request.user.pk})
    if request.method == "POST":
        require_permission(request, "risk.manage")
        if form.is_valid() and _attempt(
            request, lambda: services.control_create(actor=request.user, **form.cleaned_data), "Control added."
        ):
            return redirect("governance:control_list")
    return render(
        request,
        "governance/risks/control_list.html",
        {
            "controls": selectors.control_list(user=request.user),
            "form": form,
            "may_manage": has_permission(request.user, "risk.manage"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def control_edit(request, pk: int):
    require_permission(request, "risk.manage")
    control = get_for_user(Control.objects.all(), request.user, "risk.manage", pk=pk)
    fields = ("name", "description", "control_type", "effectiveness", "owner")
    form = ControlForm(
        request.POST or None,
        owners=selectors.owner_choices(user=request.user),
        initial={f: getattr(control, f) for f in fields},
    )
    if request.method == "POST" and form.is_valid():
        if _attempt(
            request,
            lambda: services.control_update(control=control, actor=request.user, changes=form.cleaned_data),
            "Control updated.",
        ):
            return redirect("governance:control_list")
    return render(
        request,
        "governance/risks/control_edit.html",
        {"form": form, "control": control, "risks": control.risks.order_by("reference")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def threat_library(request):
    require_permission(request, "risk.view")
    form = ThreatForm(request.POST or None)
    if request.method == "POST":
        require_permission(request, "risk.manage")
        if form.is_valid() and _attempt(
            request,
            lambda: services.threat_create(actor=request.user, **form.service_data()),
            "Threat added to your library.",
        ):
            return redirect("governance:threat_library")
    return render(
        request,
        "governance/risks/threat_library.html",
        {
            "threats": selectors.threat_library_list(user=request.user),
            "form": form,
            "may_manage": has_permission(request.user, "risk.manage"),
        },
    )


@login_required
@require_GET
def threat_model(request, pk: int):
    require_permission(request, "risk.view")
    system = get_for_user(AISystem.objects.all(), request.user, "risk.view", pk=pk)
    components, unplaced = selectors.threat_model(user=request.user, system=system)
    library = selectors.threat_library_list(user=request.user)
    for entry in components:
        entry["form"] = ComponentThreatsForm(
            threats=library,
            initial={"threats": [t["threat"].pk for t in entry["threats"]]},
            prefix=f"c{entry['component'].pk}",
        )
    may_model = services._may_model_system(request.user, system)
    return render(
        request,
        "governance/risks/threat_model.html",
        {
            "system": system,
            "components": components,
            "unplaced": unplaced,
            "may_model": may_model,
            "component_form": ComponentForm(),
        },
    )


@login_required
@require_POST
def component_add(request, pk: int):
    require_permission(request, "risk.view")
    system = get_for_user(AISystem.objects.all(), request.user, "risk.view", pk=pk)
    form = ComponentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a kind and give the component a name.")
    else:
        _attempt(
            request,
            lambda: services.component_create(actor=request.user, system=system, **form.cleaned_data),
            "Component added with the threats usual for its kind.",
        )
    return redirect("governance:threat_model", pk=pk)


@login_required
@require_POST
def component_threats(request, pk: int):
    require_permission(request, "risk.view")
    component = get_for_user(SystemComponent.objects.select_related("system"), request.user, "risk.view", pk=pk)
    form = ComponentThreatsForm(
        request.POST, threats=selectors.threat_library_list(user=request.user), prefix=f"c{component.pk}"
    )
    if not form.is_valid():
        messages.error(request, "Pick threats from the library.")
    else:
        _attempt(
            request,
            lambda: services.component_set_threats(
                actor=request.user, component=component, threats=form.cleaned_data["threats"]
            ),
            "Threats updated.",
        )
    return redirect("governance:threat_model", pk=component.system_id)


@login_required
@require_http_methods(["GET", "POST"])
def risk_settings(request):
    require_permission(request, "risk.view")
    settings = selectors.risk_settings_get(organisation_id=request.user.organisation_id)
    may_change = has_permission(request.user, "risk.manage") or has_permission(request.user, "org.manage")
    form = SettingsForm(
        request.POST or None,
        settings=settings,
        initial={"appetite": settings.appetite, "review_reminder_days": settings.review_reminder_days},
    )
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied("Only a compliance officer or an organisation admin can change the risk settings.")
        if form.is_valid() and _attempt(
            request,
            lambda: services.risk_settings_update(
                actor=request.user,
                appetite=form.cleaned_data["appetite"],
                likelihood_scale=form.scale("likelihood"),
                impact_scale=form.scale("impact"),
                bands=settings.bands,
                review_reminder_days=form.cleaned_data["review_reminder_days"],
            ),
            "Risk settings saved.",
        ):
            return redirect("governance:risk_settings")
    return render(
        request,
        "governance/risks/risk_settings.html",
        {
            "form": form,
            "settings": settings,
            "may_change": may_change,
            "likelihood_rows": form.scale_rows("likelihood"),
            "impact_rows": form.scale_rows("impact"),
        },
    )
