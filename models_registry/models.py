"""The inventory: AI systems, the model versions and datasets registered for them, and the files
behind both (stored once per organisation by content hash, never changed)."""

from django.conf import settings
from django.db import models

from core.models import OrgOwnedModel
from models_registry.choices import (
    AffectedGroup,
    ArtifactKind,
    DatasetRole,
    Framework,
    LifecycleStage,
    OperatorRole,
    RiskTier,
    ScanVerdict,
    Sector,
    Task,
)


class ScanState(models.TextChoices):
    """A model version's scan verdict: `ScanVerdict`, plus the state of a scan that outlasted the
    upload request and runs in a worker (kept here until choices.py gains it)."""

    PENDING = "pending", "Being scanned"
    SAFE = ScanVerdict.SAFE.value, ScanVerdict.SAFE.label
    REFUSED = ScanVerdict.REFUSED.value, ScanVerdict.REFUSED.label


class DatasetStatus(models.TextChoices):
    PENDING = "pending", "Being profiled"
    PROFILED = "profiled", "Profiled"
    REFUSED = "refused", "Refused"


class Tag(OrgOwnedModel):
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="tag_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class AISystem(OrgOwnedModel):
    """An AI use case: what the organisation does with AI, for whom, in which role."""

    name = models.CharField(max_length=200)
    purpose = models.TextField(help_text="What the system is for, in a sentence or two.")
    intended_use = models.TextField(
        blank=True, help_text="The intended purpose (Art. 3(12)): who uses it, how, on what."
    )
    deployment_context = models.TextField(blank=True)
    affected_persons = models.TextField(blank=True, help_text="Who is affected by its outputs.")
    # What the record says for the EU AI Act questionnaire to offer (never to preselect): the Annex
    # III area (blank: not stated) and the groups of people affected (AffectedGroup values).
    sector = models.CharField(max_length=30, choices=Sector.choices, blank=True)
    affected_groups = models.JSONField(default=list, blank=True)
    lifecycle_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.IDEA)
    operator_role = models.CharField(max_length=20, choices=OperatorRole.choices, default=OperatorRole.PROVIDER)
    owner_team = models.CharField(max_length=120, blank=True)
    business_owner = models.CharField(max_length=120, blank=True)
    processes_personal_data = models.BooleanField(default=False)
    processes_special_categories = models.BooleanField(default=False)
    third_party_vendor = models.CharField(max_length=200, blank=True, help_text="If bought in: the vendor.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="systems")
    # Cached from the approved EU AI Act determination, so lists can filter and sort on it.
    risk_tier = models.CharField(max_length=20, choices=RiskTier.choices, default=RiskTier.UNCLASSIFIED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="system_name_unique_per_org"),
            models.CheckConstraint(
                condition=models.Q(sector="") | models.Q(sector__in=Sector.values), name="system_sector_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def affected_group_labels(self) -> list[str]:
        labels = dict(AffectedGroup.choices)
        return [labels.get(group, group) for group in self.affected_groups or []]


class Artifact(OrgOwnedModel):
    """An uploaded file, stored by content hash. Immutable: a change is a new artifact."""

    kind = models.CharField(max_length=10, choices=ArtifactKind.choices)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    storage_key = models.CharField(max_length=200)
    original_name = models.CharField(max_length=255)
    detected_format = models.CharField(max_length=20)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "sha256"], name="artifact_unique_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"


class ModelVersion(OrgOwnedModel):
    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="versions")
    version_label = models.CharField(max_length=60)
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="model_versions")
    framework = models.CharField(max_length=20, choices=Framework.choices)
    task = models.CharField(max_length=20, choices=Task.choices)
    feature_columns = models.JSONField(default=list)
    # The input columns the model itself declares: read statically by the scan (skops schema, ONNX
    # inputs, MLflow signature), or for pickles and joblib by the validation engine's sandboxed child
    # once it has loaded the model. Never read by unpickling in the web process.
    model_feature_names = models.JSONField(default=list, blank=True)
    model_feature_names_source = models.CharField(max_length=40, blank=True)
    # Model card
    intended_use = models.TextField(blank=True)
    limitations = models.TextField(blank=True)
    training_data_description = models.TextField(blank=True)
    claimed_metrics = models.JSONField(default=dict, blank=True)
    substantial_modification = models.BooleanField(
        default=False, help_text="A change not foreseen in the initial conformity assessment (Art. 3(23))."
    )
    scan_verdict = models.CharField(max_length=10, choices=ScanState.choices)
    scan_report = models.JSONField(default=dict)
    # The worker's claim on a pending scan (conditional UPDATE; a second delivery finds it taken).
    scan_claimed_at = models.DateTimeField(null=True, blank=True)
    scan_claim_token = models.CharField(max_length=32, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    MODEL_CARD_FIELDS = (
        "framework",
        "task",
        "feature_columns",
        "intended_use",
        "limitations",
        "training_data_description",
        "claimed_metrics",
        "substantial_modification",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["system", "version_label"], name="version_label_unique_per_system")
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(scan_verdict="pending"), name="version_scan_pending")
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.version_label}"

    @property
    def scan_pending(self) -> bool:
        return self.scan_verdict == ScanState.PENDING


class Dataset(OrgOwnedModel):
    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField(default=1)
    role = models.CharField(max_length=20, choices=DatasetRole.choices)
    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="datasets")
    file_format = models.CharField(max_length=10)
    read_options = models.JSONField(default=dict, help_text="How the file was read: delimiter, encoding, compression.")
    target_column = models.CharField(max_length=200, blank=True)
    prediction_column = models.CharField(max_length=200, blank=True)
    score_column = models.CharField(max_length=200, blank=True)
    sensitive_columns = models.JSONField(default=list, blank=True)
    row_count = models.PositiveBigIntegerField()
    column_count = models.PositiveIntegerField()
    schema = models.JSONField(
        default=list, help_text="Per column: name, type, missing share, distinct count, PII kind."
    )
    pii_columns = models.JSONField(default=list, blank=True)
    # Profiled at upload, or pending while a worker profiles it (schema and counts are empty until
    # then), or refused by that profile (profile_error: code, message, extra).
    profile_status = models.CharField(max_length=10, choices=DatasetStatus.choices, default=DatasetStatus.PROFILED)
    profile_error = models.JSONField(default=dict, blank=True)
    profile_claimed_at = models.DateTimeField(null=True, blank=True)
    profile_claim_token = models.CharField(max_length=32, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["system", "name", "version"], name="dataset_version_unique")]
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(profile_status="pending"), name="dataset_profile_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.role})"

    @property
    def scan_pending(self) -> bool:
        return self.profile_status == DatasetStatus.PENDING
