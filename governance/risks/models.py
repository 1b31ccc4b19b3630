"""Risk register records (issue #7): organisation risk settings, reusable controls, the AI threat
library, system components for threat modelling, risks, their revisions and saved views.

Imported at the end of ``governance/models.py`` so Django registers them in the governance app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.models import OrgOwnedModel
from governance.risks.choices import (
    ComponentKind,
    ControlEffectiveness,
    ControlType,
    RiskCategory,
    RiskSource,
    RiskStatus,
    Treatment,
)
from governance.risks.scoring import (
    DEFAULT_APPETITE,
    DEFAULT_BANDS,
    DEFAULT_IMPACT_SCALE,
    DEFAULT_LIKELIHOOD_SCALE,
)


def _default_bands():
    return [dict(b) for b in DEFAULT_BANDS]


def _default_likelihood():
    return [dict(level) for level in DEFAULT_LIKELIHOOD_SCALE]


def _default_impact():
    return [dict(level) for level in DEFAULT_IMPACT_SCALE]


class RiskSettings(OrgOwnedModel):
    """One row per organisation: its risk appetite, the definitions of the 1–5 scales shown in
    the risk form, the score bands and how early owners hear about reviews falling due."""

    organisation = models.OneToOneField("core.Organisation", on_delete=models.PROTECT, related_name="+")
    appetite = models.PositiveSmallIntegerField(
        default=DEFAULT_APPETITE,
        help_text="Risks whose current score is above this need a compliance officer's acceptance.",
    )
    likelihood_scale = models.JSONField(default=_default_likelihood)
    impact_scale = models.JSONField(default=_default_impact)
    bands = models.JSONField(default=_default_bands)
    review_reminder_days = models.PositiveSmallIntegerField(default=14)

    class Meta:
        verbose_name_plural = "risk settings"
        constraints = [
            models.CheckConstraint(condition=Q(appetite__gte=1, appetite__lte=25), name="risk_appetite_1_25"),
        ]

    def __str__(self) -> str:
        return f"Risk settings of {self.organisation}"


class Control(OrgOwnedModel):
    """A reusable control that treats one or more risks."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    control_type = models.CharField(max_length=20, choices=ControlType.choices)
    effectiveness = models.CharField(
        max_length=20, choices=ControlEffectiveness.choices, default=ControlEffectiveness.NOT_ASSESSED
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="control_name_unique_per_org")]

    def __str__(self) -> str:
        return self.name


class Threat(models.Model):
    """An entry of the AI threat library. Built-ins have no organisation and are shared; an
    organisation's own threats extend the library for it alone."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    description = models.TextField()
    references = models.JSONField(default=list, blank=True, help_text='e.g. ["OWASP LLM01", "MITRE ATLAS AML.T0051"].')
    typical_controls = models.JSONField(default=list, blank=True)
    components = models.JSONField(default=list, blank=True, help_text="Component kinds it usually applies to.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(organisation__isnull=True), name="threat_builtin_code_unique"
            ),
            models.UniqueConstraint(fields=["organisation", "code"], name="threat_code_unique_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_built_in(self) -> bool:
        return self.organisation_id is None


class SystemComponent(OrgOwnedModel):
    """A part of an AI system for threat modelling (a data source, the serving endpoint…) and the
    library threats that apply to it."""

    system = models.ForeignKey("models_registry.AISystem", on_delete=models.PROTECT, related_name="components")
    kind = models.CharField(max_length=30, choices=ComponentKind.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    threats = models.ManyToManyField(Threat, blank=True, related_name="+")

    class Meta:
        ordering = ["system_id", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["system", "name"], name="component_name_unique_per_system")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Risk(OrgOwnedModel):
    """One risk of the register. Scores are stored (the database checks they are the products of
    their likelihood and impact) so lists filter, sort and aggregate on them."""

    reference = models.CharField(max_length=20, help_text="R-1, R-2… per organisation.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=30, choices=RiskCategory.choices)
    source = models.CharField(max_length=30, choices=RiskSource.choices, default=RiskSource.ASSESSMENT)
    # Where the risk came from when raised from another record (a finding, a review decision):
    # a reference, since governance must not import the apps that depend on it.
    source_type = models.CharField(max_length=40, blank=True, db_index=True, help_text='e.g. "audits.finding".')
    source_id = models.CharField(max_length=40, blank=True)
    source_snapshot = models.JSONField(default=dict, blank=True)
    systems = models.ManyToManyField("models_registry.AISystem", related_name="risks")
    obligations = models.ManyToManyField("governance.Obligation", blank=True, related_name="risks")
    controls = models.ManyToManyField(Control, blank=True, related_name="risks")
    threat = models.ForeignKey(Threat, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    component = models.ForeignKey(
        SystemComponent, on_delete=models.PROTECT, null=True, blank=True, related_name="risks"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    likelihood = models.PositiveSmallIntegerField()
    impact = models.PositiveSmallIntegerField()
    inherent_score = models.PositiveSmallIntegerField()
    residual_likelihood = models.PositiveSmallIntegerField(null=True, blank=True)
    residual_impact = models.PositiveSmallIntegerField(null=True, blank=True)
    residual_score = models.PositiveSmallIntegerField(null=True, blank=True)
    residual_reason = models.TextField(blank=True, help_text="Why the residual score is above the inherent one.")
    # The score compared with the appetite: residual once assessed, else inherent.
    current_score = models.PositiveSmallIntegerField()
    treatment = models.CharField(max_length=20, choices=Treatment.choices, default=Treatment.MITIGATE)
    acceptance_justification = models.TextField(blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    next_review_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    review_reminded_for = models.DateField(
        null=True, blank=True, help_text="The review date the owner was last reminded of."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-current_score", "next_review_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "reference"], name="risk_reference_unique_per_org"),
            models.CheckConstraint(
                condition=Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1, impact__lte=5),
                name="risk_inherent_levels_1_5",
            ),
            models.CheckConstraint(
                condition=Q(residual_likelihood__isnull=True, residual_impact__isnull=True, residual_score__isnull=True)
                | Q(
                    residual_likelihood__gte=1,
                    residual_likelihood__lte=5,
                    residual_impact__gte=1,
                    residual_impact__lte=5,
                    residual_score=F("residual_likelihood") * F("residual_impact"),
                ),
                name="risk_residual_levels_1_5",
            ),
            models.CheckConstraint(
                condition=Q(inherent_score=F("likelihood") * F("impact")), name="risk_inherent_score_is_product"
            ),
            models.CheckConstraint(
                condition=Q(residual_score__isnull=True)
                | Q(residual_score__lte=F("inherent_score"))
                | ~Q(residual_reason=""),
                name="risk_residual_above_inherent_has_reason",
            ),
            # Accepting a risk, or choosing acceptance as its treatment, is always justified in writing.
            models.CheckConstraint(
                condition=~Q(status=RiskStatus.ACCEPTED) & ~Q(treatment=Treatment.ACCEPT)
                | ~Q(acceptance_justification=""),
                name="risk_acceptance_has_justification",
            ),
            models.CheckConstraint(
                condition=~Q(status=RiskStatus.ACCEPTED) | Q(accepted_by__isnull=False),
                name="risk_accepted_has_acceptor",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "current_score"]),
            models.Index(fields=["organisation", "next_review_date"]),
            models.Index(fields=["source_type", "source_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class RiskRevision(models.Model):
    """A snapshot of a risk after each change: the history shown on the risk page (the audit
    trail holds the same change as before/after, hash-chained)."""

    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    verb = models.CharField(max_length=40)
    snapshot = models.JSONField()
    changes = models.JSONField(default=dict, help_text="{field: [before, after]} of this revision.")
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["risk_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["risk", "number"], name="risk_revision_number_unique")]

    def __str__(self) -> str:
        return f"{self.risk_id} rev {self.number} ({self.verb})"


class RiskSavedView(OrgOwnedModel):
    """A named filter of the register, kept per user (a preference, not a record: not audited)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True, help_text="The register's filter querystring.")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="risk_view_name_unique_per_user")]

    def __str__(self) -> str:
        return self.name


__all__ = ["RiskSettings", "Control", "Threat", "SystemComponent", "Risk", "RiskRevision", "RiskSavedView"]
