"""API of the risk register, so a GRC tool can sync: risks and controls, read and write.
Serializers check shape only; the services decide and their errors come out as
{"message", "code", "extra"} (score problems list every field in extra.problems)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from core.models import User
from core.permissions import HasPortalPermission
from governance.models import Obligation
from governance.risks import selectors, services
from governance.risks.choices import ControlEffectiveness, ControlType
from governance.risks.filtersets import RiskFilterSet
from governance.risks.models import Control, Risk, SystemComponent, Threat
from models_registry.models import AISystem


class _UserRef(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="display_name")


class RiskSerializer(serializers.ModelSerializer):
    systems = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    system_names = serializers.SerializerMethodField()
    controls = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    obligations = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    owner = _UserRef(read_only=True)
    accepted_by = _UserRef(read_only=True, allow_null=True)
    above_appetite = serializers.BooleanField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Risk
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "category",
            "source",
            "source_type",
            "source_id",
            "source_snapshot",
            "systems",
            "system_names",
            "owner",
            "likelihood",
            "impact",
            "inherent_score",
            "residual_likelihood",
            "residual_impact",
            "residual_score",
            "residual_reason",
            "current_score",
            "above_appetite",
            "is_overdue",
            "controls",
            "obligations",
            "threat",
            "component",
            "treatment",
            "acceptance_justification",
            "accepted_by",
            "accepted_at",
            "due_date",
            "next_review_date",
            "status",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_system_names(self, obj) -> list[str]:
        return [s.name for s in obj.systems.all()]


class _OrgField:
    """Related fields limited to the requesting user's organisation."""

    def get_queryset(self):
        user = self.context["request"].user
        return self.scoped(user)


class _SystemField(_OrgField, serializers.PrimaryKeyRelatedField):
    queryset = AISystem.objects.none()  # the model, for the schema; get_queryset scopes it

    def scoped(self, user):
        return AISystem.objects.filter(organisation_id=user.organisation_id)


class _ControlField(_OrgField, serializers.PrimaryKeyRelatedField):
    queryset = Control.objects.none()  # the model, for the schema; get_queryset scopes it

    def scoped(self, user):
        return Control.objects.filter(organisation_id=user.organisation_id)


class _ObligationField(_OrgField, serializers.PrimaryKeyRelatedField):
    queryset = Obligation.objects.none()  # the model, for the schema; get_queryset scopes it

    def scoped(self, user):
        return Obligation.objects.filter(organisation_id=user.organisation_id)


class _ThreatField(_OrgField, serializers.PrimaryKeyRelatedField):
    queryset = Threat.objects.none()  # the model, for the schema; get_queryset scopes it

    def scoped(self, user):
        return Threat.objects.filter(organisation_id__in=[user.organisation_id]) | Threat.objects.filter(
            organisation__isnull=True
        )


class _ComponentField(_OrgField, serializers.PrimaryKeyRelatedField):
    queryset = SystemComponent.objects.none()  # the model, for the schema; get_queryset scopes it

    def scoped(self, user):
        return SystemComponent.objects.filter(organisation_id=user.organisation_id)


class _OwnerField(_OrgField, serializers.SlugRelatedField):
    queryset = User.objects.none()  # the model, for the schema; get_queryset scopes it

    def scoped(self, user):
        return User.objects.filter(organisation_id=user.organisation_id)


class RiskWriteSerializer(serializers.Serializer):
    """Scores are plain integers here: the service says precisely what is wrong with them."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField()
    source = serializers.CharField(required=False)
    systems = _SystemField(many=True, help_text="AI system ids.")
    owner = _OwnerField(slug_field="username", required=False, help_text="User name; default: you.")
    likelihood = serializers.IntegerField()
    impact = serializers.IntegerField()
    residual_likelihood = serializers.IntegerField(required=False, allow_null=True)
    residual_impact = serializers.IntegerField(required=False, allow_null=True)
    residual_reason = serializers.CharField(required=False, allow_blank=True)
    controls = _ControlField(many=True, required=False)
    obligations = _ObligationField(many=True, required=False)
    threat = _ThreatField(required=False, allow_null=True)
    component = _ComponentField(required=False, allow_null=True)
    treatment = serializers.CharField(required=False)
    acceptance_justification = serializers.CharField(required=False, allow_blank=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    next_review_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(required=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, write_only=True, help_text="Why the change is made (kept in the history)."
    )


class ControlSerializer(serializers.ModelSerializer):
    owner = _OwnerField(slug_field="username", help_text="User name of the control's owner.")
    control_type = serializers.ChoiceField(choices=ControlType.choices)
    effectiveness = serializers.ChoiceField(choices=ControlEffectiveness.choices, required=False)
    risk_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Control
        fields = [
            "id",
            "name",
            "description",
            "control_type",
            "effectiveness",
            "owner",
            "risk_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "risk_count", "created_at", "updated_at"]


def _risk_out(request, risk: Risk) -> dict:
    risk = (
        selectors.risk_rows(selectors.risk_queryset(user=request.user))
        .prefetch_related("controls", "obligations")
        .get(pk=risk.pk)
    )
    return RiskSerializer(risk).data


class RiskListCreateApi(generics.ListAPIView):
    """Risks of your organisation, filterable like the register (system, category, owner, status,
    band, overdue, above_appetite, likelihood, impact, source_type, source_id, sort)."""

    permission_classes = [HasPortalPermission]
    permission = "risk.view"
    serializer_class = RiskSerializer
    filterset_class = RiskFilterSet

    def get_queryset(self):
        return (
            selectors.risk_rows(selectors.risk_queryset(user=self.request.user))
            .prefetch_related("controls", "obligations")
            .order_by("id")
        )

    @extend_schema(
        request=RiskWriteSerializer,
        responses={201: RiskSerializer},
        summary="Record a risk",
        description="Compliance officers record any risk; a system owner records risks on systems they registered.",
    )
    def post(self, request):
        serializer = RiskWriteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("reason", None)
        risk = services.risk_create(actor=request.user, data=data)
        return Response(_risk_out(request, risk), status=status.HTTP_201_CREATED)


class RiskDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasPortalPermission]
    permission = "risk.view"
    serializer_class = RiskSerializer

    def get_queryset(self):
        return selectors.risk_rows(selectors.risk_queryset(user=self.request.user)).prefetch_related(
            "controls", "obligations"
        )

    @extend_schema(
        request=RiskWriteSerializer,
        responses={200: RiskSerializer},
        summary="Change a risk (any fields, including its status)",
        description="Accepting (status accepted) needs acceptance_justification; above the appetite "
        "only a compliance officer may accept.",
    )
    def patch(self, request, pk: int):
        risk = get_object_or_404(Risk.objects.restrict(request.user, "risk.view"), pk=pk)
        serializer = RiskWriteSerializer(data=request.data, partial=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        reason = changes.pop("reason", "")
        risk = services.risk_update(risk=risk, actor=request.user, changes=changes, reason=reason)
        return Response(_risk_out(request, risk))


class ControlListCreateApi(generics.ListCreateAPIView):
    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "risk.view", "POST": "risk.manage"}
    serializer_class = ControlSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.control_list(user=self.request.user).order_by("id")

    @extend_schema(responses={201: ControlSerializer}, summary="Add a reusable control")
    def post(self, request, *args, **kwargs):
        serializer = ControlSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        control = services.control_create(actor=request.user, **serializer.validated_data)
        return Response(
            ControlSerializer(self.get_queryset().get(pk=control.pk), context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ControlDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "risk.view", "PATCH": "risk.manage"}
    serializer_class = ControlSerializer

    def get_queryset(self):
        return selectors.control_list(user=self.request.user)

    @extend_schema(request=ControlSerializer, responses={200: ControlSerializer}, summary="Change a control")
    def patch(self, request, pk: int):
        control = get_object_or_404(Control.objects.restrict(request.user, "risk.manage"), pk=pk)
        serializer = ControlSerializer(data=request.data, partial=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.control_update(control=control, actor=request.user, changes=serializer.validated_data)
        return Response(ControlSerializer(self.get_queryset().get(pk=pk), context={"request": request}).data)
