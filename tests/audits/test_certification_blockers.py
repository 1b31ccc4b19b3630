"""Issue #13 item 1: a certificate is never issued past an unresolved finding. An approval waits
until every finding of the submission's run is decided, every "require mitigation" is shown fixed
by a later run of the system or made a condition of the certificate (owner and due date), and every
escalation is decided by the escalation role. Through the services, the API (409 naming every
blocker) and the sign-off page (listing them), with the permission matrix of the new actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audits.certification import resolution
from audits.certification import services as svc
from audits.certification.models import Certificate
from core.errors import Conflict, NotAllowed, ValidationFailed
from core.models import AuditEvent
from tests.audits.certification_support import *  # noqa: F403
from tests.audits.certification_support import PASSWORD
from tests.audits.validation_support import finish_with_results, sample_result

pytestmark = pytest.mark.django_db
API = "/api/v1"
WHY = "Within the bank's documented appetite for this model."


def finding(submission, check_id):
    return submission.validation_run.findings.get(check_id=check_id)


def decide(submission, reviewer, check_id, decision, justification=WHY):
    return svc.finding_decide(
        actor=reviewer,
        submission=submission,
        finding=finding(submission, check_id),
        decision=decision,
        justification=justification,
    )


def approve(submission, signer, reason="Every finding reviewed and resolved."):
    return svc.submission_sign(
        actor=signer, submission=submission, decision="approve", password=PASSWORD, reason=reason
    )


def later_run(engineer, submission, results):
    """A run of the submission's system after its run, finished with `results`."""
    from audits.validation.services import validation_start

    original = submission.validation_run
    run = validation_start(
        actor=engineer,
        model_version=submission.model_version,
        test_dataset=original.test_dataset,
        train_dataset=original.train_dataset,
        suite="full",
    )
    return finish_with_results(run, results)


PASSING = [sample_result("PERF-01", "pass"), sample_result("FAIR-02", "pass", family="fairness")]


def due(days=30):
    return timezone.localdate() + timedelta(days=days)


def blocked(submission, signer) -> Conflict:
    with pytest.raises(Conflict) as error:
        approve(submission, signer)
    return error.value


# --- the rule ---------------------------------------------------------------------------------------


def test_approval_is_refused_while_findings_are_unresolved_and_the_refusal_names_each_blocker(in_review, auditor):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    decide(in_review, auditor, "FAIR-02", "escalate")
    error = blocked(in_review, auditor)
    assert error.code == "findings_unresolved"
    blockers = error.extra["blockers"]
    assert [(b["check_id"], b["kind"]) for b in blockers] == [
        ("PERF-01", "mitigation_required"),
        ("FAIR-02", "escalated"),
    ]
    assert blockers[0]["finding"] == finding(in_review, "PERF-01").pk and blockers[0]["title"]
    assert blockers[0]["url"].endswith(f"#finding-{blockers[0]['finding']}")
    assert "PERF-01 (not mitigated)" in error.message and "FAIR-02 (escalated)" in error.message
    assert not in_review.signoffs.exists() and not Certificate.objects.exists()


def test_an_undecided_finding_of_any_severity_blocks_approval_but_not_a_rejection(in_review, auditor):
    decide(in_review, auditor, "PERF-01", "accept_risk")
    error = blocked(in_review, auditor)
    assert [(b["check_id"], b["kind"]) for b in error.extra["blockers"]] == [("FAIR-02", "undecided")]
    svc.submission_sign(
        actor=auditor,
        submission=in_review,
        decision="reject",
        password=PASSWORD,
        reason="The fairness gap is too wide.",
    )
    in_review.refresh_from_db()
    assert in_review.status == "rejected"


def test_an_undecided_critical_finding_keeps_its_code_and_lists_every_blocker(in_review, auditor):
    error = blocked(in_review, auditor)
    assert error.code == "critical_undecided" and error.extra["findings"] == ["PERF-01"]
    assert {b["check_id"] for b in error.extra["blockers"]} == {"PERF-01", "FAIR-02"}


# --- a condition of the certificate -----------------------------------------------------------------


def test_turning_require_mitigation_findings_into_conditions_unblocks_approval_and_puts_them_on_the_certificate(
    in_review, auditor, compliance_officer, ml_engineer
):
    for check_id in ("PERF-01", "FAIR-02"):
        decide(in_review, auditor, check_id, "require_mitigation")
    condition = resolution.finding_condition_create(
        actor=auditor, submission=in_review, finding=finding(in_review, "PERF-01"), owner=ml_engineer, due_date=due()
    )
    assert condition.finding == finding(in_review, "PERF-01") and condition.signoff is None
    assert condition.text.startswith("Mitigate PERF-01")
    assert [b["check_id"] for b in blocked(in_review, auditor).extra["blockers"]] == ["FAIR-02"]
    resolution.finding_condition_create(
        actor=auditor,
        submission=in_review,
        finding=finding(in_review, "FAIR-02"),
        owner=ml_engineer.pk,
        due_date=due(60).isoformat(),
        text="Close the approval-rate gap for applicants over 60",
    )
    approve(in_review, auditor)
    approve(in_review, compliance_officer, reason="Classification and obligations are in order.")
    in_review.refresh_from_db()
    assert in_review.status == "approved_with_conditions"
    texts = [c["text"] for c in in_review.certificate.document["payload"]["conditions"]]
    assert "Close the approval-rate gap for applicants over 60" in texts and len(texts) == 2
    event = AuditEvent.objects.filter(verb="finding.made_condition", object_id=str(finding(in_review, "PERF-01").pk))
    assert event.get().after["owner"] == ml_engineer.username


def test_a_condition_needs_a_future_due_date_and_only_a_require_mitigation_finding_becomes_one(
    in_review, auditor, ml_engineer
):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    decide(in_review, auditor, "FAIR-02", "accept_risk")
    with pytest.raises(ValidationFailed):
        resolution.finding_condition_create(
            actor=auditor,
            submission=in_review,
            finding=finding(in_review, "PERF-01"),
            owner=ml_engineer,
            due_date=timezone.localdate() - timedelta(days=1),
        )
    with pytest.raises(Conflict) as error:
        resolution.finding_condition_create(
            actor=auditor,
            submission=in_review,
            finding=finding(in_review, "FAIR-02"),
            owner=ml_engineer,
            due_date=due(),
        )
    assert error.value.code == "not_mitigation_required"
    assert not in_review.conditions.exists()


def test_a_finding_made_a_condition_keeps_its_decision(in_review, auditor, ml_engineer):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    resolution.finding_condition_create(
        actor=auditor, submission=in_review, finding=finding(in_review, "PERF-01"), owner=ml_engineer, due_date=due()
    )
    with pytest.raises(Conflict) as error:
        decide(in_review, auditor, "PERF-01", "accept_risk")
    assert error.value.code == "mitigation_recorded"


# --- mitigation by a later run ----------------------------------------------------------------------


def test_a_later_run_in_which_the_checks_pass_mitigates_the_findings_and_unblocks_approval(
    in_review, auditor, compliance_officer, ml_engineer
):
    for check_id in ("PERF-01", "FAIR-02"):
        decide(in_review, auditor, check_id, "require_mitigation")
    run = later_run(ml_engineer, in_review, PASSING)
    for check_id in ("PERF-01", "FAIR-02"):
        record = resolution.finding_mitigation_record(
            actor=auditor,
            submission=in_review,
            finding=finding(in_review, check_id),
            run=run,
            note="Fixed by retraining.",
        )
        assert record.mitigation_run == run and record.mitigated_by == auditor
    approve(in_review, auditor)
    approve(in_review, compliance_officer, reason="Classification and obligations are in order.")
    in_review.refresh_from_db()
    assert in_review.status == "approved"
    assert AuditEvent.objects.filter(verb="finding.mitigated").count() == 2


def test_a_later_run_in_which_the_check_still_fails_does_not_mitigate(in_review, auditor, ml_engineer):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    decide(in_review, auditor, "FAIR-02", "accept_risk")
    run = later_run(ml_engineer, in_review, [sample_result("PERF-01", "fail", severity="critical")])
    with pytest.raises(ValidationFailed) as error:
        resolution.finding_mitigation_record(
            actor=auditor, submission=in_review, finding=finding(in_review, "PERF-01"), run=run
        )
    assert error.value.code == "mitigation_check_not_passed" and "fail" in error.value.message
    assert [b["check_id"] for b in blocked(in_review, auditor).extra["blockers"]] == ["PERF-01"]


def test_the_submissions_own_run_or_a_run_of_another_system_does_not_mitigate(
    in_review, auditor, ml_engineer, compliance_officer
):
    from audits.validation.services import validation_start
    from tests.audits.certification_support import make_certifiable

    decide(in_review, auditor, "PERF-01", "require_mitigation")
    with pytest.raises(ValidationFailed) as own:
        resolution.finding_mitigation_record(
            actor=auditor, submission=in_review, finding=finding(in_review, "PERF-01"), run=in_review.validation_run
        )
    assert own.value.code == "mitigation_run_not_later"
    other = make_certifiable(ml_engineer, compliance_officer, name="Another credit model")
    run = validation_start(actor=ml_engineer, model_version=other.version, test_dataset=other.test, suite="full")
    run = finish_with_results(run, PASSING)
    with pytest.raises(ValidationFailed) as elsewhere:
        resolution.finding_mitigation_record(
            actor=auditor, submission=in_review, finding=finding(in_review, "PERF-01"), run=run
        )
    assert elsewhere.value.code == "mitigation_other_system"


# --- escalation ---------------------------------------------------------------------------------------


def test_an_escalation_decided_by_the_escalation_role_unblocks_approval(
    in_review, auditor, compliance_officer, django_capture_on_commit_callbacks
):
    from core.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        decide(in_review, auditor, "PERF-01", "escalate")
    assert Notification.objects.filter(recipient=compliance_officer, kind="finding.decided").exists()
    decide(in_review, auditor, "FAIR-02", "accept_risk")
    record = resolution.finding_escalation_decide(
        actor=compliance_officer,
        submission=in_review,
        finding=finding(in_review, "PERF-01"),
        decision="accept_risk",
        justification="Compensated by a human review of every declined application.",
    )
    assert record.decision == "accept_risk" and record.escalation_decided_by == compliance_officer
    assert finding(in_review, "PERF-01").status == "accepted"
    event = AuditEvent.objects.get(verb="finding.escalation_decided")
    assert event.before == {"decision": "escalate", "escalated_by": auditor.username}
    approve(in_review, auditor)
    approve(in_review, compliance_officer, reason="Classification and obligations are in order.")
    in_review.refresh_from_db()
    assert in_review.status == "approved"


def test_an_escalation_cannot_be_decided_by_anyone_outside_the_escalation_role_nor_by_who_escalated_it(
    in_review, auditor, compliance_officer, org_admin, ml_engineer
):
    decide(in_review, compliance_officer, "FAIR-02", "escalate")
    target = finding(in_review, "FAIR-02")
    for person in (auditor, ml_engineer, compliance_officer):
        with pytest.raises(NotAllowed):
            resolution.finding_escalation_decide(
                actor=person, submission=in_review, finding=target, decision="accept_risk", justification=WHY
            )
    resolution.finding_escalation_decide(
        actor=org_admin, submission=in_review, finding=target, decision="require_mitigation", justification=WHY
    )
    assert [(b["check_id"], b["kind"]) for b in blocked(in_review, auditor).extra["blockers"]] == [
        ("PERF-01", "undecided"),
        ("FAIR-02", "mitigation_required"),
    ]


def test_a_reviewer_cannot_settle_an_escalated_finding_with_an_ordinary_decision(
    in_review, auditor, compliance_officer
):
    decide(in_review, auditor, "PERF-01", "escalate")
    for reviewer in (auditor, compliance_officer):
        with pytest.raises(Conflict) as error:
            decide(in_review, reviewer, "PERF-01", "accept_risk")
        assert error.value.code == "escalated"
    resolution.finding_escalation_decide(
        actor=compliance_officer,
        submission=in_review,
        finding=finding(in_review, "PERF-01"),
        decision="false_positive",
        justification="The metric was computed on the wrong slice.",
    )
    with pytest.raises(Conflict) as after:
        decide(in_review, auditor, "PERF-01", "require_mitigation")
    assert after.value.code == "escalation_decided"


# --- the API ------------------------------------------------------------------------------------------


def api_for(user) -> APIClient:
    from core.models import ApiToken

    client = APIClient()
    if user is not None:
        _, secret = ApiToken.objects.create(user=user, name="ci")
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def rolled_back(url, body):
    def call(client):
        with transaction.atomic():
            response = client.post(url, body, format="json")
            transaction.set_rollback(True)
        return response

    return call


def test_the_api_refuses_approval_with_409_naming_every_blocker_and_the_status_lists_them(in_review, auditor):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    response = api_for(auditor).post(
        f"{API}/submissions/{in_review.pk}/sign/",
        {"decision": "approve", "reason": "Every finding reviewed.", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "findings_unresolved" and "PERF-01" in body["message"]
    assert [(b["finding"], b["check_id"], b["kind"]) for b in body["extra"]["blockers"]] == [
        (finding(in_review, "PERF-01").pk, "PERF-01", "mitigation_required"),
        (finding(in_review, "FAIR-02").pk, "FAIR-02", "undecided"),
    ]
    assert all(b["title"] and b["reason"] for b in body["extra"]["blockers"])
    status = api_for(auditor).get(f"{API}/submissions/{in_review.pk}/status/").json()
    assert [b["check_id"] for b in status["approval_blockers"]] == ["PERF-01", "FAIR-02"]


def test_the_api_turns_a_finding_into_a_condition_records_a_mitigation_and_decides_an_escalation(
    in_review, auditor, compliance_officer, ml_engineer
):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    decide(in_review, auditor, "FAIR-02", "escalate")
    base = f"{API}/submissions/{in_review.pk}/findings"
    perf, fair = finding(in_review, "PERF-01"), finding(in_review, "FAIR-02")
    refused = api_for(auditor).post(
        f"{base}/{fair.pk}/escalation-decision/", {"decision": "accept_risk", "justification": WHY}, format="json"
    )
    assert refused.status_code == 403
    decided = api_for(compliance_officer).post(
        f"{base}/{fair.pk}/escalation-decision/",
        {"decision": "require_mitigation", "justification": WHY},
        format="json",
    )
    assert decided.status_code == 200 and decided.json()["escalation_decided_by"] == compliance_officer.pk
    run = later_run(ml_engineer, in_review, PASSING)
    mitigated = api_for(auditor).post(f"{base}/{fair.pk}/mitigation/", {"run": run.pk}, format="json")
    assert mitigated.status_code == 200 and mitigated.json()["mitigation_run"] == run.pk
    made = api_for(auditor).post(
        f"{base}/{perf.pk}/condition/", {"owner": ml_engineer.pk, "due_date": due().isoformat()}, format="json"
    )
    assert made.status_code == 201 and made.json()["finding"] == perf.pk
    status = api_for(auditor).get(f"{API}/submissions/{in_review.pk}/status/").json()
    assert status["approval_blockers"] == []


def test_a_failing_later_run_is_a_400_naming_why(in_review, auditor, ml_engineer):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    run = later_run(ml_engineer, in_review, [sample_result("PERF-01", "warn")])
    response = api_for(auditor).post(
        f"{API}/submissions/{in_review.pk}/findings/{finding(in_review, 'PERF-01').pk}/mitigation/",
        {"run": run.pk},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "mitigation_check_not_passed"


def expect(**overrides) -> dict:
    base = {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }
    return {**base, **overrides}


def test_only_assigned_reviewers_make_a_finding_a_condition_through_the_api(
    permission_matrix, in_review, auditor, ml_engineer
):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    url = f"{API}/submissions/{in_review.pk}/findings/{finding(in_review, 'PERF-01').pk}/condition/"
    body = {"owner": ml_engineer.pk, "due_date": due().isoformat()}
    assert permission_matrix(rolled_back(url, body), api=True) == expect(auditor=201, compliance_officer=201)


def test_only_assigned_reviewers_record_a_mitigation_through_the_api(
    permission_matrix, in_review, auditor, ml_engineer
):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    run = later_run(ml_engineer, in_review, PASSING)
    url = f"{API}/submissions/{in_review.pk}/findings/{finding(in_review, 'PERF-01').pk}/mitigation/"
    assert permission_matrix(rolled_back(url, {"run": run.pk}), api=True) == expect(auditor=200, compliance_officer=200)


def test_only_the_escalation_role_decides_an_escalation_through_the_api(permission_matrix, in_review, auditor):
    decide(in_review, auditor, "PERF-01", "escalate")
    url = f"{API}/submissions/{in_review.pk}/findings/{finding(in_review, 'PERF-01').pk}/escalation-decision/"
    body = {"decision": "accept_risk", "justification": WHY}
    assert permission_matrix(rolled_back(url, body), api=True) == expect(
        compliance_officer=200, org_admin=200, outsider=404
    )


# --- the sign-off page --------------------------------------------------------------------------------


LOGIN = 302


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def sign_data(submission) -> dict:
    submission.refresh_from_db()
    data = {
        "lock_version": submission.lock_version,
        "decision": "approve",
        "password": PASSWORD,
        "reason": "Every finding reviewed; the residual risks are accepted.",
        "valid_until": "",
        "conditions-TOTAL_FORMS": "1",
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "20",
        "conditions-0-text": "",
        "conditions-0-owner": "",
        "conditions-0-due_date": "",
    }
    return data


def test_the_sign_off_page_lists_every_blocker_with_a_link_to_its_finding(in_review, auditor):
    decide(in_review, auditor, "PERF-01", "escalate")
    page = text_of(client_for(auditor).get(reverse("certification:submission_detail", args=[in_review.pk])))
    box = page[page.index('data-testid="approval-blockers"') :]
    assert "Approval is blocked by 2 unresolved findings" in box
    assert f'href="#finding-{finding(in_review, "PERF-01").pk}"' in box and "Escalated by" in box
    assert f'href="#finding-{finding(in_review, "FAIR-02").pk}"' in box and "No decision yet." in box


def test_a_refused_approval_on_the_page_is_a_409_naming_the_blockers(in_review, auditor):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    decide(in_review, auditor, "FAIR-02", "accept_risk")
    response = client_for(auditor).post(
        reverse("certification:submission_sign", args=[in_review.pk]), sign_data(in_review)
    )
    assert response.status_code == 409
    errors = text_of(response)
    assert "Approval is refused while 1 finding(s) are unresolved: PERF-01 (not mitigated)" in errors
    assert not in_review.signoffs.exists()


def test_the_page_turns_a_finding_into_a_condition_and_the_blocker_is_gone(in_review, auditor, ml_engineer):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    decide(in_review, auditor, "FAIR-02", "accept_risk")
    perf = finding(in_review, "PERF-01")
    client = client_for(auditor)
    detail = reverse("certification:submission_detail", args=[in_review.pk])
    assert 'data-testid="condition-form-PERF-01"' in client.get(detail).content.decode()
    url = reverse("certification:finding_condition", args=[in_review.pk, perf.pk])
    response = client.post(
        url,
        {
            f"cond{perf.pk}-text": "",
            f"cond{perf.pk}-owner": ml_engineer.pk,
            f"cond{perf.pk}-due_date": due().isoformat(),
        },
    )
    assert response.status_code == 302
    page = text_of(client.get(detail))
    assert 'data-testid="approval-unblocked"' in page and 'data-testid="condition-of-PERF-01"' in page


def test_the_page_offers_only_later_passing_runs_and_a_failing_one_is_refused(in_review, auditor, ml_engineer):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    perf = finding(in_review, "PERF-01")
    failing = later_run(ml_engineer, in_review, [sample_result("PERF-01", "fail", severity="critical")])
    passing = later_run(ml_engineer, in_review, PASSING)
    client = client_for(auditor)
    page = client.get(reverse("certification:submission_detail", args=[in_review.pk])).content.decode()
    form = page[page.index('data-testid="mitigation-form-PERF-01"') :]
    form = form[: form.index("</form>")]
    assert f'value="{passing.pk}"' in form and f'value="{failing.pk}"' not in form
    url = reverse("certification:finding_mitigation", args=[in_review.pk, perf.pk])
    assert client.post(url, {f"mit{perf.pk}-run": failing.pk}).status_code == 400
    assert client.post(url, {f"mit{perf.pk}-run": passing.pk}).status_code == 302
    assert (
        'data-testid="mitigated-PERF-01"'
        in client.get(reverse("certification:submission_detail", args=[in_review.pk])).content.decode()
    )


def test_only_assigned_reviewers_make_a_finding_a_condition_on_the_page(
    permission_matrix, in_review, auditor, ml_engineer
):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    perf = finding(in_review, "PERF-01")
    url = reverse("certification:finding_condition", args=[in_review.pk, perf.pk])
    data = {f"cond{perf.pk}-owner": ml_engineer.pk, f"cond{perf.pk}-due_date": due().isoformat()}

    def call(client):
        with transaction.atomic():
            response = client.post(url, data)
            transaction.set_rollback(True)
        return response

    assert permission_matrix(call) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_only_assigned_reviewers_record_a_mitigation_on_the_page(permission_matrix, in_review, auditor, ml_engineer):
    decide(in_review, auditor, "PERF-01", "require_mitigation")
    perf = finding(in_review, "PERF-01")
    run = later_run(ml_engineer, in_review, PASSING)
    url = reverse("certification:finding_mitigation", args=[in_review.pk, perf.pk])

    def call(client):
        with transaction.atomic():
            response = client.post(url, {f"mit{perf.pk}-run": run.pk})
            transaction.set_rollback(True)
        return response

    assert permission_matrix(call) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_only_the_escalation_role_decides_an_escalation_on_the_page_and_anyone_else_gets_403(
    permission_matrix, in_review, auditor, compliance_officer
):
    decide(in_review, auditor, "PERF-01", "escalate")
    perf = finding(in_review, "PERF-01")
    url = reverse("certification:finding_escalation_decide", args=[in_review.pk, perf.pk])
    data = {f"esc{perf.pk}-decision": "accept_risk", f"esc{perf.pk}-justification": WHY}

    def call(client):
        with transaction.atomic():
            response = client.post(url, data)
            transaction.set_rollback(True)
        return response

    assert permission_matrix(call) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 302,
        "outsider": 404,
    }
    page = client_for(compliance_officer).get(reverse("certification:submission_detail", args=[in_review.pk]))
    assert 'data-testid="escalation-form-PERF-01"' in page.content.decode()
    assert (
        'data-testid="escalation-form-PERF-01"'
        not in client_for(auditor).get(reverse("certification:submission_detail", args=[in_review.pk])).content.decode()
    )


# --- issue #13 item 2: a co-signer did not approve the classification ------------------------------


def classified_by(ml_engineer, compliance_officer, org_admin, auditor, **kwargs):
    """A submission in review whose classification the compliance officer persona approved."""
    from tests.audits.certification_support import decide_all, make_certifiable

    ready = make_certifiable(ml_engineer, compliance_officer, approver=compliance_officer, **kwargs)
    submission = svc.submission_create(actor=ml_engineer, model_version=ready.version)
    for reviewer in (auditor, compliance_officer):
        svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=reviewer)
    decide_all(submission, auditor)
    submission.refresh_from_db()
    return submission


def test_a_co_signer_who_approved_the_high_risk_classification_is_refused_with_the_reason(
    ml_engineer, compliance_officer, org_admin, auditor
):
    submission = classified_by(ml_engineer, compliance_officer, org_admin, auditor)
    approve(submission, auditor)
    for decision in ("approve", "reject"):
        with pytest.raises(NotAllowed) as error:
            svc.submission_sign(
                actor=compliance_officer,
                submission=submission,
                decision=decision,
                password=PASSWORD,
                reason="Classification and obligations are in order.",
            )
        assert error.value.code == "four_eyes" and error.value.extra["rule"] == "four_eyes_high_risk"
        assert "you approved this one" in error.value.message
    submission.refresh_from_db()
    assert submission.status == "in_review" and not Certificate.objects.exists()
    page = client_for(compliance_officer).get(reverse("certification:submission_detail", args=[submission.pk]))
    assert 'data-testid="four-eyes-signer"' in page.content.decode()
    assert 'data-testid="sign-form"' not in page.content.decode()
    response = api_for(compliance_officer).post(
        f"{API}/submissions/{submission.pk}/sign/",
        {"decision": "approve", "reason": "Classification and obligations are in order.", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 403 and response.json()["code"] == "four_eyes"


def test_with_the_four_eyes_setting_off_the_classifications_approver_may_co_sign(
    ml_engineer, compliance_officer, org_admin, auditor
):
    from core.models import Organisation

    Organisation.objects.filter(pk=compliance_officer.organisation_id).update(four_eyes_high_risk=False)
    submission = classified_by(ml_engineer, compliance_officer, org_admin, auditor)
    approve(submission, auditor)
    approve(submission, compliance_officer, reason="Classification and obligations are in order.")
    submission.refresh_from_db()
    assert submission.status == "approved"


def test_the_approver_of_a_minimal_risk_classification_may_sign_its_certificate(
    ml_engineer, compliance_officer, org_admin
):
    from tests.audits.certification_support import decide_all, make_certifiable
    from tests.governance.conftest import MINIMAL

    ready = make_certifiable(
        ml_engineer, compliance_officer, answers=MINIMAL, name="Internal ticket router", approver=compliance_officer
    )
    submission = svc.submission_create(actor=ml_engineer, model_version=ready.version)
    svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=compliance_officer)
    decide_all(submission, compliance_officer)
    approve(submission, compliance_officer)
    submission.refresh_from_db()
    assert submission.status == "approved"
