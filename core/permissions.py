"""Permission checks shared by HTML views and the API."""

from __future__ import annotations

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.permissions import BasePermission

from core.choices import ALL_PERMISSIONS, ROLE_PERMISSIONS


def has_permission(user, permission: str) -> bool:
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.organisation_id is None:
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def require_permission(request, permission: str) -> None:
    """HTML views: 403 unless the signed-in user's role grants `permission`."""
    if not has_permission(request.user, permission):
        raise PermissionDenied(f"Your role does not allow {permission}.")


def permissions_of(user) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return frozenset()
    return ROLE_PERMISSIONS.get(user.role, frozenset())


def get_for_user(queryset, user, permission: str, **lookup):
    """Fetch one organisation-owned object or raise 404: an object of another organisation is
    indistinguishable from one that does not exist."""
    try:
        return queryset.restrict(user, permission).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError):
        raise Http404 from None


class PermissionRequiredMixin(AccessMixin):
    """HTML views: anonymous users go to the login page, members without the permission get 403."""

    permission: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not has_permission(request.user, self.permission):
            raise PermissionDenied(f"Your role does not allow {self.permission}.")
        return super().dispatch(request, *args, **kwargs)


class HasPortalPermission(BasePermission):
    """API views: set `permission` (or `permission_by_method`) on the view."""

    def has_permission(self, request, view) -> bool:
        by_method = getattr(view, "permission_by_method", {})
        needed = by_method.get(request.method, getattr(view, "permission", ""))
        if not needed:
            return bool(request.user and request.user.is_authenticated)
        return has_permission(request.user, needed)
