from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from knox.models import AbstractAuthToken

from core.choices import Role


class Organisation(models.Model):
    """A tenant. Every domain object belongs to exactly one organisation."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrgScopedQuerySet(models.QuerySet):
    """Querysets of organisation-owned objects, filtered to what a user may see."""

    def restrict(self, user, permission: str = "") -> OrgScopedQuerySet:
        from core.permissions import has_permission

        if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
            return self.none()
        if permission and not has_permission(user, permission):
            return self.none()
        return self.filter(**{self.model.organisation_field: user.organisation_id})


class UserManagerScoped(UserManager.from_queryset(OrgScopedQuerySet)):
    pass


class User(AbstractUser):
    """A person. Staff superusers may have no organisation; everyone else has one and one role."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="members")
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    job_title = models.CharField(max_length=120, blank=True)

    objects = UserManagerScoped()
    organisation_field = "organisation_id"

    class Meta:
        ordering = ["username"]
        constraints = [
            # A member of an organisation always has a role, and a role only means something
            # inside an organisation.
            models.CheckConstraint(
                condition=(models.Q(organisation__isnull=True, role="")
                           | models.Q(organisation__isnull=False) & ~models.Q(role="")),
                name="user_role_iff_organisation",
            ),
        ]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def __str__(self) -> str:
        return self.display_name


class OrgOwnedModel(models.Model):
    """Base for every domain object: it belongs to one organisation, and reads go through
    `Model.objects.restrict(user, permission)` so another organisation's rows are never found."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    organisation_field = "organisation_id"
    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class ApiToken(AbstractAuthToken):
    """An API token for CI pipelines. Only a digest is stored (django-rest-knox); the secret is
    shown once, when it is created."""

    name = models.CharField(max_length=80)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"


class Notification(models.Model):
    """A message to one person, shown in the portal and optionally e-mailed. Written only through
    `core.notifications.notification_send`; `url` is a path inside the portal, never another site."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64, help_text="What happened, e.g. risk.review_due.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="A path inside the portal, e.g. /risks/3/.")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    organisation_field = "organisation_id"
    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The bell's unread count and the inbox page: one user's rows, unread first, newest first.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"),
        ]
        constraints = [
            # Only a local path: a notification must never become an open redirect. "//host" and
            # "/\host" are read by browsers as another site.
            models.CheckConstraint(
                condition=models.Q(url="") | (models.Q(url__startswith="/") & ~models.Q(url__startswith="//")
                                              & ~models.Q(url__startswith="/\\")),
                name="notification_url_is_local_path",
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="notification_title_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient}"
