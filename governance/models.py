"""Classification records, obligations and their evidence (EU AI Act, issue #5).

The rules themselves live in the pure module ``governance.rules``; these models store what it
was asked and what it answered, who approved it, and the work that follows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import OrgOwnedModel
from governance.choices import (
    CURRENT_STATUSES,
    DeterminationStatus,
    EvidenceKind,
    ObligationStatus,
    OutcomeChoice,
)
from governance.rules import DATE_KEYS
from governance.rules.dates import DEFAULT_PLAN_LEAD_DAYS
from models_registry.choices import RiskTier
from models_registry.models import AISystem, ModelVersion


class ApplicationDate(models.Model):
    """When a group of AI Act duties applies. Seeded from the rules module's defaults; staff edit
    it in the admin when the law moves a date (the Digital Omnibus)."""

    key = models.CharField(max_length=40, unique=True, choices=[(k, k) for k in DATE_KEYS])
    applies_from = models.DateField()
    note = models.TextField(blank=True, help_text="Legal source of the date, e.g. the OJ reference.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["applies_from", "key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.applies_from.isoformat()}"


class ClassificationDraft(OrgOwnedModel):
    """The questionnaire being filled for a system: saved on every change, resumed later.
    Working state, not a record (submissions are): hence CASCADE, not PROTECT, on the system."""

    system = models.OneToOneField(AISystem, on_delete=models.CASCADE, related_name="classification_draft")
    answers = models.JSONField(default=dict, blank=True)
    # Who gave each answer now in the draft: {question id: user id}. An answer keeps its author
    # until someone changes it, so the four-eyes rule knows everyone who answered, not only the
    # last person to save.
    answer_authors = models.JSONField(default=dict, blank=True)
    # Why each answer was given and what backs it: {question id: {"reason": str, "link": str}}.
    answer_notes = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"Draft classification of {self.system}"


class Determination(OrgOwnedModel):
    """A submitted classification. Answers and result never change after submission; only the
    status and the approval fields move."""

    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="determinations")
    number = models.PositiveIntegerField(help_text="1, 2, 3… per system, in submission order.")
    status = models.CharField(max_length=20, choices=DeterminationStatus.choices, default=DeterminationStatus.SUBMITTED)
    answers = models.JSONField()
    result = models.JSONField(help_text="Determination.to_dict() of the rules module.")
    rules_version = models.CharField(max_length=40)
    outcome = models.CharField(max_length=30, choices=OutcomeChoice.choices)
    risk_tier = models.CharField(max_length=20, choices=RiskTier.choices)
    is_complete = models.BooleanField()
    has_contradictions = models.BooleanField()
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answer_authors = models.JSONField(
        default=dict, blank=True, help_text="Who gave each answer: {question id: user id} (empty before 2026-12)."
    )
    answer_notes = models.JSONField(
        default=dict, blank=True, help_text='Reason and evidence per answer: {question id: {"reason", "link"}}.'
    )
    unsure_justifications = models.JSONField(
        default=dict,
        blank=True,
        help_text="The approver's justification for each 'unsure' answer relied on: {question id: text}.",
    )
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.TextField(blank=True)
    override_outcome = models.CharField(max_length=30, choices=OutcomeChoice.choices, blank=True)
    override_risk_tier = models.CharField(max_length=20, choices=RiskTier.choices, blank=True)
    override_justification = models.TextField(blank=True)
    review_reason = models.TextField(blank=True, help_text="Why the approved result needs review.")
    review_requested_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["system_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["system", "number"], name="determination_number_unique_per_system"),
            # At most one determination awaits approval, and at most one is current, per system.
            models.UniqueConstraint(
                fields=["system"],
                condition=Q(status=DeterminationStatus.SUBMITTED),
                name="one_pending_determination_per_system",
            ),
            models.UniqueConstraint(
                fields=["system"], condition=Q(status__in=CURRENT_STATUSES), name="one_current_determination_per_system"
            ),
            # An override always carries its written justification.
            models.CheckConstraint(
                condition=Q(override_outcome="") | ~Q(override_justification=""), name="override_has_justification"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=CURRENT_STATUSES) | Q(approved_by__isnull=False),
                name="current_determination_was_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} — determination #{self.number}"

    @property
    def is_overridden(self) -> bool:
        return bool(self.override_outcome)

    @property
    def effective_outcome(self) -> str:
        return self.override_outcome or self.outcome

    @property
    def effective_risk_tier(self) -> str:
        return self.override_risk_tier or self.risk_tier

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_STATUSES

    @property
    def answerer_ids(self) -> set[int]:
        """Everyone who answered or submitted this determination (the four-eyes rule's exclusions)."""
        return {self.answered_by_id, self.submitted_by_id, *(int(v) for v in self.answer_authors.values())}

    @property
    def blockers(self) -> list[str]:
        """Why this determination cannot be approved yet, in plain language."""
        reasons = []
        if not self.is_complete:
            reasons.append(f"{len(self.result.get('missing', []))} question(s) are not answered.")
        if self.has_contradictions:
            reasons.append("Some answers contradict each other.")
        if self.result.get("invalid_answers"):
            reasons.append("Some answers are not valid.")
        return reasons


class Obligation(OrgOwnedModel):
    """One duty of the organisation for one system, derived from its approved determination."""

    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="obligations")
    determination = models.ForeignKey(
        Determination,
        on_delete=models.PROTECT,
        related_name="obligations",
        help_text="The approved determination that last derived it.",
    )
    code = models.CharField(max_length=80)
    role = models.CharField(max_length=30)
    position = models.PositiveIntegerField(default=0, help_text="Order in the rules module's list (Art. 4, 9, 10…).")
    article = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    description = models.TextField()
    notes = models.JSONField(default=list, blank=True)
    evidence_hints = models.JSONField(
        default=list, blank=True, help_text="Evidence the rules module suggests (kind, reference, description)."
    )
    applies_from_key = models.CharField(max_length=40)
    applies_from = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="governance_obligations"
    )
    # The organisation's plan date: when it commits to have the duty met. Not the legal date
    # (applies_from): a duty that already applies on the day of classification gets a lead time
    # (ObligationSettings), and "overdue" means this date has passed.
    due_date = models.DateField(
        "plan date", null=True, blank=True, help_text="When the organisation plans to have this obligation met."
    )
    status = models.CharField(max_length=20, choices=ObligationStatus.choices, default=ObligationStatus.NOT_STARTED)
    evidence_max_age_days = models.PositiveIntegerField(default=365)
    applicable = models.BooleanField(default=True, help_text="False once a newer approval no longer derives it.")
    not_applicable_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["applies_from", "system_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["system", "code", "role"], name="obligation_unique_per_system_code_role"),
            models.CheckConstraint(
                condition=Q(evidence_max_age_days__gte=1), name="obligation_evidence_max_age_positive"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "status", "due_date"])]

    def __str__(self) -> str:
        return f"{self.article} {self.title} ({self.system})"


class ObligationSettings(OrgOwnedModel):
    """One row per organisation (created on first change): how obligations are planned."""

    organisation = models.OneToOneField("core.Organisation", on_delete=models.PROTECT, related_name="+")
    plan_lead_days = models.PositiveSmallIntegerField(
        "plan lead time (days)",
        default=DEFAULT_PLAN_LEAD_DAYS,
        help_text="A duty that already applies when a system is classified is planned this many days later; "
        "one that applies later is planned for the day it applies.",
    )

    class Meta:
        verbose_name_plural = "obligation settings"
        constraints = [
            models.CheckConstraint(condition=Q(plan_lead_days__lte=3650), name="obligation_plan_lead_at_most_10y")
        ]

    def __str__(self) -> str:
        return f"Obligation settings of {self.organisation}"


class Evidence(OrgOwnedModel):
    """Something that shows an obligation is met: a document, a model card or a validation run."""

    obligation = models.ForeignKey(Obligation, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=20, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200)
    # kind == document: the file, stored once under its content hash.
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    storage_key = models.CharField(max_length=200, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    # kind == model_card: a version of the same system.
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # kind == validation_run: a succeeded audits.ValidationRun of the same system, held by id and
    # not by foreign key (governance must not depend on audits; see evidence_sources.py), with a
    # snapshot of its results when linked. Rows from before the link have only the free-text ref.
    validation_kind = models.CharField(max_length=40, blank=True, help_text='e.g. "validation_run:fairness".')
    validation_ref = models.CharField(max_length=80, blank=True)
    validation_run_id = models.PositiveBigIntegerField(
        null=True, blank=True, db_index=True, help_text="The id of the audits ValidationRun."
    )
    validation_summary = models.JSONField(
        default=dict,
        blank=True,
        help_text="The run when it was linked: suite, model version, finished_at, result counts.",
    )
    # When the evidence itself was produced (upload time, the model version's registration, the
    # run's date): its age, not the date it was linked, decides when it is stale.
    dated_at = models.DateTimeField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                name="evidence_fields_match_kind",
                condition=(
                    Q(kind=EvidenceKind.DOCUMENT, model_version__isnull=True) & ~Q(sha256="") & ~Q(storage_key="")
                    | Q(kind=EvidenceKind.MODEL_CARD, model_version__isnull=False, sha256="")
                    | Q(kind=EvidenceKind.VALIDATION_RUN, model_version__isnull=True, sha256="") & ~Q(validation_ref="")
                ),
            ),
            models.CheckConstraint(
                name="evidence_run_link_only_on_validation_runs",
                condition=Q(validation_run_id__isnull=True) | Q(kind=EvidenceKind.VALIDATION_RUN),
            ),
        ]

    def __str__(self) -> str:
        return self.title


from governance.risks.models import *  # noqa: E402,F401,F403  the risk register's models (issue #7)
