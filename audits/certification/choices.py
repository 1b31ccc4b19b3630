"""Status enums of certification submissions and certificates, and the moves a submission may make."""

from django.db import models


class SubmissionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved with conditions"
    REJECTED = "rejected", "Rejected"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


S = SubmissionStatus
# The only moves a submission's status may make; every other move is refused with a clear error.
# changes_requested → submitted: the engineer answered without a new version (a new version starts a
# new submission instead). suspended → approved(_with_conditions): a compliance officer lifted it.
SUBMISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.IN_REVIEW}),
    S.IN_REVIEW: frozenset({S.CHANGES_REQUESTED, S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.REJECTED}),
    S.CHANGES_REQUESTED: frozenset({S.SUBMITTED}),
    S.APPROVED: frozenset({S.SUSPENDED, S.REVOKED, S.EXPIRED}),
    S.APPROVED_WITH_CONDITIONS: frozenset({S.SUSPENDED, S.REVOKED, S.EXPIRED}),
    S.SUSPENDED: frozenset({S.APPROVED, S.APPROVED_WITH_CONDITIONS, S.REVOKED, S.EXPIRED}),
    S.REJECTED: frozenset(),
    S.REVOKED: frozenset(),
    S.EXPIRED: frozenset(),
}
OPEN_STATUSES = (S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.CHANGES_REQUESTED)
REVIEWABLE_STATUSES = (S.SUBMITTED, S.IN_REVIEW)
CERTIFIED_STATUSES = (S.APPROVED, S.APPROVED_WITH_CONDITIONS)


def can_move(old: str, new: str) -> bool:
    return new in SUBMISSION_TRANSITIONS.get(old, frozenset())


class ReviewerRole(models.TextChoices):
    AUDITOR = "auditor", "Auditor"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"


class DecisionKind(models.TextChoices):
    ACCEPT_RISK = "accept_risk", "Accept the risk"
    REQUIRE_MITIGATION = "require_mitigation", "Require mitigation"
    FALSE_POSITIVE = "false_positive", "False positive"
    ESCALATE = "escalate", "Escalate"


# A decision that leaves work for the engineer: carried forward to the next submission.
OPEN_POINT_DECISIONS = (DecisionKind.REQUIRE_MITIGATION, DecisionKind.ESCALATE)


class SignOffDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions", "Approve with conditions"
    REJECT = "reject", "Reject"


class ConditionStatus(models.TextChoices):
    OPEN = "open", "Open"
    MET = "met", "Met"
    OVERDUE = "overdue", "Overdue"


class CertificateStatus(models.TextChoices):
    VALID = "valid", "Valid"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
