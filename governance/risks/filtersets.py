"""One filterset for the register page, its exports, the heatmap and the API list."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from core.filters import IntegerFilter
from core.models import User
from core.widgets import FastSelect
from governance.risks.choices import RiskCategory, RiskStatus, Treatment
from governance.risks.models import Risk
from governance.risks.scoring import DEFAULT_BANDS
from models_registry.models import AISystem

SORTS = {
    "score": ("-current_score", "id"),
    "-score": ("current_score", "id"),
    "inherent": ("-inherent_score", "id"),
    "residual": ("-residual_score", "id"),
    "review": ("next_review_date", "id"),
    "due": ("due_date", "id"),
    "title": ("title", "id"),
    "reference": ("id",),
    "-reference": ("-id",),
    "updated": ("-updated_at", "-id"),
    "owner": ("owner__username", "id"),
    "status": ("status", "id"),
}
STATUS_CHOICES = [("active", "Not closed"), *RiskStatus.choices]


def _systems(request):
    if request is None or not request.user.is_authenticated:
        return AISystem.objects.none()
    # Only what the options show: a filter may list thousands of systems.
    return AISystem.objects.restrict(request.user, "risk.view").only("id", "name").order_by("name")


def _owners(request):
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    return User.objects.filter(organisation_id=request.user.organisation_id).order_by("username")


class RiskFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    system = django_filters.ModelChoiceFilter(
        field_name="systems", queryset=_systems, label="System", empty_label="all", distinct=True, widget=FastSelect
    )
    category = django_filters.ChoiceFilter(choices=RiskCategory.choices, label="Category", empty_label="all")
    owner = django_filters.ModelChoiceFilter(queryset=_owners, label="Owner", empty_label="all", widget=FastSelect)
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", label="Status", empty_label="all"
    )
    treatment = django_filters.ChoiceFilter(choices=Treatment.choices, label="Treatment", empty_label="all")
    band = django_filters.ChoiceFilter(
        choices=[(b["key"], b["label"]) for b in DEFAULT_BANDS],
        method="filter_band",
        label="Score band",
        empty_label="all",
    )
    overdue = django_filters.BooleanFilter(
        field_name="is_overdue", label="Overdue", widget=django_filters.widgets.BooleanWidget()
    )
    above_appetite = django_filters.BooleanFilter(
        field_name="above_appetite", label="Above appetite", widget=django_filters.widgets.BooleanWidget()
    )
    likelihood = IntegerFilter(label="Likelihood", min_value=1, max_value=5)
    impact = IntegerFilter(label="Impact", min_value=1, max_value=5)
    residual_likelihood = IntegerFilter(label="Residual likelihood", min_value=1, max_value=5)
    residual_impact = IntegerFilter(label="Residual impact", min_value=1, max_value=5)
    source_type = django_filters.CharFilter(label="Source type")
    source_id = django_filters.CharFilter(label="Source id")
    sort = django_filters.ChoiceFilter(
        choices=[(k, k) for k in SORTS], method="sort_by", label="Sort", empty_label=None
    )

    class Meta:
        model = Risk
        fields = [
            "q",
            "system",
            "category",
            "owner",
            "status",
            "treatment",
            "band",
            "overdue",
            "above_appetite",
            "likelihood",
            "impact",
            "residual_likelihood",
            "residual_impact",
            "source_type",
            "source_id",
            "sort",
        ]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(title__icontains=value) | Q(description__icontains=value) | Q(reference__iexact=value.strip())
        )

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.exclude(status=RiskStatus.CLOSED)
        return queryset.filter(status=value)

    def filter_band(self, queryset, name, value):
        """Bands are the organisation's own (by key); the score is the current one."""
        from governance.risks.selectors import band_list

        user = getattr(self.request, "user", None)
        bands = (
            band_list(organisation_id=user.organisation_id)
            if user is not None and user.is_authenticated
            else DEFAULT_BANDS
        )
        band = next((b for b in bands if b["key"] == value), None)
        if band is None:
            return queryset.none()
        return queryset.filter(current_score__gte=band["min"], current_score__lte=band["max"])

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*SORTS[value])
