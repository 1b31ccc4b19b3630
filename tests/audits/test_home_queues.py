"""Issue #13, work queues: each role's home shows what waits for that person, from the real records,
and the admin assigns reviewers from there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.audits.certification_support import *  # noqa: F403 (fixtures)
from tests.audits.certification_support import decide_all, make_certifiable, seed_application_dates
from tests.audits.validation_support import finish_with_results
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
WHY = "Within the bank's documented appetite for this model."


def home(user):
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode(), client


def queue(html: str, key: str) -> str:
    """The HTML of one queue card, '' when the page has none."""
    start = html.find(f'data-testid="queue-{key}"')
    if start < 0:
        return ""
    end = html.find('<section class="card queue"', start + 10)
    return html[start : end if end > 0 else len(html)]


def test_each_role_sees_the_queues_of_its_own_work(ml_engineer, auditor, compliance_officer, org_admin):
    keys = {}
    for user in (ml_engineer, auditor, compliance_officer, org_admin):
        html, _ = home(user)
        keys[user.role] = {
            k
            for k in (
                "unassigned",
                "escalations",
                "reviews",
                "changes",
                "mitigate",
                "conditions",
                "failed_runs",
                "determinations",
                "evidence",
                "obligations",
                "risks",
            )
            if queue(html, k)
        }
    assert keys["org_admin"] == {"unassigned", "escalations"}
    assert keys["auditor"] == {"reviews", "failed_runs"}
    assert keys["ml_engineer"] == {"changes", "mitigate", "conditions", "failed_runs"}
    assert keys["compliance_officer"] == {
        "unassigned",
        "escalations",
        "reviews",
        "determinations",
        "evidence",
        "obligations",
        "risks",
    }


def test_an_empty_queue_says_nothing_waits(org_admin):
    html, _ = home(org_admin)
    assert 'data-count="0"' in queue(html, "unassigned")
    assert "Every open submission has its reviewers." in queue(html, "unassigned")


def test_the_admin_sees_a_submission_without_reviewers_and_assigns_them_from_home(
    submission, org_admin, auditor, compliance_officer
):
    html, client = home(org_admin)
    card = queue(html, "unassigned")
    assert submission.reference in card and 'data-count="1"' in card
    assert "needs auditor and compliance officer" in card
    assert f'<option value="{auditor.pk}">' in card and f'<option value="{compliance_officer.pk}">' in card

    response = client.post(f"/certification/submissions/{submission.pk}/assign/", {"reviewer": auditor.pk, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    html = client.get("/").content.decode()
    assert f"is assigned to {submission.reference}" in html
    card = queue(html, "unassigned")
    assert "needs compliance officer" in card and f'<option value="{auditor.pk}">' not in card

    client.post(f"/certification/submissions/{submission.pk}/assign/", {"reviewer": compliance_officer.pk, "next": "/"})
    card = queue(client.get("/").content.decode(), "unassigned")
    assert 'data-count="0"' in card and submission.reference not in card
    assert submission.assignments.filter(active=True).count() == 2


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "javascript:alert(1)"])
def test_assigning_from_home_never_sends_the_admin_to_another_site(submission, org_admin, auditor, target):
    _, client = home(org_admin)
    response = client.post(
        f"/certification/submissions/{submission.pk}/assign/", {"reviewer": auditor.pk, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/certification/submissions/{submission.pk}/#reviewers"


def test_an_auditor_sees_assigned_submissions_with_their_undecided_findings(in_review, auditor):
    findings = in_review.validation_run.findings.count()
    assert findings > 1
    card = queue(home(auditor)[0], "reviews")
    assert in_review.reference in card and f"{findings} findings undecided" in card and "your sign-off to come" in card

    decide_all(in_review, auditor)
    card = queue(home(auditor)[0], "reviews")
    assert "every finding decided" in card


def test_a_reviewer_not_assigned_sees_no_review(in_review, second_auditor):
    card = queue(home(second_auditor)[0], "reviews")
    assert 'data-count="0"' in card and in_review.reference not in card


def test_an_engineer_sees_findings_to_mitigate_and_changes_requested(in_review, ml_engineer, auditor):
    from audits.certification.services import finding_decide, submission_request_changes

    finding = in_review.validation_run.findings.get(check_id="PERF-01")
    finding_decide(
        actor=auditor, submission=in_review, finding=finding, decision="require_mitigation", justification=WHY
    )
    html, _ = home(ml_engineer)
    assert "PERF-01" in queue(html, "mitigate") and f"#finding-{finding.pk}" in queue(html, "mitigate")
    assert 'data-count="0"' in queue(html, "changes")

    submission_request_changes(actor=auditor, submission=in_review, reason="Retrain on the 2026 applications.")
    card = queue(home(ml_engineer)[0], "changes")
    assert in_review.reference in card and 'data-count="1"' in card


def test_an_engineer_sees_a_failed_run_until_a_later_run_of_the_version_succeeds(certifiable, ml_engineer):
    from audits.validation.services import validation_start

    def start():
        return validation_start(
            actor=ml_engineer, model_version=certifiable.version, test_dataset=certifiable.test, suite="standard"
        )

    failed = finish_with_results(start(), [], status="failed")
    card = queue(home(ml_engineer)[0], "failed_runs")
    assert f"Validation #{failed.pk}" in card and "the model crashed" in card

    finish_with_results(start(), [])
    card = queue(home(ml_engineer)[0], "failed_runs")
    assert f"Validation #{failed.pk}" not in card and 'data-count="0"' in card


def test_a_condition_shows_on_its_owners_home_with_its_due_date(high_risk_approved, ml_engineer, auditor):
    from audits.certification.models import Condition

    Condition.objects.create(
        organisation=high_risk_approved.organisation,
        submission=high_risk_approved,
        created_by=auditor,
        owner=ml_engineer,
        text="Re-run the fairness checks on the Q1 applications.",
        due_date=timezone.localdate() - timedelta(days=1),
    )
    card = queue(home(ml_engineer)[0], "conditions")
    assert "Re-run the fairness checks" in card and "overdue since" in card


def test_compliance_sees_a_determination_to_approve_and_its_four_eyes_rule(ml_engineer, compliance_officer):
    from governance.services import determination_submit
    from tests.audits.validation_support import register_credit_system
    from tests.governance.conftest import CREDIT_SCORING

    seed_application_dates()
    by_engineer = register_credit_system(ml_engineer, name="Credit line increases")
    determination_submit(system=by_engineer.system, actor=ml_engineer, answers=CREDIT_SCORING)
    own = register_credit_system(ml_engineer, name="Mortgage pre-approval")
    determination_submit(system=own.system, actor=compliance_officer, answers=CREDIT_SCORING)

    card = queue(home(compliance_officer)[0], "determinations")
    assert 'data-count="2"' in card
    assert "Credit line increases" in card and "waiting for approval" in card
    assert "you answered it: another compliance officer approves it (four-eyes)" in card


def test_compliance_sees_obligations_by_plan_date_and_the_owner_sees_their_own(
    certifiable, ml_engineer, compliance_officer
):
    from governance.models import Obligation
    from governance.services import obligation_bulk_assign

    obligation = Obligation.objects.filter(system=certifiable.system, applicable=True).order_by("pk").first()
    yesterday = timezone.localdate() - timedelta(days=1)
    obligation_bulk_assign(
        obligation_ids=[obligation.pk], actor=compliance_officer, owner=ml_engineer, plan_date=yesterday
    )
    card = queue(home(compliance_officer)[0], "obligations")
    assert obligation.title in card and f"overdue since {yesterday:%d %b %Y}" in card and "owner: Mia" in card
    card = queue(home(ml_engineer)[0], "obligations")
    assert "Your obligations due" in card and obligation.title in card and "owner: you" in card


def test_compliance_sees_risks_due_for_review(certifiable, compliance_officer):
    from tests.governance.test_risk_support import make_risk

    today = timezone.localdate()
    due = make_risk(compliance_officer, [certifiable.system], owner=compliance_officer, next_review_date=today)
    later = make_risk(
        compliance_officer,
        [certifiable.system],
        title="Drift after the rate change",
        owner=compliance_officer,
        next_review_date=today + timedelta(days=90),
    )
    card = queue(home(compliance_officer)[0], "risks")
    assert due.title in card and later.title not in card


def test_no_queue_shows_another_organisations_work(other_organisation, org_admin, compliance_officer):
    from audits.certification.services import submission_create

    engineer_b = make_user(other_organisation, "bert", "ml_engineer")
    officer_b = make_user(other_organisation, "bea", "compliance_officer")
    theirs = make_certifiable(engineer_b, officer_b, name="Their credit model")
    submission_create(actor=engineer_b, model_version=theirs.version, note="")
    for user in (org_admin, compliance_officer):
        assert "Their credit model" not in home(user)[0]
    assert 'data-count="0"' in queue(home(org_admin)[0], "unassigned")


def test_only_those_who_assign_reviewers_may_assign_from_home(submission, auditor, permission_matrix):
    from audits.certification.models import ReviewAssignment

    def call(client):
        ReviewAssignment.objects.filter(submission=submission).delete()  # each persona starts from none
        url = f"/certification/submissions/{submission.pk}/assign/"
        return client.post(url, {"reviewer": auditor.pk, "next": "/"})

    statuses = permission_matrix(call)
    assert statuses["anonymous"] == 302 and statuses["outsider"] == 404
    assert statuses["org_admin"] == 302 and statuses["compliance_officer"] == 302
    assert statuses["ml_engineer"] == 403 and statuses["auditor"] == 403


def test_queues_with_work_come_before_the_empty_ones(in_review, compliance_officer):
    html, _ = home(compliance_officer)
    # registered in the order unassigned, escalations, reviews…: the one with work moves up
    assert 'data-count="1"' in queue(html, "reviews") and 'data-count="0"' in queue(html, "unassigned")
    assert html.find('data-testid="queue-reviews"') < html.find('data-testid="queue-unassigned"')


def test_the_api_gives_the_same_queues_to_each_person_and_nothing_of_another_organisation(
    submission, org_admin, outsider, permission_matrix
):
    from rest_framework.test import APIClient

    from core.models import ApiToken

    statuses = permission_matrix(lambda c: c.get("/api/v1/me/queues/"), api=True)
    assert statuses == {name: 401 if name == "anonymous" else 200 for name in statuses}

    def queues_of(user):
        _, secret = ApiToken.objects.create(user=user, name="queues")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
        return {q["key"]: q for q in client.get("/api/v1/me/queues/").json()}

    mine = queues_of(org_admin)
    assert mine["unassigned"]["total"] == 1
    assert mine["unassigned"]["items"][0]["label"].startswith(submission.reference)
    assert mine["unassigned"]["items"][0]["url"] == f"/certification/submissions/{submission.pk}/#reviewers"
    theirs = queues_of(outsider)
    assert all(submission.reference not in str(q) for q in theirs.values())
