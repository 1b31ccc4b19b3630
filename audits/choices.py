"""Status enums of validation runs and findings, and the moves a run's status may make."""

from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# The only moves a run's status may make. queued → cancelled: cancelled before a worker took it;
# queued → failed: it could not be prepared (e.g. a stored file is gone).
RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def can_move(old: str, new: str) -> bool:
    return new in RUN_TRANSITIONS.get(old, frozenset())


class Suite(models.TextChoices):
    QUICK = "quick", "Quick"
    STANDARD = "standard", "Standard"
    FULL = "full", "Full"


class CheckStatus(models.TextChoices):
    PASS = "pass", "Pass"
    WARN = "warn", "Warning"
    FAIL = "fail", "Fail"
    NOT_EVALUABLE = "not_evaluable", "Not evaluable"
    INFO = "info", "Info"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFO = "info", "Info"


SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


class CheckFamily(models.TextChoices):
    """The check categories, in the order the results page shows them."""

    DATA_QUALITY = "data_quality", "Data review"
    PERFORMANCE = "performance", "Performance"
    EDGE_CASES = "edge_cases", "Edge cases"
    ROBUSTNESS = "robustness", "Robustness"
    FAIRNESS = "fairness", "Fairness"
    EXPLAINABILITY = "explainability", "Explainability"
    SECURITY = "security", "Security"


class FindingStatus(models.TextChoices):
    """A finding's state follows the reviewer's latest decision on it (audits.certification)."""

    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Risk accepted"
    MITIGATION_REQUIRED = "mitigation_required", "Mitigation required"
    FALSE_POSITIVE = "false_positive", "False positive"
    ESCALATED = "escalated", "Escalated"
    # Closed undecided when a newer run of the same version and suite succeeded (Finding.superseded_by).
    SUPERSEDED = "superseded", "Superseded by a newer run"
