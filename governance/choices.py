"""Statuses of determinations and obligations, and their allowed transitions.

Each state machine is an explicit table: a service refuses any move that is not listed here.
"""

from __future__ import annotations

from django.db import models

from governance.rules import Outcome


class DeterminationStatus(models.TextChoices):
    SUBMITTED = "submitted", "Awaiting approval"
    APPROVED = "approved", "Approved"
    NEEDS_REVIEW = "needs_review", "Needs review"
    SUPERSEDED = "superseded", "Superseded"


# The determination that currently drives the system's risk tier and obligations.
CURRENT_STATUSES = (DeterminationStatus.APPROVED, DeterminationStatus.NEEDS_REVIEW)

DETERMINATION_TRANSITIONS: dict[str, frozenset[str]] = {
    DeterminationStatus.SUBMITTED: frozenset({DeterminationStatus.APPROVED, DeterminationStatus.SUPERSEDED}),
    DeterminationStatus.APPROVED: frozenset({DeterminationStatus.NEEDS_REVIEW, DeterminationStatus.SUPERSEDED}),
    DeterminationStatus.NEEDS_REVIEW: frozenset({DeterminationStatus.SUPERSEDED}),
    DeterminationStatus.SUPERSEDED: frozenset(),
}


class OutcomeChoice(models.TextChoices):
    PROHIBITED = Outcome.PROHIBITED.value, "Prohibited practice (Art. 5)"
    HIGH_RISK_ANNEX_I = Outcome.HIGH_RISK_ANNEX_I.value, "High-risk via Annex I (Art. 6(1))"
    HIGH_RISK_ANNEX_III = Outcome.HIGH_RISK_ANNEX_III.value, "High-risk via Annex III (Art. 6(2))"
    NOT_HIGH_RISK_ART_6_3 = Outcome.NOT_HIGH_RISK_ART_6_3.value, "Not high-risk under Art. 6(3)"
    TRANSPARENCY = Outcome.TRANSPARENCY.value, "Transparency obligations (Art. 50)"
    GPAI_MODEL = Outcome.GPAI_MODEL.value, "General-purpose AI model (Art. 53)"
    GPAI_MODEL_SYSTEMIC = Outcome.GPAI_MODEL_SYSTEMIC.value, "General-purpose AI model with systemic risk (Art. 55)"
    MINIMAL_RISK = Outcome.MINIMAL_RISK.value, "Minimal risk"
    OUT_OF_SCOPE = Outcome.OUT_OF_SCOPE.value, "Out of scope (Art. 2)"
    NOT_AI_SYSTEM = Outcome.NOT_AI_SYSTEM.value, "Not an AI system (Art. 3(1))"


class ObligationStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    EVIDENCE_SUBMITTED = "evidence_submitted", "Evidence submitted"
    ACCEPTED = "accepted", "Accepted"
    NEEDS_REWORK = "needs_rework", "Needs rework"


# Who may make a move: WORK = the obligation's owner or a holder of obligation.manage;
# REVIEW = a holder of obligation.manage only (a compliance officer).
WORK = "work"
REVIEW = "review"

_S = ObligationStatus
OBLIGATION_TRANSITIONS: dict[tuple[str, str], str] = {
    (_S.NOT_STARTED, _S.IN_PROGRESS): WORK,
    (_S.NOT_STARTED, _S.EVIDENCE_SUBMITTED): WORK,  # adding the first evidence submits it
    (_S.IN_PROGRESS, _S.NOT_STARTED): WORK,
    (_S.IN_PROGRESS, _S.EVIDENCE_SUBMITTED): WORK,
    (_S.EVIDENCE_SUBMITTED, _S.IN_PROGRESS): WORK,  # withdrawn by the owner
    (_S.EVIDENCE_SUBMITTED, _S.ACCEPTED): REVIEW,
    (_S.EVIDENCE_SUBMITTED, _S.NEEDS_REWORK): REVIEW,
    (_S.ACCEPTED, _S.NEEDS_REWORK): REVIEW,  # also made by the evidence-staleness sweep
    (_S.NEEDS_REWORK, _S.IN_PROGRESS): WORK,
    (_S.NEEDS_REWORK, _S.EVIDENCE_SUBMITTED): WORK,
}

# Statuses in which evidence is being relied on, so its age matters.
EVIDENCE_RELIANT_STATUSES = (_S.EVIDENCE_SUBMITTED, _S.ACCEPTED)
# Statuses that need evidence before they can be entered.
NEEDS_EVIDENCE = (_S.EVIDENCE_SUBMITTED, _S.ACCEPTED)


def next_statuses(current: str) -> list[tuple[str, str]]:
    """(status, rule) pairs reachable from ``current``."""
    return [(to, rule) for (frm, to), rule in OBLIGATION_TRANSITIONS.items() if frm == current]


class EvidenceKind(models.TextChoices):
    DOCUMENT = "document", "Uploaded document"
    MODEL_CARD = "model_card", "Model card (a registered model version)"
    VALIDATION_RUN = "validation_run", "Validation run"


# Override justifications shorter than this are refused: "ok" is not a justification.
MIN_JUSTIFICATION_LENGTH = 20
# Evidence uploads larger than this are refused (the global MAX_UPLOAD_SIZE is for models).
EVIDENCE_MAX_BYTES = 50 * 1024 * 1024

# Fields of an AI system whose change can alter the classification.
CLASSIFICATION_RELEVANT_FIELDS = frozenset(
    {"intended_use", "purpose", "operator_role", "deployment_context", "sector", "affected_groups"}
)
