"""Deciding several findings at once (issue #13, work queues): one decision and one justification,
each finding its own decision and audit event, all or nothing, one digest for the submitter; from the
findings list and through the API."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from audits.certification import services as svc
from audits.certification.models import FindingDecision
from core.errors import Conflict, NotAllowed, ValidationFailed
from core.models import AuditEvent, Notification
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
JUSTIFICATION = "Within the bank's documented appetite for this model."
LIST, DECIDE, API = reverse("audits:finding_list"), reverse("audits:finding_decide_many"), "/api/v1/findings/decide/"


def findings_of(submission):
    findings = list(submission.validation_run.findings.order_by("pk"))
    assert len(findings) >= 2, "the fixture run needs at least two findings"
    return findings


def decided_events(finding_ids) -> list[str]:
    return sorted(
        AuditEvent.objects.filter(
            verb="finding.decided", object_type="audits.finding", object_id__in=[str(pk) for pk in finding_ids]
        ).values_list("object_id", flat=True)
    )


def rolled_back(request):
    """Each persona starts from the same state: one persona's decisions are undone before the next."""

    def call(client):
        with transaction.atomic():
            response = request(client)
            transaction.set_rollback(True)
        return response

    return call


def api_for(user) -> APIClient:
    from core.models import ApiToken

    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="ci")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


# --- the service ----------------------------------------------------------------------------------


def test_a_reviewer_decides_several_findings_with_one_justification_and_each_gets_its_own_audit_event(
    in_review, auditor
):
    findings = findings_of(in_review)
    records = svc.finding_decide_many(
        actor=auditor, findings=findings, decision="accept_risk", justification=JUSTIFICATION
    )
    assert sorted(r.finding_id for r in records) == [f.pk for f in findings]
    assert {(r.decision, r.justification, r.decided_by_id) for r in records} == {
        ("accept_risk", JUSTIFICATION, auditor.pk)
    }
    assert decided_events([f.pk for f in findings]) == sorted(str(f.pk) for f in findings)


def test_the_submitter_hears_of_the_batch_in_one_notification_not_one_per_finding(
    in_review, auditor, ml_engineer, django_capture_on_commit_callbacks
):
    findings = findings_of(in_review)
    with django_capture_on_commit_callbacks(execute=True):
        svc.finding_decide_many(actor=auditor, findings=findings, decision="require_mitigation")
    [notification] = Notification.objects.filter(recipient=ml_engineer, kind="finding.decided")
    n = len(findings)
    assert notification.title == (
        f"{auditor.get_full_name()} decided {n} findings on {in_review.reference} ({n} require mitigation)"
    )
    assert all(f.check_id in notification.body for f in findings)
    assert notification.url == reverse("certification:submission_detail", args=[in_review.pk])


def test_decisions_made_one_after_another_on_the_review_page_gather_into_one_digest(
    in_review, auditor, ml_engineer, django_capture_on_commit_callbacks
):
    first, second = findings_of(in_review)[:2]
    with django_capture_on_commit_callbacks(execute=True):
        svc.finding_decide(actor=auditor, submission=in_review, finding=first, decision="require_mitigation")
    with django_capture_on_commit_callbacks(execute=True):
        svc.finding_decide(
            actor=auditor, submission=in_review, finding=second, decision="accept_risk", justification=JUSTIFICATION
        )
    [notification] = Notification.objects.filter(recipient=ml_engineer, kind="finding.decided")
    assert notification.title.endswith(
        f"decided 2 findings on {in_review.reference} (1 require mitigation, 1 accepted)"
    )


def test_escalated_findings_reach_the_escalation_role_in_their_own_digest(
    in_review, auditor, org_admin, ml_engineer, django_capture_on_commit_callbacks
):
    findings = findings_of(in_review)
    with django_capture_on_commit_callbacks(execute=True):
        svc.finding_decide_many(actor=auditor, findings=findings[:1], decision="escalate")
        svc.finding_decide_many(actor=auditor, findings=findings[1:2], decision="require_mitigation")
    [for_admin] = Notification.objects.filter(recipient=org_admin, kind="finding.decided")
    assert for_admin.title.endswith(f"decided 1 finding on {in_review.reference} (1 escalated)")
    [for_submitter] = Notification.objects.filter(recipient=ml_engineer, kind="finding.decided")
    assert "(1 escalated, 1 require mitigation)" in for_submitter.title


def test_when_one_finding_cannot_be_decided_none_is_and_the_refusal_names_it(in_review, auditor):
    findings = findings_of(in_review)
    stuck = findings[-1]
    svc.finding_decide(actor=auditor, submission=in_review, finding=stuck, decision="escalate")
    with pytest.raises(Conflict) as refused:
        svc.finding_decide_many(actor=auditor, findings=findings, decision="accept_risk", justification=JUSTIFICATION)
    assert f"Finding #{stuck.pk} ({stuck.check_id}" in refused.value.message
    assert "escalated" in refused.value.message and refused.value.extra["finding"] == stuck.pk
    assert list(FindingDecision.objects.values_list("finding_id", flat=True)) == [stuck.pk]
    assert decided_events([f.pk for f in findings[:-1]]) == []


def test_a_reviewer_not_assigned_to_the_submission_is_refused_naming_the_finding(in_review, second_auditor):
    finding = findings_of(in_review)[0]
    with pytest.raises(NotAllowed) as refused:
        svc.finding_decide_many(actor=second_auditor, findings=[finding], decision="require_mitigation")
    assert f"Finding #{finding.pk}" in refused.value.message and "not part of a submission you are" in (
        refused.value.message
    )
    assert not FindingDecision.objects.exists()


def test_a_submission_no_longer_in_review_is_named_in_the_refusal(in_review, auditor):
    from audits.certification.models import Submission

    Submission.objects.filter(pk=in_review.pk).update(status="changes_requested")
    finding = findings_of(in_review)[0]
    with pytest.raises(Conflict) as refused:
        svc.finding_decide_many(actor=auditor, findings=[finding], decision="require_mitigation")
    assert in_review.reference in refused.value.message and refused.value.code == "not_in_review"


@pytest.mark.parametrize(
    "chosen,decision,justification,code",
    [
        ("none", "require_mitigation", "", "no_findings"),
        ("all", "accept_risk", "too short", "reason_required"),
        ("all", "approve", JUSTIFICATION, "invalid_decision"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_decided(in_review, auditor, chosen, decision, justification, code):
    findings = findings_of(in_review) if chosen == "all" else []
    with pytest.raises(ValidationFailed) as refused:
        svc.finding_decide_many(actor=auditor, findings=findings, decision=decision, justification=justification)
    assert refused.value.code == code
    assert not FindingDecision.objects.exists()


# --- the findings list ----------------------------------------------------------------------------


def test_the_findings_list_offers_ticks_only_to_a_reviewer_of_a_submission_in_review(
    client, in_review, auditor, ml_engineer, second_auditor
):
    findings = findings_of(in_review)
    client.force_login(auditor)
    html = client.get(LIST).content.decode()
    assert 'data-testid="finding-bulk-decide"' in html
    assert all(f'data-testid="choose-finding-{f.pk}"' in html for f in findings)
    for person in (ml_engineer, second_auditor):
        client.force_login(person)
        html = client.get(LIST).content.decode()
        assert 'data-testid="finding-bulk-decide"' not in html and "choose-finding-" not in html


def test_deciding_the_ticked_findings_goes_back_to_the_same_filtered_list(client, in_review, auditor):
    findings = findings_of(in_review)
    client.force_login(auditor)
    query = f"run={in_review.validation_run_id}"
    response = client.post(
        DECIDE,
        {
            "findings": [f.pk for f in findings],
            "decision": "false_positive",
            "justification": JUSTIFICATION,
            "query": query,
        },
    )
    assert (response.status_code, response["Location"]) == (302, f"{LIST}?{query}")
    assert FindingDecision.objects.filter(decision="false_positive").count() == len(findings)
    assert f"{len(findings)} findings decided." in client.get(response["Location"]).content.decode()


def test_after_filtering_in_place_the_bulk_decision_returns_to_the_list_as_filtered(client, in_review, auditor):
    client.force_login(auditor)
    table = client.get(f"{LIST}?severity=critical", HTTP_HX_REQUEST="true").content.decode()
    assert '<input type="hidden" name="query" value="severity=critical" form="finding-bulk-decide">' in table


def test_a_refused_batch_shows_the_list_again_naming_the_finding_with_everything_entered_kept(
    client, in_review, auditor
):
    findings = findings_of(in_review)
    svc.finding_decide(actor=auditor, submission=in_review, finding=findings[0], decision="escalate")
    client.force_login(auditor)
    response = client.post(
        DECIDE, {"findings": [f.pk for f in findings], "decision": "accept_risk", "justification": JUSTIFICATION}
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert f"Finding #{findings[0].pk} ({findings[0].check_id}" in html and 'data-testid="bulk-decide-error"' in html
    assert JUSTIFICATION.replace("'", "&#x27;") in html and '<option value="accept_risk" selected>' in html
    assert all(f'value="{f.pk}" form="finding-bulk-decide"' in html for f in findings)
    assert html.count(" checked>") >= len(findings) - 1
    assert FindingDecision.objects.count() == 1


@pytest.mark.parametrize(
    "data,words",
    [
        ({"decision": "require_mitigation"}, "Tick at least one finding"),
        ({"decision": "require_mitigation", "findings": ["seven"]}, "must be finding numbers"),
        ({"decision": "accept_risk", "justification": "short", "findings": "ALL"}, "at least 10 characters"),
        ({"decision": "", "findings": "ALL"}, "This field is required"),
    ],
)
def test_bad_input_on_the_list_answers_400_with_a_sentence(client, in_review, auditor, data, words):
    if data.get("findings") == "ALL":
        data = {**data, "findings": [f.pk for f in findings_of(in_review)]}
    client.force_login(auditor)
    response = client.post(DECIDE, data)
    assert response.status_code == 400 and words in response.content.decode()
    assert 'data-testid="finding-table"' in response.content.decode()
    assert not FindingDecision.objects.exists()


def test_deciding_from_the_list_is_for_reviewers_only(permission_matrix, in_review):
    ids = [f.pk for f in findings_of(in_review)]
    body = {"findings": ids, "decision": "require_mitigation"}
    assert permission_matrix(rolled_back(lambda c: c.post(DECIDE, body))) == {
        "anonymous": 302,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_a_reviewer_of_another_organisation_gets_404_and_decides_nothing(client, in_review, other_organisation):
    stranger = make_user(other_organisation, "otto", "auditor")
    client.force_login(stranger)
    ids = [f.pk for f in findings_of(in_review)]
    assert client.post(DECIDE, {"findings": ids, "decision": "require_mitigation"}).status_code == 404
    assert (
        api_for(stranger).post(API, {"findings": ids, "decision": "require_mitigation"}, format="json").status_code
        == 404
    )
    assert not FindingDecision.objects.exists()


# --- the API --------------------------------------------------------------------------------------


def test_the_api_decides_several_findings_and_answers_each_decision(in_review, auditor):
    findings = findings_of(in_review)
    response = api_for(auditor).post(
        API,
        {"findings": [f.pk for f in findings], "decision": "accept_risk", "justification": JUSTIFICATION},
        format="json",
    )
    assert response.status_code == 200
    assert sorted(d["decision"] for d in response.json()["decided"]) == ["accept_risk"] * len(findings)
    assert FindingDecision.objects.count() == len(findings)


def test_the_api_names_the_finding_that_cannot_be_decided_and_decides_none(in_review, auditor):
    findings = findings_of(in_review)
    svc.finding_decide(actor=auditor, submission=in_review, finding=findings[0], decision="escalate")
    response = api_for(auditor).post(
        API, {"findings": [f.pk for f in findings], "decision": "require_mitigation"}, format="json"
    )
    body = response.json()
    assert response.status_code == 409 and body["code"] == "escalated"
    assert body["extra"]["finding"] == findings[0].pk and findings[0].check_id in body["message"]
    assert FindingDecision.objects.count() == 1


@pytest.mark.parametrize(
    "body,status",
    [
        ({"findings": [], "decision": "require_mitigation"}, 400),
        ({"findings": ["x"], "decision": "require_mitigation"}, 400),
        ({"findings": [1], "decision": "approve"}, 400),
        ({"decision": "require_mitigation"}, 400),
        ({"findings": list(range(1, 202)), "decision": "require_mitigation"}, 400),
        ({"findings": [999_999], "decision": "require_mitigation"}, 404),
    ],
)
def test_bad_input_to_the_api_is_a_4xx_that_says_what_is_wrong(in_review, auditor, body, status):
    response = api_for(auditor).post(API, body, format="json")
    assert response.status_code == status and response.json()["message"]
    assert not FindingDecision.objects.exists()


def test_the_api_is_for_reviewers_only(permission_matrix, in_review):
    body = {"findings": [f.pk for f in findings_of(in_review)], "decision": "require_mitigation"}
    assert permission_matrix(rolled_back(lambda c: c.post(API, body, format="json")), api=True) == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }
