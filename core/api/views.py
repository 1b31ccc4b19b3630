from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import home
from core.api.serializers import MeSerializer, QueueSerializer, UserCreateSerializer, UserRoleSerializer, UserSerializer
from core.models import User
from core.permissions import HasPortalPermission
from core.selectors import user_list
from core.services import user_change_role, user_create


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
