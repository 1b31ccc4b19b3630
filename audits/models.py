from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One entry of the tamper-evident audit trail. Written only by `audits.trail.audit_record`.

    Append-only: the application never updates or deletes rows, and on PostgreSQL a trigger
    (migration 0002) makes the database refuse UPDATE and DELETE as well.
    """

    chain = models.CharField(max_length=40, help_text='"org:<id>" or "platform".')
    seq = models.PositiveBigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    timestamp = models.DateTimeField(db_index=True)
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    # Actor details are copied, not only referenced: the trail must still read correctly after a
    # user is renamed, changes role or is deactivated.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")
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
        ordering = ["-timestamp", "-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq_unique")]
        indexes = [
            models.Index(fields=["organisation", "-timestamp"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor_username or 'system'} {self.verb}"

    def as_record(self) -> dict:
        from audits.chain import HASHED_FIELDS

        record = {field: getattr(self, field) for field in HASHED_FIELDS}
        record.update(id=self.id, hash=self.hash)
        return record


class AuditChainHead(models.Model):
    """The last (seq, hash) of each chain. Locked while an event is appended, which serialises
    writers of one chain, and compared by verification to catch a deleted tail."""

    chain = models.CharField(max_length=40, unique=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.chain} @ {self.seq}"
