from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from knox.models import AbstractAuthToken

from core.choices import Role


class Organisation(models.Model):
    """A tenant. Every domain object belongs to exactly one organisation."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    four_eyes_high_risk = models.BooleanField(
        "Four-eyes on high-risk classification",
        default=True,
        help_text="A high-risk or prohibited EU AI Act determination must be approved by someone who did not "
        "answer or submit it.",
    )
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

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
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
                condition=(
                    models.Q(organisation__isnull=True, role="")
                    | models.Q(organisation__isnull=False) & ~models.Q(role="")
                ),
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
    # A digest gathers what one batch (or a few minutes of clicks) did to one object into one row:
    # `digest_key` names the object and the batch, `digest_title` is the title with {count}, {s} and
    # {tallies} to fill in, `digest_items` the lines ({"text", "tally"}) gathered so far.
    digest_key = models.CharField(max_length=200, blank=True, default="")
    digest_title = models.CharField(max_length=200, blank=True, default="")
    digest_items = models.JSONField(default=list, blank=True)

    organisation_field = "organisation_id"
    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The bell's unread count and the inbox page: one user's rows, unread first, newest first.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"),
            # Finding the open digest a new item joins: one person's rows of one kind about one object.
            models.Index(fields=["recipient", "kind", "digest_key"], name="notification_digest_idx"),
        ]
        constraints = [
            # Only a local path: a notification must never become an open redirect. "//host" and
            # "/\host" are read by browsers as another site.
            models.CheckConstraint(
                condition=models.Q(url="")
                | (models.Q(url__startswith="/") & ~models.Q(url__startswith="//") & ~models.Q(url__startswith="/\\")),
                name="notification_url_is_local_path",
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="notification_title_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient}"


class NotificationPreference(models.Model):
    """A person's choice for one kind of notification: in the portal only, or also by e-mail.
    Without a row the kind is e-mailed too (the portal's behaviour before preferences existed)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=64)
    email = models.BooleanField(default=True, help_text="Also send an e-mail, not only the in-portal message.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}: {'e-mail' if self.email else 'portal only'}"


# --- the audit trail (written by core.trail, verified by audits.services) ----------------------


class AuditEvent(models.Model):
    """One entry of the tamper-evident audit trail. Written only by `core.trail.audit_record`.

    Append-only: the application never updates or deletes rows, and on PostgreSQL a trigger
    (audits migrations 0003 and 0007) makes the database refuse UPDATE, DELETE and TRUNCATE as well.
    The table keeps its first name, audits_auditevent: the model moved from `audits` to `core`
    (issue #12 item 17) without touching a row or the triggers.
    """

    chain = models.CharField(max_length=40, help_text='"org:<id>" or "platform".')
    seq = models.PositiveBigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    timestamp = models.DateTimeField(db_index=True)
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Actor details are copied, not only referenced: the trail must still read correctly after a
    # user is renamed, changes role or is deactivated.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    verb = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    origin = models.CharField(max_length=16, blank=True)

    class Meta:
        db_table = "audits_auditevent"  # kept from the audits app: the append-only triggers name it
        ordering = ["-timestamp", "-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq_unique")]
        indexes = [
            models.Index(fields=["organisation", "-timestamp"], name="audits_audi_organis_8b0b88_idx"),
            models.Index(fields=["object_type", "object_id"], name="audits_audi_object__148ded_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor_username or 'system'} {self.verb}"

    def as_record(self) -> dict:
        from core.chain import HASHED_FIELDS

        record = {field: getattr(self, field) for field in HASHED_FIELDS}
        record.update(id=self.id, hash=self.hash)
        return record


class AuditChainHead(models.Model):
    """The last (seq, hash) of each chain. Locked while an event is appended, which serialises
    writers of one chain, and compared by verification to catch a deleted tail."""

    chain = models.CharField(max_length=40, unique=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "audits_auditchainhead"  # kept from the audits app (see AuditEvent)

    def __str__(self) -> str:
        return f"{self.chain} @ {self.seq}"
