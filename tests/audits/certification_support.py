"""Fixtures for certification: a classified system with a finished validation run, through the
real services (the engine's part is played by `finish_with_results`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.audits.validation_support import finish_with_results, register_credit_system, sample_result
from tests.conftest import PASSWORD, make_user
from tests.governance.conftest import CREDIT_SCORING, MINIMAL

__all__ = [
    "PASSWORD",
    "Certifiable",
    "make_certifiable",
    "certifiable",
    "minimal_certifiable",
    "second_auditor",
    "submission",
    "in_review",
    "high_risk_approved",
]

RESULTS = [
    sample_result("PERF-01", "fail", severity="critical"),
    sample_result("PERF-04", "pass"),
    sample_result("FAIR-02", "warn", family="fairness", severity="medium"),
    sample_result("DATA-01", "not_evaluable", family="data_quality"),
]


@dataclass
class Certifiable:
    system: object
    version: object
    run: object
    determination: object
    test: object
    train: object


def seed_application_dates() -> None:
    import importlib

    from django.apps import apps

    importlib.import_module("governance.migrations.0002_seed_application_dates").seed(apps, None)


def classifier(officer):
    """A second compliance officer of `officer`'s organisation who approves the classifications of
    these fixtures: under the four-eyes rule (issue #13 item 2) the approver of a high-risk
    classification may not co-sign its certificate, and the compliance officer persona co-signs."""
    from core.models import User

    existing = User.objects.filter(organisation=officer.organisation, username="clara.classifier").first()
    return existing or make_user(officer.organisation, "clara.classifier", "compliance_officer")


def make_certifiable(
    engineer,
    officer,
    *,
    answers=CREDIT_SCORING,
    name="Consumer credit scoring",
    results=RESULTS,
    approver=None,
) -> Certifiable:
    """A classified system with a finished full run. The classification is approved by `approver`,
    by default a second compliance officer (`classifier`), not by `officer`."""
    from audits.validation.services import validation_start
    from governance.services import determination_approve, determination_submit

    seed_application_dates()
    registered = register_credit_system(engineer, name=name)
    determination = determination_submit(system=registered.system, actor=engineer, answers=answers)
    determination = determination_approve(determination=determination, actor=approver or classifier(officer))
    registered.system.refresh_from_db()
    run = validation_start(
        actor=engineer,
        model_version=registered.version,
        test_dataset=registered.test,
        train_dataset=registered.train,
        suite="full",
    )
    run = finish_with_results(run, results)
    return Certifiable(
        system=registered.system,
        version=registered.version,
        run=run,
        determination=determination,
        test=registered.test,
        train=registered.train,
    )


@pytest.fixture
def certifiable(ml_engineer, compliance_officer) -> Certifiable:
    return make_certifiable(ml_engineer, compliance_officer)


@pytest.fixture
def minimal_certifiable(ml_engineer, compliance_officer) -> Certifiable:
    return make_certifiable(ml_engineer, compliance_officer, answers=MINIMAL, name="Internal ticket router")


@pytest.fixture
def second_auditor(organisation):
    return make_user(organisation, "aurora", "auditor")


@pytest.fixture
def submission(certifiable, ml_engineer):
    from audits.certification.services import submission_create

    return submission_create(actor=ml_engineer, model_version=certifiable.version, note="Please review.")


@pytest.fixture
def in_review(submission, org_admin, auditor, compliance_officer):
    from audits.certification.services import reviewer_assign

    reviewer_assign(actor=org_admin, submission=submission, reviewer=auditor)
    reviewer_assign(actor=org_admin, submission=submission, reviewer=compliance_officer)
    submission.refresh_from_db()
    return submission


def decide_all(submission, reviewer, decision="accept_risk"):
    from audits.certification.services import finding_decide

    for finding in submission.validation_run.findings.all():
        finding_decide(
            actor=reviewer,
            submission=submission,
            finding=finding,
            decision=decision,
            justification="Within the bank's documented appetite for this model.",
        )


@pytest.fixture
def high_risk_approved(in_review, auditor, compliance_officer):
    from audits.certification.services import submission_sign

    decide_all(in_review, auditor)
    submission_sign(
        actor=auditor,
        submission=in_review,
        decision="approve",
        password=PASSWORD,
        reason="All checks reviewed; the residual risks are accepted.",
    )
    submission_sign(
        actor=compliance_officer,
        submission=in_review,
        decision="approve",
        password=PASSWORD,
        reason="Classification and obligations are in order.",
    )
    in_review.refresh_from_db()
    return in_review
