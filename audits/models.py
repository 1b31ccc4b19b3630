from django.conf import settings
from django.db import models

from audits.choices import CheckStatus, FindingStatus, RunStatus, Severity, Suite
from core.models import OrgOwnedModel

# --- validation runs ---------------------------------------------------------------------------


class ValidationPolicySettings(OrgOwnedModel):
    """Whether an organisation lets people override the validation policy for a run, and which
    policy keys stay locked. An organisation without a row allows every override."""

    organisation = models.OneToOneField("core.Organisation", on_delete=models.PROTECT, related_name="+")
    allow_overrides = models.BooleanField(default=True)
    locked_keys = models.JSONField(
        default=list, blank=True, help_text='Dotted policy keys nobody may override, e.g. "fairness.dp_ratio_min".'
    )

    class Meta:
        verbose_name_plural = "validation policy settings"

    def __str__(self) -> str:
        return f"Validation policy settings of {self.organisation}"


class ValidationRun(OrgOwnedModel):
    """One run of a check suite on a model version (or on predictions only) and its datasets.

    Status, progress and heartbeat live on this row; the worker claims it with a conditional
    UPDATE, so a re-delivered task message finds it taken and exits.
    """

    system = models.ForeignKey("models_registry.AISystem", on_delete=models.PROTECT, related_name="validation_runs")
    model_version = models.ForeignKey(
        "models_registry.ModelVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="validation_runs",
        help_text="Empty for a predictions-only run.",
    )
    train_dataset = models.ForeignKey(
        "models_registry.Dataset", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    test_dataset = models.ForeignKey("models_registry.Dataset", on_delete=models.PROTECT, related_name="+")
    task = models.CharField(max_length=20)
    suite = models.CharField(max_length=10, choices=Suite.choices)
    policy_overrides = models.JSONField(default=dict, blank=True)
    policy = models.JSONField(default=dict, help_text="The resolved policy: defaults plus overrides.")
    policy_version = models.CharField(max_length=20)
    seed = models.IntegerField(default=0)
    time_limit_s = models.PositiveIntegerField()
    memory_limit_mb = models.PositiveIntegerField()

    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    claim_token = models.CharField(
        max_length=32,
        blank=True,
        help_text="Set when a worker claims the run; a retry of that task resumes with it. "
        "A takeover replaces it, which fences the previous worker out: every "
        "write of a worker is conditional on its token.",
    )
    # Attempts: a run whose worker died (no heartbeat for stale_after_s) is taken over by the next
    # delivery of its message and started again, up to VALIDATION_MAX_ATTEMPTS times.
    attempts = models.PositiveSmallIntegerField(default=0, help_text="How many times a worker started this run.")
    attempt_log = models.JSONField(
        default=list,
        blank=True,
        help_text="One entry per attempt: number, worker, started_at, and why the previous attempt was given up.",
    )
    stale_after_s = models.PositiveIntegerField(
        default=300,
        help_text="No heartbeat for this long means the worker is gone (VALIDATION_STALE_AFTER_S when "
        "the run was started): the run may be taken over, and the reaper acts on it.",
    )
    # The outbox: the row is the message. published_at stays empty until the broker accepted a
    # message for the run; a periodic task sends the runs whose publish failed.
    published_at = models.DateTimeField(null=True, blank=True, help_text="When the broker last accepted its message.")
    publish_attempts = models.PositiveIntegerField(default=0, help_text="Failed attempts to hand it to the broker.")
    publish_error = models.TextField(blank=True, help_text="Why the last attempt to publish failed.")
    next_publish_at = models.DateTimeField(
        null=True, blank=True, help_text="When the outbox sweep may next try to publish it."
    )
    stage = models.CharField(max_length=60, blank=True)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    checks_done = models.PositiveSmallIntegerField(default=0)
    checks_total = models.PositiveSmallIntegerField(default=0)
    current_check = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    error_message = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)
    reproducibility = models.JSONField(default=dict, blank=True)
    peak_memory_mb = models.FloatField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["status", "published_at", "next_publish_at"], name="validation_outbox"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress_percent__lte=100), name="validation_progress_max_100"),
        ]

    def __str__(self) -> str:
        target = self.model_version.version_label if self.model_version_id else "predictions"
        return f"Validation #{self.pk} of {self.system.name} {target}"

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def waiting_for_broker(self) -> bool:
        """Queued, but the broker has not accepted its message yet (it was down): the outbox sweep retries."""
        return self.status == RunStatus.QUEUED and self.published_at is None and self.publish_attempts > 0


class CheckResultRecord(models.Model):
    """The stored result of one check of one run. Upserted by (run, check_id): a re-delivered
    task message rewrites the same rows instead of adding new ones."""

    run = models.ForeignKey(ValidationRun, on_delete=models.CASCADE, related_name="results")
    check_id = models.CharField(max_length=20)
    family = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=15, choices=CheckStatus.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    value = models.FloatField(null=True, blank=True)
    threshold = models.JSONField(null=True, blank=True)
    ci = models.JSONField(null=True, blank=True)
    summary = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    charts = models.JSONField(default=list, blank=True)
    finding = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_s = models.FloatField(default=0)

    class Meta:
        ordering = ["run", "check_id"]
        constraints = [models.UniqueConstraint(fields=["run", "check_id"], name="check_result_unique_per_run")]

    def __str__(self) -> str:
        return f"{self.check_id} {self.status}"


class Finding(OrgOwnedModel):
    """A problem a check found (a warn or fail result), in words an auditor can act on."""

    run = models.ForeignKey(ValidationRun, on_delete=models.PROTECT, related_name="findings")
    model_version = models.ForeignKey(
        "models_registry.ModelVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="findings"
    )
    system = models.ForeignKey("models_registry.AISystem", on_delete=models.PROTECT, related_name="findings")
    check_id = models.CharField(max_length=20)
    category = models.CharField(max_length=30, db_index=True)
    check_status = models.CharField(max_length=15, choices=CheckStatus.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, db_index=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    affected = models.JSONField(null=True, blank=True)
    evidence = models.JSONField(null=True, blank=True)
    recommendation = models.TextField(blank=True)
    eu_ai_act_article = models.CharField(max_length=40, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=FindingStatus.choices, default=FindingStatus.OPEN, db_index=True)
    # Set when a newer succeeded run of the same version and suite closed this finding undecided.
    superseded_by = models.ForeignKey(
        ValidationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_findings"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "check_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "check_id"], name="finding_unique_per_run"),
            # A superseded finding always names the run that superseded it.
            models.CheckConstraint(
                condition=~models.Q(status=FindingStatus.SUPERSEDED) | models.Q(superseded_by__isnull=False),
                name="superseded_finding_names_its_run",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.check_id}: {self.title}"


# --- certification (auditor review, sign-off, certificates) -------------------------------------
from audits.certification.models import (  # noqa: E402,F401  (models live in a package of their own)
    Certificate,
    Condition,
    ConflictOfInterest,
    DissentingOpinion,
    FindingComment,
    FindingDecision,
    Rerun,
    ReviewAssignment,
    SignOff,
    Submission,
    SubmissionCounter,
)

# --- the person-written part of the Annex IV technical documentation -----------------------------
from audits.reports.models import AnnexIVEntry, ReportJob  # noqa: E402,F401
