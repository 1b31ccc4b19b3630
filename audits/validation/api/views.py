"""API of validation runs and findings: start, read (for CI to poll), cancel, list."""

from django.db.models import Prefetch, prefetch_related_objects
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audits import selectors
from audits.filtersets import FindingFilterSet, ValidationRunFilterSet
from audits.models import CheckResultRecord, Finding
from audits.validation.api.serializers import (
    CancelSerializer,
    FindingSerializer,
    ValidationRunDetailSerializer,
    ValidationRunSerializer,
    ValidationStartSerializer,
)
from audits.validation.services import validation_cancel, validation_start
from core.permissions import HasPortalPermission


def _run_detail(request, pk):
    run = selectors.validation_run_get(user=request.user, pk=pk)
    with_charts = request.query_params.get("charts") in ("1", "true", "yes")
    results = CheckResultRecord.objects.order_by("check_id")
    if not with_charts:
        results = results.defer("charts")
    findings = Finding.objects.select_related("system", "model_version").order_by("check_id")
    prefetch_related_objects([run], Prefetch("results", queryset=results), Prefetch("findings", queryset=findings))
    return ValidationRunDetailSerializer(run, context={"request": request, "with_charts": with_charts}).data


class ValidationListStartApi(generics.ListAPIView):
    """Validation runs of your organisation, newest first. Filters: system, model_version, status, suite."""

    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "validation.view", "POST": "validation.start"}
    serializer_class = ValidationRunSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ValidationRunFilterSet

    def get_queryset(self):
        return selectors.validation_run_list(user=self.request.user)

    @extend_schema(summary="List validation runs")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ValidationStartSerializer,
        responses={202: ValidationRunDetailSerializer},
        summary="Start a validation run (202: queued for a worker; poll its status)",
    )
    def post(self, request):
        serializer = ValidationStartSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        run = validation_start(actor=request.user, **serializer.validated_data)
        # 202 Accepted: the run is stored and queued, and runs later on a worker. Also while the
        # broker is down: the run then waits in the outbox (`waiting_for_broker`) and is sent later.
        return Response(_run_detail(request, run.pk), status=status.HTTP_202_ACCEPTED)


class ValidationDetailApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "validation.view"

    @extend_schema(
        responses=ValidationRunDetailSerializer,
        parameters=[OpenApiParameter("charts", OpenApiTypes.BOOL, description="Include plotly figures")],
        summary="One validation run: status, progress, summary, findings and results (poll from CI)",
    )
    def get(self, request, pk):
        return Response(_run_detail(request, pk))


class ValidationCancelApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "validation.start"

    @extend_schema(
        request=CancelSerializer,
        responses=ValidationRunSerializer,
        summary="Cancel a validation run (a running one stops after its current check)",
    )
    def post(self, request, pk):
        run = selectors.validation_run_get(user=request.user, pk=pk)
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = validation_cancel(actor=request.user, run=run, reason=serializer.validated_data.get("reason", ""))
        return Response(ValidationRunSerializer(run).data)


class FindingListApi(generics.ListAPIView):
    """Findings of your organisation. Filters: severity, category, system, status, article, run, model_version."""

    permission_classes = [HasPortalPermission]
    permission = "finding.view"
    serializer_class = FindingSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = FindingFilterSet

    def get_queryset(self):
        return selectors.finding_list(user=self.request.user)

    @extend_schema(summary="List findings")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
