from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import home
from core.api.serializers import (
    MeSerializer,
    OrganisationSettingsSerializer,
    QueueSerializer,
    UserCreateSerializer,
    UserRoleSerializer,
    UserSerializer,
)
from core.models import User
from core.permissions import HasPortalPermission
from core.selectors import user_list
from core.services import organisation_four_eyes_set, user_change_role, user_create


class MeApi(APIView):
    @extend_schema(responses=MeSerializer, summary="The authenticated user, their role and permissions")
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class MyQueuesApi(APIView):
    """What waits for the authenticated person: the work queues of their role, as on their home page."""

    @extend_schema(responses=QueueSerializer(many=True), summary="Your work queues (what waits for you)")
    def get(self, request):
        if request.user.organisation_id is None:
            return Response([])
        return Response(QueueSerializer(home.collect_queues(user=request.user), many=True).data)


class OrganisationSettingsApi(APIView):
    """Your organisation's settings: everyone reads them, the organisation admin changes them."""

    permission_classes = [HasPortalPermission]
    permission_by_method = {"GET": "home.view", "PUT": "org.manage"}

    @extend_schema(responses=OrganisationSettingsSerializer, summary="Your organisation's settings")
    def get(self, request):
        return Response({"four_eyes_high_risk": request.user.organisation.four_eyes_high_risk})

    @extend_schema(
        request=OrganisationSettingsSerializer,
        responses=OrganisationSettingsSerializer,
        summary="Change your organisation's settings (organisation admin; recorded in the audit trail)",
    )
    def put(self, request):
        serializer = OrganisationSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organisation = organisation_four_eyes_set(
            organisation=request.user.organisation,
            enabled=serializer.validated_data["four_eyes_high_risk"],
            actor=request.user,
        )
        return Response({"four_eyes_high_risk": organisation.four_eyes_high_risk})


class UserListCreateApi(generics.ListAPIView):
    """Members of your organisation (organisation admins only)."""

    permission_classes = [HasPortalPermission]
    permission = "users.manage"
    serializer_class = UserSerializer

    def get_queryset(self):
        return user_list(
            viewer=self.request.user,
            search=self.request.query_params.get("search", ""),
            role=self.request.query_params.get("role", ""),
        )

    @extend_schema(
        request=UserCreateSerializer,
        responses={201: UserSerializer},
        summary="Create (invite) a member of your organisation",
    )
    def post(self, request):
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_create(actor=request.user, organisation=request.user.organisation, **serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class UserRoleApi(APIView):
    permission_classes = [HasPortalPermission]
    permission = "users.manage"

    @extend_schema(request=UserRoleSerializer, responses=UserSerializer, summary="Change a member's role")
    def post(self, request, pk: int):
        member = get_object_or_404(User.objects.restrict(request.user, "users.manage"), pk=pk)
        serializer = UserRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = user_change_role(actor=request.user, user=member, **serializer.validated_data)
        return Response(UserSerializer(member).data)
