"""The certification pages: who may open and use each one (the permission matrix), what the audit
workspace shows, and that bad input gives a clear message while keeping what the user typed."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from itertools import count

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audits.certification import services as svc
from audits.certification.models import Certificate, Condition, FindingDecision, Submission
from tests.audits.certification_support import *  # noqa: F403
from tests.audits.certification_support import PASSWORD, decide_all
from tests.audits.validation_support import finish_with_results, register_credit_system, sample_result
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
LOGIN = 302
READERS = {"anonymous": LOGIN, "ml_engineer": 200, "auditor": 200, "compliance_officer": 200, "org_admin": 200}
_numbers = count(1)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def detail_url(submission) -> str:
    return reverse("certification:submission_detail", args=[submission.pk])


def finding(submission, check_id):
    return submission.validation_run.findings.get(check_id=check_id)


def sign_data(submission, **overrides) -> dict:
    submission.refresh_from_db()
    data = {
        "lock_version": submission.lock_version,
        "decision": "approve",
        "password": PASSWORD,
        "reason": "Every finding reviewed; the residual risks are accepted.",
        "valid_until": "",
        "conditions-TOTAL_FORMS": "3",
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "20",
    }
    for i in range(3):
        data.update({f"conditions-{i}-text": "", f"conditions-{i}-owner": "", f"conditions-{i}-due_date": ""})
    data.update(overrides)
    return data


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- the permission matrix ------------------------------------------------------------------------


def test_the_submission_list_is_open_to_every_member_and_empty_for_strangers(permission_matrix, submission, outsider):
    assert permission_matrix(lambda c: c.get(reverse("certification:submission_list"))) == {**READERS, "outsider": 200}
    assert submission.reference not in text_of(client_for(outsider).get(reverse("certification:submission_list")))


def test_the_workspace_is_404_for_another_organisation(permission_matrix, in_review):
    assert permission_matrix(lambda c: c.get(detail_url(in_review))) == {**READERS, "outsider": 404}


def test_a_versions_certification_panel_is_404_for_another_organisation(permission_matrix, certifiable):
    url = reverse("certification:version_panel", args=[certifiable.version.pk])
    assert permission_matrix(lambda c: c.get(url, HTTP_HX_REQUEST="true")) == {**READERS, "outsider": 404}


def test_only_ml_engineers_open_the_submit_form(permission_matrix, certifiable):
    url = reverse("certification:submission_new", args=[certifiable.version.pk])
    assert permission_matrix(lambda c: c.get(url)) == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_an_ml_engineer_of_another_organisation_gets_404_on_the_submit_form(certifiable, other_organisation):
    stranger = make_user(other_organisation, "gus", "ml_engineer")
    url = reverse("certification:submission_new", args=[certifiable.version.pk])
    assert client_for(stranger).get(url).status_code == 404


def test_only_assigned_reviewers_record_decisions(permission_matrix, in_review):
    url = reverse("certification:finding_decide", args=[in_review.pk, finding(in_review, "FAIR-02").pk])
    data = {f"f{finding(in_review, 'FAIR-02').pk}-decision": "require_mitigation"}
    assert permission_matrix(lambda c: c.post(url, data)) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_the_ml_team_and_reviewers_comment_but_admins_do_not(permission_matrix, in_review):
    fair = finding(in_review, "FAIR-02")
    url = reverse("certification:finding_comments", args=[in_review.pk, fair.pk])
    result = permission_matrix(lambda c: c.post(url, {f"c{fair.pk}-body": "Which groups drive the gap?"}))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 302,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_a_findings_thread_is_404_for_another_organisation(permission_matrix, in_review):
    url = reverse("certification:finding_comments", args=[in_review.pk, finding(in_review, "FAIR-02").pk])
    assert permission_matrix(lambda c: c.get(url, HTTP_HX_REQUEST="true")) == {**READERS, "outsider": 404}


def test_admins_and_compliance_officers_assign_reviewers(permission_matrix, submission, organisation):
    def assign(client):
        reviewer = make_user(organisation, f"reviewer{next(_numbers)}", "auditor")
        return client.post(reverse("certification:submission_assign", args=[submission.pk]), {"reviewer": reviewer.pk})

    assert permission_matrix(assign) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 302,
        "outsider": 404,
    }


def test_reviewers_and_admins_declare_conflicts_of_interest(permission_matrix, in_review):
    url = reverse("certification:conflict_declare", args=[in_review.pk])
    result = permission_matrix(lambda c: c.post(url, {"reason": "I helped design this model last year."}))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 302,
        "outsider": 404,
    }


def test_only_reviewers_request_changes(permission_matrix, in_review):
    def request_changes(client):
        Submission.objects.filter(pk=in_review.pk).update(status="in_review")
        in_review.refresh_from_db()
        return client.post(
            reverse("certification:submission_request_changes", args=[in_review.pk]),
            {"reason": "Rebalance the training data first.", "lock_version": in_review.lock_version},
        )

    assert permission_matrix(request_changes) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_only_ml_engineers_submit_again_after_changes_were_requested(permission_matrix, in_review):
    def resubmit(client):
        Submission.objects.filter(pk=in_review.pk).update(status="changes_requested")
        in_review.refresh_from_db()
        return client.post(
            reverse("certification:submission_resubmit", args=[in_review.pk]), {"lock_version": in_review.lock_version}
        )

    assert permission_matrix(resubmit) == {
        "anonymous": LOGIN,
        "ml_engineer": 302,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_only_an_assigned_auditor_re_runs_the_validation(permission_matrix, in_review):
    url = reverse("certification:submission_rerun", args=[in_review.pk])
    assert permission_matrix(lambda c: c.post(url)) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_a_rerun_page_is_404_for_another_organisation(permission_matrix, in_review, auditor):
    rerun = svc.submission_rerun(actor=auditor, submission=in_review)
    url = reverse("certification:rerun_detail", args=[in_review.pk, rerun.pk])
    assert permission_matrix(lambda c: c.get(url)) == {**READERS, "outsider": 404}


def test_only_assigned_reviewers_sign(permission_matrix, in_review, auditor):
    decide_all(in_review, auditor)
    url = reverse("certification:submission_sign", args=[in_review.pk])
    assert permission_matrix(lambda c: c.post(url, sign_data(in_review))) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }
    in_review.refresh_from_db()
    assert in_review.status == "approved"


def test_only_reviewers_record_a_dissenting_opinion(permission_matrix, in_review):
    url = reverse("certification:dissent_record", args=[in_review.pk])
    result = permission_matrix(lambda c: c.post(url, {"opinion": "The fairness gap is larger than we admit."}))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_the_certificate_download_is_404_for_another_organisation(permission_matrix, high_risk_approved):
    url = reverse("certification:certificate_download", args=[high_risk_approved.certificate.pk])
    assert permission_matrix(lambda c: c.get(url)) == {**READERS, "outsider": 404}


def test_only_certificate_managers_suspend_a_certificate(permission_matrix, high_risk_approved):
    certificate = high_risk_approved.certificate

    def suspend(client):
        Certificate.objects.filter(pk=certificate.pk).update(status="valid")
        Submission.objects.filter(pk=high_risk_approved.pk).update(status="approved")
        return client.post(
            reverse("certification:certificate_change", args=[certificate.pk]),
            {"action": "suspend", "reason": "Incident under investigation."},
        )

    assert permission_matrix(suspend) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 302,
        "outsider": 404,
    }


def conditional_approval(submission, auditor, compliance_officer, owner) -> Condition:
    decide_all(submission, auditor)
    svc.submission_sign(
        actor=auditor,
        submission=submission,
        decision="approve_with_conditions",
        password=PASSWORD,
        reason="Fine once monitoring is in place.",
        valid_until=timezone.localdate() + timedelta(days=200),
        conditions=[
            {
                "text": "Set up drift monitoring",
                "owner": owner.pk,
                "due_date": timezone.localdate() + timedelta(days=30),
            }
        ],
    )
    svc.submission_sign(
        actor=compliance_officer,
        submission=submission,
        decision="approve",
        password=PASSWORD,
        reason="Obligations are covered.",
    )
    return submission.conditions.get()


def test_a_condition_is_marked_met_by_its_owner_or_a_certificate_manager(
    permission_matrix, in_review, auditor, compliance_officer, ml_engineer
):
    condition = conditional_approval(in_review, auditor, compliance_officer, ml_engineer)

    def mark(client):
        Condition.objects.filter(pk=condition.pk).update(status="open")
        return client.post(
            reverse("certification:condition_met", args=[condition.pk]),
            {f"met{condition.pk}-note": "Dashboards are live since Monday."},
        )

    assert permission_matrix(mark) == {
        "anonymous": LOGIN,
        "ml_engineer": 302,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 302,
        "outsider": 404,
    }


def test_a_risk_is_raised_from_a_decision_by_its_reviewers_or_a_compliance_officer(
    permission_matrix, in_review, auditor
):
    decide_all(in_review, auditor)
    fair = finding(in_review, "FAIR-02")

    def raise_risk(client):
        FindingDecision.objects.filter(submission=in_review).update(risk=None)
        return client.post(reverse("certification:finding_raise_risk", args=[in_review.pk, fair.pk]))

    assert permission_matrix(raise_risk) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 404,
    }


# --- submitting -------------------------------------------------------------------------------------


def test_the_submit_page_lists_the_blockers_in_plain_words_instead_of_a_form(ml_engineer):
    registered = register_credit_system(ml_engineer, name="Unclassified scorer")
    response = client_for(ml_engineer).get(reverse("certification:submission_new", args=[registered.version.pk]))
    page = text_of(response)
    assert "cannot be submitted yet" in page
    assert "no approved EU AI Act classification" in page
    assert 'data-testid="submission-form"' not in page


def test_the_version_page_panel_offers_to_submit_a_ready_version(certifiable, ml_engineer):
    panel = client_for(ml_engineer).get(
        reverse("certification:version_panel", args=[certifiable.version.pk]), HTTP_HX_REQUEST="true"
    )
    assert 'data-testid="submit-for-certification"' in panel.content.decode()
    assert "<html" not in panel.content.decode()
    page = client_for(ml_engineer).get(reverse("registry:version_detail", args=[certifiable.version.pk]))
    assert reverse("certification:version_panel", args=[certifiable.version.pk]) in page.content.decode()


def test_submitting_from_the_form_freezes_the_inputs_and_opens_the_workspace(certifiable, ml_engineer):
    url = reverse("certification:submission_new", args=[certifiable.version.pk])
    response = client_for(ml_engineer).post(url, {"validation_run": certifiable.run.pk, "note": "First review."})
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(submission)
    assert submission.status == "submitted" and submission.note == "First review."
    page = text_of(client_for(ml_engineer).get(detail_url(submission)))
    assert certifiable.version.artifact.sha256 in page
    assert submission.frozen["validation"]["results_sha256"] in page
    assert reverse("governance:determination_detail", args=[certifiable.determination.pk]) in page


def test_submitting_a_version_twice_shows_why_and_keeps_the_note(submission, certifiable, ml_engineer):
    url = reverse("certification:submission_new", args=[certifiable.version.pk])
    response = client_for(ml_engineer).post(url, {"validation_run": certifiable.run.pk, "note": "Second try."})
    assert response.status_code == 400
    assert "already has a submission in progress" in text_of(response)
    assert Submission.objects.count() == 1


# --- the list --------------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_shows_a_reviewer_what_is_assigned_to_them(
    in_review, minimal_certifiable, ml_engineer, auditor
):
    other = svc.submission_create(actor=ml_engineer, model_version=minimal_certifiable.version)
    client = client_for(auditor)
    url = reverse("certification:submission_list")
    mine = text_of(client.get(url, {"scope": "assigned"}))
    assert in_review.reference in mine and f">{other.reference}<" not in mine
    submitted = text_of(client.get(url, {"status": "submitted"}))
    assert f">{other.reference}<" in submitted and f">{in_review.reference}<" not in submitted
    by_system = text_of(client.get(url, {"system": minimal_certifiable.system.pk}, HTTP_HX_REQUEST="true"))
    assert f">{other.reference}<" in by_system and "<html" not in by_system


def test_the_navigation_leads_every_member_to_certification(ml_engineer, org_admin):
    for user in (ml_engineer, org_admin):
        page = client_for(user).get(reverse("home")).content.decode()
        assert 'data-testid="nav-certification"' in page


def test_notifications_link_to_the_workspace(submission):
    from audits.certification.notify import submission_url

    assert submission_url(submission) == detail_url(submission)


# --- the workspace -----------------------------------------------------------------------------------


def test_the_workspace_shows_history_model_card_results_and_every_finding(in_review, auditor):
    page = text_of(client_for(auditor).get(detail_url(in_review)))
    for expected in (
        "Reviewer assigned",
        "Review started",
        "Model card",
        'data-testid="result-PERF-04"',
        'data-testid="finding-PERF-01"',
        'data-testid="finding-FAIR-02"',
        "charts-PERF-01",
        "critical without a decision: PERF-01",
    ):
        assert expected in page
    assert 'data-testid="decision-form-PERF-01"' in page and 'data-testid="sign-form"' in page


def test_the_ml_engineer_sees_the_workspace_without_decision_or_sign_off_forms(in_review, ml_engineer):
    page = text_of(client_for(ml_engineer).get(detail_url(in_review)))
    assert 'data-testid="comment-form-PERF-01"' in page
    assert "decision-form-" not in page and 'data-testid="sign-form"' not in page and "assign-form" not in page


def test_a_decision_through_htmx_returns_the_card_and_moves_the_pages_version_on(in_review, auditor):
    perf = finding(in_review, "PERF-01")
    response = client_for(auditor).post(
        reverse("certification:finding_decide", args=[in_review.pk, perf.pk]),
        {
            f"f{perf.pk}-decision": "accept_risk",
            f"f{perf.pk}-justification": "Human review of every rejection.",
            "lock_version": in_review.lock_version,
        },
        HTTP_HX_REQUEST="true",
    )
    body = text_of(response)
    in_review.refresh_from_db()
    assert response.status_code == 200 and "<html" not in body
    assert 'data-testid="current-decision"><strong>Accept the risk' in body
    assert f'id="sign_lock_version" name="lock_version" value="{in_review.lock_version}" hx-swap-oob="true"' in body
    assert "1 of 2 findings decided" in body


def test_accepting_a_risk_without_justification_is_refused_and_keeps_the_choice(in_review, auditor):
    perf = finding(in_review, "PERF-01")
    response = client_for(auditor).post(
        reverse("certification:finding_decide", args=[in_review.pk, perf.pk]),
        {f"f{perf.pk}-decision": "accept_risk", f"f{perf.pk}-justification": "ok"},
    )
    page = text_of(response)
    assert response.status_code == 400
    assert "Accepting a risk needs a written reason of at least 10 characters" in page
    assert re.search(r'value="accept_risk"[^>]*checked', page)
    assert not FindingDecision.objects.exists()


def test_an_unassigned_auditor_sees_why_their_decision_was_refused_with_a_403(submission, auditor):
    fair = finding(submission, "FAIR-02")
    response = client_for(auditor).post(
        reverse("certification:finding_decide", args=[submission.pk, fair.pk]), {f"f{fair.pk}-decision": "escalate"}
    )
    assert response.status_code == 403
    assert "You are not assigned to review this submission." in text_of(response)


def test_a_decision_can_point_to_an_existing_risk_in_the_register(in_review, auditor, compliance_officer):
    from governance.risks.services import risk_create

    risk = risk_create(
        actor=compliance_officer,
        data={
            "title": "Credit model under-serves older applicants",
            "category": "bias",
            "likelihood": 3,
            "impact": 3,
            "systems": [in_review.system],
            "owner": compliance_officer,
        },
    )
    fair = finding(in_review, "FAIR-02")
    client_for(auditor).post(
        reverse("certification:finding_decide", args=[in_review.pk, fair.pk]),
        {
            f"f{fair.pk}-decision": "accept_risk",
            f"f{fair.pk}-justification": "Tracked in the register already.",
            f"f{fair.pk}-risk": risk.pk,
        },
    )
    assert FindingDecision.objects.get(finding=fair).risk == risk
    assert risk.reference in text_of(client_for(auditor).get(detail_url(in_review)))


def test_raising_a_risk_from_a_decision_links_both_ways(in_review, auditor):
    decide_all(in_review, auditor, decision="require_mitigation")
    fair = finding(in_review, "FAIR-02")
    response = client_for(auditor).post(reverse("certification:finding_raise_risk", args=[in_review.pk, fair.pk]))
    decision = FindingDecision.objects.get(finding=fair)
    risk = decision.risk
    assert response.status_code == 302 and response["Location"] == reverse("governance:risk_detail", args=[risk.pk])
    assert (risk.source_type, risk.source_id) == ("audits.findingdecision", str(decision.pk))
    risk_page = client_for(auditor).get(response["Location"]).content.decode()
    assert f"{detail_url(in_review)}#finding-{fair.pk}" in risk_page
    again = client_for(auditor).post(
        reverse("certification:finding_raise_risk", args=[in_review.pk, fair.pk]), follow=True
    )
    assert f"already linked to risk {risk.reference}" in text_of(again)


def test_a_false_positive_cannot_raise_a_risk(in_review, auditor):
    decide_all(in_review, auditor, decision="false_positive")
    decision = FindingDecision.objects.first()
    from core.errors import Conflict

    with pytest.raises(Conflict):
        svc.finding_decision_raise_risk(actor=auditor, decision=decision)


def test_comments_are_threaded_and_work_with_and_without_htmx(in_review, auditor, ml_engineer):
    fair = finding(in_review, "FAIR-02")
    url = reverse("certification:finding_comments", args=[in_review.pk, fair.pk])
    plain = client_for(auditor).post(url, {f"c{fair.pk}-body": "Which groups drive the gap?"})
    assert plain.status_code == 302 and plain["Location"].endswith(f"#finding-{fair.pk}")
    question = in_review.comments.get()
    card = client_for(ml_engineer).post(
        url, {f"c{fair.pk}-body": "Applicants over 60.", f"c{fair.pk}-parent": question.pk}, HTTP_HX_REQUEST="true"
    )
    body = text_of(card)
    assert card.status_code == 200 and "<html" not in body
    assert re.search(r'class="replies">.*Applicants over 60', body)
    assert in_review.comments.get(body="Applicants over 60.").parent == question


def test_an_empty_comment_gets_a_clear_message(in_review, ml_engineer):
    fair = finding(in_review, "FAIR-02")
    url = reverse("certification:finding_comments", args=[in_review.pk, fair.pk])
    response = client_for(ml_engineer).post(url, {f"c{fair.pk}-body": "  "}, HTTP_HX_REQUEST="true")
    assert "Write a comment first." in text_of(response)
    assert not in_review.comments.exists()


def test_an_auditor_who_declares_a_conflict_is_withdrawn(in_review, auditor):
    client_for(auditor).post(
        reverse("certification:conflict_declare", args=[in_review.pk]),
        {"reason": "My spouse leads the team that built it."},
    )
    assert not in_review.assignments.get(reviewer=auditor).active
    page = text_of(client_for(auditor).get(detail_url(in_review)))
    assert "withdrawn" in page and "decision-form-" not in page


def test_assigning_the_uploader_of_the_version_is_refused_with_the_reason_and_a_403(submission, org_admin, auditor):
    type(submission.model_version).objects.filter(pk=submission.model_version_id).update(uploaded_by=auditor)
    response = client_for(org_admin).post(
        reverse("certification:submission_assign", args=[submission.pk]), {"reviewer": auditor.pk}
    )
    assert response.status_code == 403
    assert "They uploaded this model version; separation of duties forbids reviewing their own work." in text_of(
        response
    )
    assert not submission.assignments.exists()


# --- sign-off ----------------------------------------------------------------------------------------


def post_sign(user, submission, **overrides):
    return client_for(user).post(
        reverse("certification:submission_sign", args=[submission.pk]), sign_data(submission, **overrides)
    )


def test_a_stale_sign_off_form_says_someone_changed_it_and_keeps_the_input_with_a_409(in_review, auditor):
    decide_all(in_review, auditor)
    stale = in_review.lock_version
    in_review.refresh_from_db()
    response = post_sign(auditor, in_review, lock_version=stale - 1, reason="My carefully written reason.")
    page = text_of(response)
    assert response.status_code == 409
    assert "Someone changed this submission while you had it open" in page
    assert "My carefully written reason." in page
    assert (
        f'id="sign_lock_version" value="{in_review.lock_version}"' in page
        or f'value="{in_review.lock_version}" id="sign_lock_version"' in page
    )
    assert not in_review.signoffs.exists()


@pytest.mark.parametrize(
    ("overrides", "message", "status"),
    [
        ({"password": ""}, "Re-enter your password to sign", 400),
        ({"password": "not-my-password"}, "Your password was not correct", 403),  # a refused re-authentication
        ({"reason": ""}, "Write the reason for your decision.", 400),
        ({"reason": "ok"}, "needs a written reason of at least 10 characters", 400),
    ],
)
def test_sign_off_input_problems_get_a_clear_message_and_keep_the_input(in_review, auditor, overrides, message, status):
    decide_all(in_review, auditor)
    response = post_sign(
        auditor, in_review, **{"decision": "reject", "reason": "Bias is not mitigated enough.", **overrides}
    )
    page = text_of(response)
    assert response.status_code == status
    assert message in page
    assert re.search(r'value="reject"[^>]*checked', page)
    if "reason" not in overrides:
        assert "Bias is not mitigated enough." in page
    assert not in_review.signoffs.exists()


def test_sign_off_with_an_undecided_critical_finding_is_refused(in_review, auditor):
    response = post_sign(auditor, in_review)
    assert response.status_code == 409
    assert "Approval is refused while 2 finding(s) are unresolved: PERF-01 (no decision)" in text_of(response)


def test_a_malformed_condition_date_is_named_and_the_condition_text_is_kept(in_review, auditor, ml_engineer):
    decide_all(in_review, auditor)
    response = post_sign(
        auditor,
        in_review,
        decision="approve_with_conditions",
        valid_until="2099-13-45",
        **{
            "conditions-0-text": "Set up drift monitoring",
            "conditions-0-owner": ml_engineer.pk,
            "conditions-0-due_date": "next tuesday",
        },
    )
    page = text_of(response)
    assert response.status_code == 400
    assert page.count("Write the date as YYYY-MM-DD") == 2
    assert 'value="Set up drift monitoring"' in page
    assert not in_review.signoffs.exists()


def test_a_half_filled_condition_is_refused(in_review, auditor):
    decide_all(in_review, auditor)
    until = (timezone.localdate() + timedelta(days=100)).isoformat()
    response = post_sign(
        auditor,
        in_review,
        decision="approve_with_conditions",
        valid_until=until,
        **{"conditions-0-text": "Set up drift monitoring"},
    )
    assert "A condition needs a text, an owner and a due date." in text_of(response)


def test_two_approvals_with_conditions_issue_a_certificate_shown_with_its_conditions(
    in_review, auditor, compliance_officer, ml_engineer
):
    decide_all(in_review, auditor)
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    until = (timezone.localdate() + timedelta(days=180)).isoformat()
    first = post_sign(
        auditor,
        in_review,
        decision="approve_with_conditions",
        valid_until=until,
        **{
            "conditions-1-text": "Set up drift monitoring",
            "conditions-1-owner": ml_engineer.pk,
            "conditions-1-due_date": due,
        },
    )
    assert first.status_code == 302, text_of(first)[:2000]
    assert post_sign(compliance_officer, in_review).status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == "approved_with_conditions"
    page = text_of(client_for(ml_engineer).get(detail_url(in_review)))
    assert 'data-testid="certificate-status">Valid' in page and "Set up drift monitoring" in page
    assert reverse("certification:certificate_download", args=[in_review.certificate.pk]) in page
    assert 'data-testid="condition-met-form"' in page  # the owner may mark it met


def test_the_downloaded_certificate_is_a_named_file_that_verifies(high_risk_approved, ml_engineer):
    from audits.certification.signing import verify_document_json

    certificate = high_risk_approved.certificate
    response = client_for(ml_engineer).get(reverse("certification:certificate_download", args=[certificate.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="certificate-{certificate.pk}.json"'
    assert verify_document_json(response.content).ok
    document = json.loads(response.content)
    assert document["payload"]["hashes"]["model_sha256"] == high_risk_approved.frozen["model"]["sha256"]


def test_suspending_without_a_reason_is_refused_and_with_one_it_is_shown(high_risk_approved, compliance_officer):
    certificate = high_risk_approved.certificate
    url = reverse("certification:certificate_change", args=[certificate.pk])
    refused = client_for(compliance_officer).post(url, {"action": "suspend", "reason": "no"})
    assert refused.status_code == 400 and "needs a written reason" in text_of(refused)
    client_for(compliance_officer).post(url, {"action": "suspend", "reason": "Incident under investigation."})
    certificate.refresh_from_db()
    assert certificate.status == "suspended"
    page = text_of(client_for(compliance_officer).get(detail_url(high_risk_approved)))
    assert "Incident under investigation." in page and "Lift the suspension" in page


def test_a_dissenting_opinion_is_shown_as_a_record_of_its_own(in_review, auditor):
    client_for(auditor).post(
        reverse("certification:dissent_record", args=[in_review.pk]),
        {"opinion": "The fairness gap is larger than we admit."},
    )
    page = text_of(client_for(auditor).get(detail_url(in_review)))
    assert re.search(r'<blockquote class="dissent" data-testid="dissent"><p>The fairness gap', page)


# --- changes requested, resubmission, carried points ----------------------------------------------------


def test_after_changes_are_requested_the_engineer_submits_again(in_review, auditor, ml_engineer):
    response = client_for(auditor).post(
        reverse("certification:submission_request_changes", args=[in_review.pk]),
        {"reason": "Rebalance the training data.", "lock_version": 0},
    )
    assert response.status_code == 409 and "Someone changed this submission" in text_of(response)
    assert "Rebalance the training data." in text_of(response)
    in_review.refresh_from_db()
    client_for(auditor).post(
        reverse("certification:submission_request_changes", args=[in_review.pk]),
        {"reason": "Rebalance the training data.", "lock_version": in_review.lock_version},
    )
    in_review.refresh_from_db()
    assert in_review.status == "changes_requested"
    page = text_of(client_for(ml_engineer).get(detail_url(in_review)))
    assert 'data-testid="resubmit"' in page and "Changes requested" in page
    client_for(ml_engineer).post(
        reverse("certification:submission_resubmit", args=[in_review.pk]), {"lock_version": in_review.lock_version}
    )
    in_review.refresh_from_db()
    assert in_review.status == "in_review"  # the reviewers are still assigned


def test_a_stale_resubmission_says_someone_changed_it_with_a_409(in_review, auditor, ml_engineer):
    svc.submission_request_changes(actor=auditor, submission=in_review, reason="Rebalance the training data.")
    response = client_for(ml_engineer).post(
        reverse("certification:submission_resubmit", args=[in_review.pk]), {"lock_version": 0}
    )
    assert response.status_code == 409 and "Someone changed this submission" in text_of(response)
    in_review.refresh_from_db()
    assert in_review.status == "changes_requested"


def test_a_follow_up_submission_shows_the_open_points_it_carries_forward(in_review, auditor, ml_engineer):
    perf = finding(in_review, "PERF-01")
    svc.finding_decide(
        actor=auditor,
        submission=in_review,
        finding=perf,
        decision="require_mitigation",
        justification="Recall for the minority class is too low.",
    )
    svc.submission_request_changes(actor=auditor, submission=in_review, reason="Fix PERF-01 first, please.")
    Submission.objects.filter(pk=in_review.pk).update(carried_points=[])
    follower = Submission.objects.get(pk=in_review.pk)
    follower.pk = None
    follower.number, follower.previous, follower.status = 99, in_review, "submitted"
    follower.carried_points = svc.open_points(in_review)
    follower.save()
    page = text_of(client_for(ml_engineer).get(detail_url(follower)))
    assert 'data-testid="carried-points"' in page and "Require mitigation" in page
    assert "Recall for the minority class is too low." in page


# --- re-runs -----------------------------------------------------------------------------------------------


def test_a_rerun_shows_progress_then_says_identical_when_nothing_changed(in_review, auditor):
    from tests.audits.certification_support import RESULTS

    response = client_for(auditor).post(reverse("certification:submission_rerun", args=[in_review.pk]))
    rerun = in_review.reruns.get()
    url = reverse("certification:rerun_detail", args=[in_review.pk, rerun.pk])
    assert response["Location"] == url
    running = text_of(client_for(auditor).get(url))
    assert 'data-testid="run-status"' in running and 'hx-trigger="every 2s"' in running
    finish_with_results(rerun.run, RESULTS)
    done = text_of(client_for(auditor).get(url, HTTP_HX_REQUEST="true"))
    assert '<h2 class="ok">Identical</h2>' in done and "every 2s" not in done


def test_a_rerun_with_different_results_names_the_changed_checks(in_review, auditor):
    from tests.audits.certification_support import RESULTS

    rerun = svc.submission_rerun(actor=auditor, submission=in_review)
    changed = [r if r["check_id"] != "PERF-04" else sample_result("PERF-04", "fail") for r in RESULTS]
    finish_with_results(rerun.run, changed)
    page = text_of(client_for(auditor).get(reverse("certification:rerun_detail", args=[in_review.pk, rerun.pk])))
    assert "Different: 1 of 4 checks changed" in page
    assert re.search(r'class="changed" data-testid="diff-row-PERF-04">.*?<strong>status, severity</strong>', page)


def test_a_rerun_keeps_its_results_but_adds_no_second_copy_of_the_findings(in_review, auditor):
    from audits.models import Finding
    from tests.audits.certification_support import RESULTS

    original = set(Finding.objects.filter(run=in_review.validation_run).values_list("pk", "status"))
    rerun = svc.submission_rerun(actor=auditor, submission=in_review)
    finish_with_results(rerun.run, RESULTS)
    assert rerun.run.results.count() == len(RESULTS)
    assert not rerun.run.findings.exists()
    assert set(Finding.objects.filter(status="open").values_list("pk", "status")) == original
    page = text_of(client_for(auditor).get(reverse("audits:validation_detail", args=[rerun.run.pk])))
    assert 'data-testid="rerun-notice"' in page and in_review.reference in page
    assert reverse("certification:rerun_detail", args=[in_review.pk, rerun.pk]) in page
    assert 'data-testid="rerun-comparison-link"' in page and 'data-testid="open-findings"' not in page
