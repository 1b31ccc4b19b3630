"""Roles and what each role may do.

Permissions are named `<area>.<action>`. Every view and endpoint asks `core.permissions` for one of
these names, so the whole access policy of the portal is this one table.
"""

from django.db import models


class Role(models.TextChoices):
    ML_ENGINEER = "ml_engineer", "ML engineer"
    AUDITOR = "auditor", "Auditor"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    ORG_ADMIN = "org_admin", "Organisation admin"


_EVERYONE = {"home.view", "profile.view", "tokens.manage"}
_READ_INVENTORY = {
    "system.view",
    "validation.view",
    "finding.view",
    "classification.view",
    "obligation.view",
    "risk.view",
    "submission.view",
}
_TRAIL = {"audit.view", "audit.export"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ML_ENGINEER: frozenset(
        _EVERYONE
        | _READ_INVENTORY
        | {
            "system.create",
            "system.change",
            "model.upload",
            "dataset.upload",
            "validation.start",
            "classification.draft",
            "submission.create",
            "submission.comment",
            "documentation.edit",
        }
    ),
    Role.AUDITOR: frozenset(
        _EVERYONE
        | _READ_INVENTORY
        | _TRAIL
        | {
            "audit.verify",
            "review.perform",
            "validation.start",
            "submission.comment",
        }
    ),
    Role.COMPLIANCE_OFFICER: frozenset(
        _EVERYONE
        | _READ_INVENTORY
        | _TRAIL
        | {
            "classification.draft",
            "classification.approve",
            "obligation.manage",
            "risk.manage",
            "risk.accept",
            "review.assign",
            "review.perform",
            "submission.comment",
            "certificate.manage",
            "finding.escalation_decide",
            "documentation.edit",
        }
    ),
    Role.ORG_ADMIN: frozenset(
        _EVERYONE
        | _READ_INVENTORY
        | _TRAIL
        | {
            "users.manage",
            "audit.verify",
            "org.manage",
            "review.assign",
            "certificate.manage",
            "finding.escalation_decide",
        }
    ),
}

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())
