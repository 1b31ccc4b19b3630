"""A submission's status changes here and only here, against the transition table in `choices`.

Its own module so that both `services` (review, sign-off) and `certificates` (suspension,
revocation, expiry) move a submission without importing each other in a circle (issue #12
item 17).
"""

from __future__ import annotations

from django.utils import timezone

from audits.certification.choices import CERTIFIED_STATUSES, SubmissionStatus, can_move
from audits.certification.models import Submission
from core.errors import Conflict
from core.trail import audit_record

S = SubmissionStatus


def submission_touch(submission: Submission, *fields: str) -> None:
    """Save `fields` and bump the optimistic-lock version every writer of a submission checks."""
    submission.lock_version += 1
    submission.save(update_fields=[*fields, "lock_version", "updated_at"])


def submission_move(submission: Submission, new: str, *, actor, reason: str = "", verb: str = "") -> None:
    """The one place a submission's status changes: refused unless the transition table allows it."""
    old = submission.status
    if not can_move(old, new):
        raise Conflict(
            f"A submission that is {S(old).label.lower()} cannot become {S(new).label.lower()}.",
            code="invalid_transition",
            extra={"from": old, "to": new},
        )
    submission.status = new
    if new in (*CERTIFIED_STATUSES, S.REJECTED) and old == S.IN_REVIEW:
        submission.decided_at = timezone.now()
        submission.decision_reason = reason
    submission_touch(submission, "status", "decided_at", "decision_reason")
    audit_record(
        verb=verb or f"submission.{new}",
        target=submission,
        actor=actor,
        reason=reason,
        before={"status": old},
        after={"status": new},
    )
