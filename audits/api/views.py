from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from audits.api.serializers import AuditEventSerializer
from audits.filtersets import AuditEventFilterSet
from audits.selectors import audit_event_list
from core.permissions import HasPortalPermission


class AuditEventListApi(generics.ListAPIView):
    """Your organisation's audit trail, newest first, with the same filters as the web page."""

    permission_classes = [HasPortalPermission]
    permission = "audit.view"
    serializer_class = AuditEventSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilterSet

    def get_queryset(self):
        return audit_event_list(user=self.request.user)
