import django_filters
from django.db.models import Q

from core.filters import IntegerFilter
from models_registry.choices import DatasetRole, LifecycleStage, OperatorRole, RiskTier, Task
from models_registry.models import AISystem, Dataset, ModelVersion

SORTS = {
    "name": "name",
    "-name": "-name",
    "stage": "lifecycle_stage",
    "-stage": "-lifecycle_stage",
    "risk": "risk_tier",
    "-risk": "-risk_tier",
    "updated": "updated_at",
    "-updated": "-updated_at",
    "versions": "version_count",
    "-versions": "-version_count",
}


class AISystemFilterSet(django_filters.FilterSet):
    """Serves the inventory page, its CSV export and the API list."""

    q = django_filters.CharFilter(method="search", label="Search")
    stage = django_filters.ChoiceFilter(field_name="lifecycle_stage", choices=LifecycleStage.choices, label="Stage")
    role = django_filters.ChoiceFilter(field_name="operator_role", choices=OperatorRole.choices, label="Role")
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices, label="Risk tier")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner")
    tag = django_filters.CharFilter(field_name="tags__name", lookup_expr="iexact", label="Tag", distinct=True)
    sort = django_filters.ChoiceFilter(
        method="sort_by", choices=[(k, k) for k in SORTS], label="Sort", empty_label=None
    )

    class Meta:
        model = AISystem
        fields = ["q", "stage", "role", "risk_tier", "owner", "tag", "sort"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value)
            | Q(purpose__icontains=value)
            | Q(intended_use__icontains=value)
            | Q(third_party_vendor__icontains=value)
            | Q(tags__name__icontains=value)
        ).distinct()

    def filter_owner(self, queryset, name, value):
        return queryset.filter(Q(owner_team__icontains=value) | Q(business_owner__icontains=value))

    def sort_by(self, queryset, name, value):
        return queryset.order_by(SORTS[value], "name")


class ModelVersionFilterSet(django_filters.FilterSet):
    system = IntegerFilter(field_name="system_id")
    task = django_filters.ChoiceFilter(choices=Task.choices)
    scan_verdict = django_filters.CharFilter()
    version_label = django_filters.CharFilter()

    class Meta:
        model = ModelVersion
        fields = ["system", "task", "scan_verdict", "version_label"]


class DatasetFilterSet(django_filters.FilterSet):
    system = IntegerFilter(field_name="system_id")
    role = django_filters.ChoiceFilter(choices=DatasetRole.choices)
    name = django_filters.CharFilter()

    class Meta:
        model = Dataset
        fields = ["system", "role", "name"]
