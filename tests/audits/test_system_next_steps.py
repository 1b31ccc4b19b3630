"""Issue #13, "the right validation at the right time": the system page's next steps show the order
the portal enforces (classify → approve → required run → submit → review and sign-off →
certificate), each step done / current / not yet from the real state, with a link to the page that
does the current step for the roles allowed to do it."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from audits.certification.services import submission_request_changes
from governance.services import determination_approve, determination_submit
from tests.audits.certification_support import classifier, seed_application_dates
from tests.audits.validation_support import credit  # noqa: F401 (fixture)
from tests.governance.conftest import CREDIT_SCORING
from tests.governance.rules.helpers import complete

pytestmark = pytest.mark.django_db

ORDER = ["classify", "approve", "run", "submit", "review", "certificate"]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def system_page(user, system) -> str:
    response = client_for(user).get(reverse("registry:system_detail", args=[system.pk]))
    assert response.status_code == 200
    return response.content.decode()


def states(page: str) -> dict[str, str]:
    found = dict(re.findall(r'data-testid="step-(\w+)" data-state="(\w+)"', page))
    assert list(found) == ORDER, "the steps are shown in the order the portal enforces"
    return found


def step_html(page: str, key: str) -> str:
    return re.search(rf'<li[^>]*data-testid="step-{key}".*?</li>', page, re.S).group(0)


def expect(page: str, current: str | None) -> None:
    """Every step before `current` done, `current` current, every later one not yet (None: all done)."""
    position = ORDER.index(current) if current else len(ORDER)
    assert states(page) == {
        key: "done" if i < position else "current" if i == position else "not_yet" for i, key in enumerate(ORDER)
    }


def test_a_fresh_system_shows_classify_as_the_current_step_with_the_classify_link(credit, ml_engineer):
    page = system_page(ml_engineer, credit.system)
    expect(page, "classify")
    assert reverse("governance:classify", args=[credit.system.pk]) in step_html(page, "classify")
    assert "The suite follows the risk tier: known once the classification is approved." in page


def test_an_auditor_sees_the_same_order_but_no_link_to_a_step_her_role_cannot_do(credit, auditor):
    page = system_page(auditor, credit.system)
    expect(page, "classify")
    assert 'data-testid="step-classify-link"' not in page


def test_a_submitted_classification_makes_approval_current_and_only_a_compliance_officer_gets_the_link(
    credit, ml_engineer, compliance_officer
):
    seed_application_dates()
    pending = determination_submit(system=credit.system, actor=ml_engineer, answers=CREDIT_SCORING)
    page = system_page(compliance_officer, credit.system)
    expect(page, "approve")
    approve = step_html(page, "approve")
    assert reverse("governance:determination_detail", args=[pending.pk]) in approve
    assert "by someone who did not answer or submit it (four-eyes)" in approve
    assert 'data-testid="step-approve-link"' not in system_page(ml_engineer, credit.system)


def test_after_an_approved_high_risk_classification_the_full_run_is_current(credit, ml_engineer, compliance_officer):
    seed_application_dates()
    determination = determination_submit(system=credit.system, actor=ml_engineer, answers=CREDIT_SCORING)
    determination_approve(determination=determination, actor=classifier(compliance_officer))
    page = system_page(ml_engineer, credit.system)
    expect(page, "run")
    run = step_html(page, "run")
    assert "needs a finished run of the full suite (or stricter): a high risk system needs it" in run
    start = (
        reverse("audits:validation_create", args=[credit.system.pk]) + f"?version={credit.version.pk}&amp;suite=full"
    )
    assert start in run and "Start the required run" in run
    # The compliance officer cannot start runs: she sees the step without the button.
    assert 'data-testid="step-run-link"' not in system_page(compliance_officer, credit.system)


def test_a_prohibited_practice_stops_the_order_after_approval_and_says_why(credit, ml_engineer, compliance_officer):
    seed_application_dates()
    answers = complete(roles=["provider"], art5_c_social_scoring="yes", art5_c_unrelated_context="yes")
    determination = determination_submit(system=credit.system, actor=ml_engineer, answers=answers)
    determination_approve(determination=determination, actor=classifier(compliance_officer))
    page = system_page(ml_engineer, credit.system)
    assert states(page) == {
        "classify": "done",
        "approve": "done",
        "run": "not_yet",
        "submit": "not_yet",
        "review": "not_yet",
        "certificate": "not_yet",
    }
    assert "prohibited practice (Art. 5): it cannot be certified" in page
    assert 'data-testid="step-run-link"' not in page


def test_after_the_required_run_succeeded_submitting_is_current(certifiable, ml_engineer, auditor):
    page = system_page(ml_engineer, certifiable.system)
    expect(page, "submit")
    assert f"Run #{certifiable.run.pk} of version 1.0.0 (full suite) succeeded." in step_html(page, "run")
    assert reverse("certification:submission_new", args=[certifiable.version.pk]) in step_html(page, "submit")
    assert 'data-testid="step-submit-link"' not in system_page(auditor, certifiable.system)


def test_a_submission_waiting_for_reviewers_makes_review_current_with_the_assign_link_for_the_admin(
    submission, org_admin, ml_engineer
):
    page = system_page(org_admin, submission.system)
    expect(page, "review")
    review = step_html(page, "review")
    assert "Waiting for reviewers to be assigned." in review
    assert reverse("certification:submission_detail", args=[submission.pk]) in review and "Assign reviewers" in review
    assert 'data-testid="step-review-link"' not in system_page(ml_engineer, submission.system)


def test_in_review_the_assigned_auditor_gets_the_review_link(in_review, auditor):
    page = system_page(auditor, in_review.system)
    expect(page, "review")
    assert "2 reviewers assigned" in step_html(page, "review") and ">Review</a>" in step_html(page, "review")


def test_changes_requested_send_the_engineer_back_to_the_submit_step(in_review, auditor, ml_engineer):
    submission_request_changes(
        actor=auditor, submission=in_review, reason="Add the calibration plot.", expected_version=in_review.lock_version
    )
    page = system_page(ml_engineer, in_review.system)
    expect(page, "submit")
    assert "The reviewers asked for changes to S-" in step_html(page, "submit")


def test_after_certification_every_step_is_done(high_risk_approved, ml_engineer):
    page = system_page(ml_engineer, high_risk_approved.system)
    expect(page, None)
    assert "status: valid." in step_html(page, "certificate")
    assert 'aria-current="step"' not in page


def test_another_organisations_system_is_a_404_and_shows_none_of_its_steps(certifiable, outsider):
    response = client_for(outsider).get(reverse("registry:system_detail", args=[certifiable.system.pk]))
    assert response.status_code == 404
    assert "certification-steps" not in response.content.decode()
