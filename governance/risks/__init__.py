"""The risk register (issue #7). See governance/risks/README.md."""

# Registers the register's Celery task (`governance.risk_review_reminders`): Celery's autodiscovery
# only looks at `governance.tasks`. The module imports nothing that needs the app registry.
from governance.risks import tasks as _tasks  # noqa: E402,F401
