"""The person-written part of a system's Annex IV technical documentation: one row per point
(1(a) ... 9) that someone has written text for. What the portal fills from the record is assembled
fresh on every read (audits/reports/annex_iv.py) and never stored here."""

from django.conf import settings
from django.db import models

from core.models import OrgOwnedModel


class AnnexIVEntry(OrgOwnedModel):
    """What a person added to one Annex IV point of one system. `revision` counts the saves: an
    edit based on an older revision is refused (optimistic concurrency), never silently applied."""

    system = models.ForeignKey("models_registry.AISystem", on_delete=models.PROTECT, related_name="annex_iv_entries")
    point = models.CharField(max_length=10, help_text='The Annex IV point, e.g. "2(b)".')
    text = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=0)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "audits"
        verbose_name = "Annex IV entry"
        verbose_name_plural = "Annex IV entries"
        ordering = ["system", "point"]
        constraints = [models.UniqueConstraint(fields=["system", "point"], name="annex_iv_entry_unique_per_point")]

    def __str__(self) -> str:
        return f"Annex IV {self.point} of {self.system}"


class ReportJob(OrgOwnedModel):
    """One request for a submission's PDF report, prepared by a worker (issue #13: the first PDF
    takes about 10 s). A done job whose `source_sha256` still matches the submission is reused."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUS_CHOICES = [(QUEUED, "Waiting for a worker"), (RUNNING, "Preparing"), (DONE, "Ready"), (FAILED, "Failed")]

    submission = models.ForeignKey("audits.Submission", on_delete=models.PROTECT, related_name="report_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100.")
    stage = models.CharField(max_length=120, blank=True)
    error_message = models.TextField(blank=True)
    source_sha256 = models.CharField(max_length=64, help_text="What the PDF is built from (version and fingerprint).")
    file_path = models.CharField(max_length=500, blank=True, help_text="Under DATA_DIR.")
    claim_token = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "audits"
        ordering = ["-pk"]
        indexes = [models.Index(fields=["submission", "status"], name="report_job_sub_status")]

    def __str__(self) -> str:
        return f"PDF report job {self.pk} of {self.submission_id} ({self.status})"
