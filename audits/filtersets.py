import django_filters
from django.db.models import Q

from audits.choices import CheckFamily, FindingStatus, RunStatus, Severity, Suite
from audits.models import Finding, ValidationRun
from core.filters import IntegerFilter
from core.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    """Serves the HTML list and the API list alike."""

    actor = django_filters.CharFilter(method="filter_actor", label="Actor")
    verb = django_filters.CharFilter(field_name="verb", lookup_expr="startswith", label="Verb")
    object_type = django_filters.CharFilter(field_name="object_type", label="Object type")
    object_id = django_filters.CharFilter(field_name="object_id", label="Object id")
    since = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__gte", label="From")
    until = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__lte", label="To")
    request_id = django_filters.CharFilter(field_name="request_id", label="Request id")

    class Meta:
        model = AuditEvent
        fields = ["actor", "verb", "object_type", "object_id", "since", "until", "request_id"]

    def filter_actor(self, queryset, name, value):
        return queryset.filter(Q(actor_username__iexact=value) | Q(actor_username__icontains=value))


class ValidationRunFilterSet(django_filters.FilterSet):
    """Serves the validations page and the API list."""

    system = IntegerFilter(field_name="system_id", label="AI system")
    model_version = IntegerFilter(field_name="model_version_id", label="Model version")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, label="Status")
    suite = django_filters.ChoiceFilter(choices=Suite.choices, label="Suite")

    class Meta:
        model = ValidationRun
        fields = ["system", "model_version", "status", "suite"]


class FindingFilterSet(django_filters.FilterSet):
    """Serves the findings page (organisation, one run, one model version) and the API list."""

    severity = django_filters.ChoiceFilter(choices=Severity.choices, label="Severity")
    category = django_filters.ChoiceFilter(choices=CheckFamily.choices, label="Category")
    system = IntegerFilter(field_name="system_id", label="AI system")
    status = django_filters.ChoiceFilter(choices=FindingStatus.choices, label="Status")
    article = django_filters.CharFilter(
        field_name="eu_ai_act_article", lookup_expr="istartswith", label="EU AI Act article"
    )
    run = IntegerFilter(field_name="run_id", label="Validation run")
    model_version = IntegerFilter(field_name="model_version_id", label="Model version")
    superseded_by = IntegerFilter(field_name="superseded_by_id", label="Superseded by validation run")

    class Meta:
        model = Finding
        fields = ["severity", "category", "system", "status", "article", "run", "model_version", "superseded_by"]

    def _shows_superseded(self) -> bool:
        data = self.form.cleaned_data if self.form.is_valid() else {}
        return data.get("status") == FindingStatus.SUPERSEDED or data.get("superseded_by") is not None

    def filter_queryset(self, queryset):
        """Findings a newer run superseded are left out unless asked for (status=superseded, or
        superseded_by=<run>): the list and its counts show the current findings."""
        queryset = super().filter_queryset(queryset)
        return queryset if self._shows_superseded() else queryset.exclude(status=FindingStatus.SUPERSEDED)

    def superseded_hidden(self) -> int:
        """How many findings matching the other filters are hidden because they were superseded."""
        if self._shows_superseded() or not self.form.is_valid():
            return 0
        queryset = super().filter_queryset(self.queryset)
        return queryset.filter(status=FindingStatus.SUPERSEDED).count()
