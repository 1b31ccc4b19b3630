"""Permission-filtered reads for organisations, users and the home page."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from core.choices import Role
from core.models import ApiToken, AuditEvent, Notification, User
from core.permissions import has_permission


def user_list(*, viewer: User, search: str = "", role: str = ""):
    if not has_permission(viewer, "users.manage"):
        return User.objects.none()
    users = User.objects.filter(organisation_id=viewer.organisation_id)
    if search:
        users = users.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    if role:
        users = users.filter(role=role)
    return users.order_by("username")


def _last_verification(organisation_id: int):
    return (
        AuditEvent.objects.filter(organisation_id=organisation_id, verb="audit_trail.verified")
        .order_by("-timestamp")
        .first()
    )


# The session key under which the log-in signal keeps the time of the log-in before this session's.
PREVIOUS_LOGIN_KEY = "previous_login"


def login_latest(*, user: User) -> datetime | None:
    """When the user last logged in, from the audit trail (None if never)."""
    return (
        AuditEvent.objects.filter(organisation_id=user.organisation_id, actor_id=user.pk, verb="auth.login")
        .order_by("-timestamp")
        .values_list("timestamp", flat=True)
        .first()
    )


def login_previous(*, session) -> datetime | None:
    """The log-in before the one that opened `session` (kept by the log-in signal), or None."""
    value = session.get(PREVIOUS_LOGIN_KEY) or ""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def home_stats(*, user: User) -> dict:
    """The numbers on a user's home page, all counted from the database."""
    now = timezone.now()
    org_events = AuditEvent.objects.filter(organisation_id=user.organisation_id)
    stats = {
        "my_events_7d": org_events.filter(actor_id=user.pk, timestamp__gte=now - timedelta(days=7)).count(),
        "my_tokens": ApiToken.objects.filter(user=user).filter(Q(expiry__isnull=True) | Q(expiry__gt=now)).count(),
    }
    if has_permission(user, "audit.view"):
        stats["org_events_7d"] = org_events.filter(timestamp__gte=now - timedelta(days=7)).count()
        stats["org_events_total"] = org_events.count()
        stats["failed_logins_24h"] = org_events.filter(
            verb="auth.login_failed", timestamp__gte=now - timedelta(hours=24)
        ).count()
        stats["last_verification"] = _last_verification(user.organisation_id)
    from core import home

    stats.update(home.collect(user=user))
    if has_permission(user, "users.manage"):
        members = User.objects.filter(organisation_id=user.organisation_id)
        by_role = dict(members.filter(is_active=True).values_list("role").annotate(n=Count("id")))
        stats["members_by_role"] = [(label, by_role.get(value, 0)) for value, label in Role.choices]
        stats["members_active"] = members.filter(is_active=True).count()
        stats["members_inactive"] = members.filter(is_active=False).count()
        stats["invitations_pending"] = members.filter(last_login__isnull=True, is_active=True).count()
    return stats


def notification_list(*, user: User):
    """The user's own notifications, newest first. Scoped to the user's organisation too, so a row
    can never surface outside the tenant it was written for."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=user.pk, organisation_id=user.organisation_id).order_by(
        "-created_at", "-id"
    )


def unread_count(*, user: User) -> int:
    """How many of the user's notifications are unread: one COUNT on the inbox index."""
    return notification_list(user=user).filter(read_at__isnull=True).count()
