"""Fixtures shared by the audits tests: a certifiable system and submissions at each stage."""

from tests.audits.certification_support import (  # noqa: F401  (pytest finds fixtures by name)
    certifiable,
    high_risk_approved,
    in_review,
    minimal_certifiable,
    second_auditor,
    submission,
)
