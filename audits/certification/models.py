"""Certification: a model version submitted for review, its reviewers, their decisions on each
finding, the sign-off and the signed certificate. Imported by `audits.models` (app label "audits")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from audits.certification.choices import (
    CertificateStatus,
    ConditionStatus,
    DecisionKind,
    ReviewerRole,
    SignOffDecision,
    SubmissionStatus,
)
from core.models import OrgOwnedModel


class Submission(OrgOwnedModel):
    """A model version put forward for certification. Once submitted, `frozen` holds what is being
    certified (model and dataset hashes, the validation results' digest, the classification) and
    never changes; `frozen_sha256` is the hash of that snapshot."""

    system = models.ForeignKey("models_registry.AISystem", on_delete=models.PROTECT, related_name="submissions")
    model_version = models.ForeignKey(
        "models_registry.ModelVersion", on_delete=models.PROTECT, related_name="submissions"
    )
    validation_run = models.ForeignKey("audits.ValidationRun", on_delete=models.PROTECT, related_name="submissions")
    determination = models.ForeignKey("governance.Determination", on_delete=models.PROTECT, related_name="submissions")
    previous = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followers",
        help_text="The earlier submission of this system whose open points carry forward.",
    )
    number = models.PositiveIntegerField(help_text="1, 2, 3… per organisation.")
    status = models.CharField(
        max_length=30, choices=SubmissionStatus.choices, default=SubmissionStatus.DRAFT, db_index=True
    )
    risk_tier = models.CharField(max_length=20)
    note = models.TextField(blank=True, help_text="What the submitter wants reviewers to know.")
    frozen = models.JSONField(default=dict, blank=True)
    frozen_sha256 = models.CharField(max_length=64, blank=True)
    carried_points = models.JSONField(
        default=list, blank=True, help_text="Open points of the previous submission, as they stood."
    )
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    lock_version = models.PositiveIntegerField(default=0, help_text="Raised on every change; forms send it back.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organisation", "number"], name="submission_number_unique")]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return f"Submission S-{self.number}"

    @property
    def reference(self) -> str:
        return f"S-{self.number}"


class SubmissionCounter(models.Model):
    """The last submission number given out in an organisation. Its row is locked while the next
    number is taken, so two systems of one organisation submitting at once get consecutive numbers
    instead of both computing the same "max + 1"."""

    organisation = models.OneToOneField("core.Organisation", on_delete=models.PROTECT, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Submission numbers of {self.organisation_id}: last S-{self.last_number}"


class ReviewAssignment(OrgOwnedModel):
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_assignments")
    reviewer_role = models.CharField(max_length=30, choices=ReviewerRole.choices)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True, help_text="False once withdrawn or blocked by a conflict.")

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["submission", "reviewer"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.submission}"


class ConflictOfInterest(OrgOwnedModel):
    """A declared conflict: the person may not review or approve submissions of this system."""

    system = models.ForeignKey("models_registry.AISystem", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "person"], name="conflict_unique")]

    def __str__(self) -> str:
        return f"{self.person} conflicted on {self.system}"


class FindingDecision(OrgOwnedModel):
    """A reviewer's current decision on one finding of the submission (history is in the trail)."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="decisions")
    finding = models.ForeignKey("audits.Finding", on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=30, choices=DecisionKind.choices)
    justification = models.TextField(blank=True)
    risk = models.ForeignKey("governance.Risk", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # "Require mitigation" resolved by a later run of the system in which the check passed.
    mitigation_run = models.ForeignKey(
        "audits.ValidationRun", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    mitigated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    mitigated_at = models.DateTimeField(null=True, blank=True)
    # Set when the escalation role decided an escalated finding: reviewers cannot change it after.
    escalation_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    escalation_decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "finding"], name="decision_unique")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on {self.finding.check_id}"


class FindingComment(OrgOwnedModel):
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="comments")
    finding = models.ForeignKey("audits.Finding", on_delete=models.PROTECT, related_name="comments")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.finding.check_id}"


class SignOff(OrgOwnedModel):
    """One reviewer's signed decision. The signer re-entered their password and gave a reason."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="signoffs")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_role = models.CharField(max_length=30, choices=ReviewerRole.choices)
    decision = models.CharField(max_length=30, choices=SignOffDecision.choices)
    reason = models.TextField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["submission", "signer"], name="signoff_once_per_signer")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.signer}"


class DissentingOpinion(OrgOwnedModel):
    """A reviewer's recorded disagreement with the decision: a record of its own, not a comment."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="dissents")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opinion = models.TextField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Dissent by {self.author}"


class Condition(OrgOwnedModel):
    """Something the certificate holds the ML team to, with an owner and a due date: set by a
    signer (`signoff`), or a "require mitigation" finding turned into a condition before sign-off
    (`finding`, `created_by`)."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="conditions")
    signoff = models.ForeignKey(SignOff, on_delete=models.PROTECT, null=True, blank=True, related_name="conditions")
    finding = models.ForeignKey(
        "audits.Finding", on_delete=models.PROTECT, null=True, blank=True, related_name="conditions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    text = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=ConditionStatus.choices, default=ConditionStatus.OPEN)
    met_at = models.DateTimeField(null=True, blank=True)
    met_note = models.TextField(blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When the owner was told it falls due.")

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "finding"],
                condition=models.Q(finding__isnull=False),
                name="condition_once_per_finding",
            )
        ]

    def __str__(self) -> str:
        return self.text[:80]


class Certificate(OrgOwnedModel):
    """The signed statement that a submission was approved. One per submission, enforced by the
    database: two concurrent sign-offs cannot both issue one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.OneToOneField(Submission, on_delete=models.PROTECT, related_name="certificate")
    system = models.ForeignKey("models_registry.AISystem", on_delete=models.PROTECT, related_name="certificates")
    model_version = models.ForeignKey(
        "models_registry.ModelVersion", on_delete=models.PROTECT, related_name="certificates"
    )
    document = models.JSONField(help_text="The signed document exactly as issued: payload, key id, signature.")
    payload_sha256 = models.CharField(max_length=64)
    key_id = models.CharField(max_length=80)
    status = models.CharField(
        max_length=10, choices=CertificateStatus.choices, default=CertificateStatus.VALID, db_index=True
    )
    valid_from = models.DateField()
    valid_until = models.DateField()
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Certificate {self.id}"


class Rerun(OrgOwnedModel):
    """A validation run started by a reviewer from the submission's frozen inputs."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="reruns")
    run = models.OneToOneField("audits.ValidationRun", on_delete=models.PROTECT, related_name="rerun_of")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Re-run {self.run_id} of {self.submission}"
