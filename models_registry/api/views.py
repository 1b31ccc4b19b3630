from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import HasPortalPermission, get_for_user, has_permission
from models_registry import selectors, services
from models_registry.api.serializers import (
    AISystemSerializer,
    AISystemUpdateSerializer,
    AISystemWriteSerializer,
    DatasetSerializer,
    DatasetUploadSerializer,
    ModelVersionSerializer,
    ModelVersionUploadSerializer,
)
from models_registry.filtersets import AISystemFilterSet, DatasetFilterSet, ModelVersionFilterSet
from models_registry.models import Dataset, ModelVersion


def _own_system(view, request, pk, permission: str):
    """The system in the caller's organisation, else 404 (another organisation's id reads the same
    as a missing one); only then the permission, 403 for a role that may not do this to it."""
    system = selectors.system_get(user=request.user, pk=pk)
    if not has_permission(request.user, permission):
        view.permission_denied(request, message=f"Your role does not allow {permission}.")
    return system


def _upload_refused(request, system, kind):
    _ = request.data  # parse the body: the size guard runs while the upload streams in
    received = getattr(request._request, "upload_refused", None)
    if received:
        services.upload_cut_off(actor=request.user, system=system, kind=kind, received=received)


class SystemListCreateApi(generics.ListAPIView):
    """AI systems of your organisation. Filters: q, stage, role, risk_tier, owner, tag, sort."""

    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "system.view", "POST": "system.create"}
    serializer_class = AISystemSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AISystemFilterSet

    def get_queryset(self):
        return selectors.system_list(user=self.request.user)

    @extend_schema(
        request=AISystemWriteSerializer, responses={201: AISystemSerializer}, summary="Register an AI system"
    )
    def post(self, request):
        serializer = AISystemWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        system = services.system_create(actor=request.user, **serializer.validated_data)
        return Response(AISystemSerializer(system).data, status=status.HTTP_201_CREATED)


class SystemDetailApi(APIView):
    permission_classes = [HasPortalPermission]
    # PATCH: any member passes here; the system is looked up first (404), then system.change (403).
    permission_by_method = {"GET": "system.view", "PATCH": "system.view"}

    @extend_schema(responses=AISystemSerializer, summary="One AI system")
    def get(self, request, pk):
        return Response(AISystemSerializer(selectors.system_get(user=request.user, pk=pk)).data)

    @extend_schema(
        request=AISystemUpdateSerializer, responses=AISystemSerializer, summary="Change an AI system's facts"
    )
    def patch(self, request, pk):
        system = _own_system(self, request, pk, "system.change")
        serializer = AISystemUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        system = services.system_update(actor=request.user, system=system, **serializer.validated_data)
        return Response(AISystemSerializer(system).data)


class VersionListApi(generics.ListAPIView):
    """Model versions of your organisation. Filters: system, task, scan_verdict (pending, safe,
    refused), version_label."""

    permission_classes = [HasPortalPermission]
    permission = "system.view"
    serializer_class = ModelVersionSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModelVersionFilterSet

    def get_queryset(self):
        return selectors.version_list(user=self.request.user)


class _UploadApi(APIView):
    """POST a file for a system: one view shape for model versions and datasets. Any member passes
    the permission class; the system is looked up first (404), then `upload_permission` (403)."""

    permission_classes = [HasPortalPermission]
    permission = "system.view"
    parser_classes = [MultiPartParser, FormParser]
    kind = upload_permission = ""
    input_serializer = output_serializer = None
    register = None

    def post(self, request, pk):
        system = _own_system(self, request, pk, self.upload_permission)
        _upload_refused(request, system, self.kind)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = self.register(actor=request.user, system=system, **serializer.validated_data)
        # 202: registered, but its scan or profile outlasted the request and a worker decides it;
        # poll the detail endpoint until scan_verdict / profile_status is no longer "pending".
        answer = status.HTTP_202_ACCEPTED if created.scan_pending else status.HTTP_201_CREATED
        return Response(self.output_serializer(created).data, status=answer)


class _DetailApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "system.view"
    model = output_serializer = None

    def get(self, request, pk):
        obj = get_for_user(
            self.model.objects.select_related("artifact", "uploaded_by"), request.user, "system.view", pk=pk
        )
        return Response(self.output_serializer(obj).data)


@extend_schema(
    request={"multipart/form-data": ModelVersionUploadSerializer},
    responses={201: ModelVersionSerializer, 202: ModelVersionSerializer},
    summary="Upload a model version (scanned statically before it is accepted; 202 while the scan "
    "runs in the background)",
)
class VersionUploadApi(_UploadApi):
    upload_permission, kind = "model.upload", "model"
    input_serializer, output_serializer = ModelVersionUploadSerializer, ModelVersionSerializer
    register = staticmethod(services.model_version_register)


@extend_schema(responses=ModelVersionSerializer, summary="One model version, with its scan result")
class VersionDetailApi(_DetailApi):
    model, output_serializer = ModelVersion, ModelVersionSerializer


class DatasetListApi(generics.ListAPIView):
    """Datasets of your organisation (each with its profile_status: pending, profiled, refused).
    Filters: system, role, name."""

    permission_classes = [HasPortalPermission]
    permission = "system.view"
    serializer_class = DatasetSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DatasetFilterSet

    def get_queryset(self):
        return selectors.dataset_list(user=self.request.user)


@extend_schema(
    request={"multipart/form-data": DatasetUploadSerializer},
    responses={201: DatasetSerializer, 202: DatasetSerializer},
    summary="Upload a dataset (CSV or Parquet); its schema is inferred (202 while that runs in the background)",
)
class DatasetUploadApi(_UploadApi):
    upload_permission, kind = "dataset.upload", "dataset"
    input_serializer, output_serializer = DatasetUploadSerializer, DatasetSerializer
    register = staticmethod(services.dataset_register)


@extend_schema(responses=DatasetSerializer, summary="One dataset, with its inferred schema")
class DatasetDetailApi(_DetailApi):
    model, output_serializer = Dataset, DatasetSerializer
