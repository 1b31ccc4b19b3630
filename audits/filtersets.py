import django_filters
from django.db.models import Q

from audits.models import AuditEvent


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
