"""Enums of the risk register and the moves a risk's status may make (an explicit table: the
service refuses any other move)."""

from __future__ import annotations

from django.db import models


class RiskCategory(models.TextChoices):
    HEALTH_SAFETY = "health_safety", "Health and safety"
    FUNDAMENTAL_RIGHTS = "fundamental_rights", "Fundamental rights"
    BIAS = "bias", "Bias and discrimination"
    PRIVACY = "privacy", "Privacy and data protection"
    SECURITY = "security", "Security"
    ROBUSTNESS = "robustness", "Robustness and reliability"
    TRANSPARENCY = "transparency", "Transparency"
    HUMAN_OVERSIGHT = "human_oversight", "Human oversight"
    THIRD_PARTY = "third_party", "Third-party and vendor"
    LEGAL = "legal", "Legal and compliance"


class RiskSource(models.TextChoices):
    ASSESSMENT = "assessment", "Assessment"
    VALIDATION_FINDING = "validation_finding", "Validation finding"
    INCIDENT = "incident", "Incident"
    AUDIT = "audit", "Audit"
    VENDOR_REVIEW = "vendor_review", "Vendor review"


class Treatment(models.TextChoices):
    MITIGATE = "mitigate", "Mitigate"
    ACCEPT = "accept", "Accept"
    TRANSFER = "transfer", "Transfer"
    AVOID = "avoid", "Avoid"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_TREATMENT = "in_treatment", "In treatment"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


_S = RiskStatus
RISK_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.OPEN: frozenset({_S.IN_TREATMENT, _S.ACCEPTED, _S.CLOSED}),
    _S.IN_TREATMENT: frozenset({_S.OPEN, _S.ACCEPTED, _S.CLOSED}),
    _S.ACCEPTED: frozenset({_S.OPEN, _S.IN_TREATMENT, _S.CLOSED}),  # re-opened at a review
    _S.CLOSED: frozenset({_S.OPEN}),
}
# Statuses that still need someone's attention: counted as "open" by the trend and the dashboard.
ACTIVE_STATUSES = (_S.OPEN, _S.IN_TREATMENT, _S.ACCEPTED)
# Statuses whose due date still matters (an accepted risk has no treatment to finish).
WORKING_STATUSES = (_S.OPEN, _S.IN_TREATMENT)


def can_move(old: str, new: str) -> bool:
    return new in RISK_TRANSITIONS.get(old, frozenset())


class ControlType(models.TextChoices):
    PREVENTIVE = "preventive", "Preventive"
    DETECTIVE = "detective", "Detective"
    CORRECTIVE = "corrective", "Corrective"


class ControlEffectiveness(models.TextChoices):
    NOT_ASSESSED = "not_assessed", "Not assessed"
    INEFFECTIVE = "ineffective", "Ineffective"
    PARTIAL = "partial", "Partially effective"
    EFFECTIVE = "effective", "Effective"


class ComponentKind(models.TextChoices):
    DATA_SOURCE = "data_source", "Data source"
    TRAINING_PIPELINE = "training_pipeline", "Training pipeline"
    MODEL_STORE = "model_store", "Model store"
    SERVING_ENDPOINT = "serving_endpoint", "Serving endpoint"
    THIRD_PARTY_MODEL = "third_party_model", "Third-party model or API"
    RETRIEVAL_STORE = "retrieval_store", "Retrieval store"


# Justifications shorter than this are refused ("ok" is not a justification).
MIN_JUSTIFICATION_LENGTH = 20
SCALE_LEVELS = (1, 2, 3, 4, 5)
