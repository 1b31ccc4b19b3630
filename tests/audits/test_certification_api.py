"""The certification API, as teams that automate use it: submit from CI, poll the status, review
and sign off, download and verify the certificate. Every endpoint's permission matrix, the error
shape, and the OpenAPI schema."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from audits.certification import certificates as certs
from audits.certification import services as svc
from audits.certification.models import Certificate, Submission
from tests.audits.certification_support import *  # noqa: F403
from tests.audits.certification_support import PASSWORD, RESULTS, decide_all
from tests.audits.validation_support import finish_with_results
from tests.conftest import ROOT, make_user

pytestmark = pytest.mark.django_db
API = "/api/v1"
MEMBERS_READ = {"anonymous": 401, "ml_engineer": 200, "auditor": 200, "compliance_officer": 200, "org_admin": 200}
JUSTIFICATION = "Within the bank's documented appetite for this model."


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()  # the public endpoints' throttle counts in the cache
    yield
    cache.clear()


def api_for(user) -> APIClient:
    from core.models import ApiToken

    client = APIClient()
    if user is not None:
        _, secret = ApiToken.objects.create(user=user, name="ci")
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def rolled_back(request):
    """Each persona's attempt starts from the same state: whatever one persona's request changed
    is rolled back before the next persona tries."""

    def call(client):
        with transaction.atomic():
            response = request(client)
            transaction.set_rollback(True)
        return response

    return call


def post(url, body=None):
    return rolled_back(lambda client: client.post(url, body or {}, format="json"))


def get(url):
    return lambda client: client.get(url)


def expect(**overrides) -> dict:
    """Everyone refused (401 anonymous, 403 members) unless named."""
    base = {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }
    return {**base, **overrides}


@pytest.fixture
def decided(in_review, auditor):
    decide_all(in_review, auditor)
    return in_review


@pytest.fixture
def certificate(high_risk_approved) -> Certificate:
    return high_risk_approved.certificate


@pytest.fixture
def with_condition(decided, auditor, compliance_officer, ml_engineer):
    svc.submission_sign(
        actor=auditor,
        submission=decided,
        decision="approve_with_conditions",
        password=PASSWORD,
        reason="Fine once monitoring is in place.",
        valid_until=timezone.localdate() + timedelta(days=200),
        conditions=[
            {"text": "Drift monitoring", "owner": ml_engineer.pk, "due_date": timezone.localdate() + timedelta(days=30)}
        ],
    )
    svc.submission_sign(
        actor=compliance_officer,
        submission=decided,
        decision="approve",
        password=PASSWORD,
        reason="Obligations are covered.",
    )
    return decided.conditions.get()


# --- the permission matrix, endpoint by endpoint ---------------------------------------------------


def test_the_submission_list_is_readable_by_every_member_and_empty_for_another_organisation(
    permission_matrix, submission, outsider
):
    assert permission_matrix(get(f"{API}/submissions/"), api=True) == {**MEMBERS_READ, "outsider": 200}
    assert api_for(outsider).get(f"{API}/submissions/").json()["count"] == 0


def test_the_submission_list_filters_by_status_and_refuses_an_unknown_status(submission, compliance_officer):
    client = api_for(compliance_officer)
    assert client.get(f"{API}/submissions/", {"status": "submitted"}).json()["count"] == 1
    assert client.get(f"{API}/submissions/", {"status": "approved"}).json()["count"] == 0
    assert client.get(f"{API}/submissions/", {"system": submission.system_id}).json()["count"] == 1
    assert client.get(f"{API}/submissions/", {"status": "sort-of"}).status_code == 400


@pytest.mark.parametrize("suffix", ["", "status/"])
def test_a_submission_and_its_status_are_404_for_another_organisation(permission_matrix, submission, suffix):
    result = permission_matrix(get(f"{API}/submissions/{submission.pk}/{suffix}"), api=True)
    assert result == {**MEMBERS_READ, "outsider": 404}


def test_only_ml_engineers_create_submissions(permission_matrix, certifiable):
    result = permission_matrix(post(f"{API}/submissions/", {"model_version": certifiable.version.pk}), api=True)
    assert result == expect(ml_engineer=201)


def test_admins_and_compliance_officers_assign_reviewers(permission_matrix, submission, auditor):
    result = permission_matrix(post(f"{API}/submissions/{submission.pk}/assign/", {"reviewer": auditor.pk}), api=True)
    assert result == expect(compliance_officer=201, org_admin=201, outsider=404)


def test_assigned_reviewers_decide_findings(permission_matrix, in_review):
    finding = in_review.validation_run.findings.get(check_id="PERF-01")
    url = f"{API}/submissions/{in_review.pk}/findings/{finding.pk}/decision/"
    result = permission_matrix(post(url, {"decision": "accept_risk", "justification": JUSTIFICATION}), api=True)
    assert result == expect(auditor=200, compliance_officer=200)


def test_the_ml_team_and_assigned_reviewers_comment_on_findings(permission_matrix, in_review):
    finding = in_review.validation_run.findings.get(check_id="FAIR-02")
    url = f"{API}/submissions/{in_review.pk}/findings/{finding.pk}/comments/"
    result = permission_matrix(post(url, {"body": "Which groups drive the gap?"}), api=True)
    assert result == expect(ml_engineer=201, auditor=201, compliance_officer=201)


def test_assigned_reviewers_request_changes(permission_matrix, in_review):
    url = f"{API}/submissions/{in_review.pk}/request-changes/"
    result = permission_matrix(post(url, {"reason": "Fix PERF-01 before approval."}), api=True)
    assert result == expect(auditor=200, compliance_officer=200)


def test_ml_engineers_resubmit_after_changes_were_requested(permission_matrix, in_review, auditor):
    svc.submission_request_changes(actor=auditor, submission=in_review, reason="Fix PERF-01 before approval.")
    result = permission_matrix(post(f"{API}/submissions/{in_review.pk}/resubmit/"), api=True)
    assert result == expect(ml_engineer=200)


def test_assigned_reviewers_sign_off(permission_matrix, decided):
    body = {"decision": "approve", "reason": "All checks reviewed; risks accepted.", "password": PASSWORD}
    result = permission_matrix(post(f"{API}/submissions/{decided.pk}/sign/", body), api=True)
    assert result == expect(auditor=201, compliance_officer=201)


def test_reviewers_put_a_dissent_on_record(permission_matrix, in_review):
    body = {"opinion": "I disagree: the bias is within the four-fifths band."}
    result = permission_matrix(post(f"{API}/submissions/{in_review.pk}/dissent/", body), api=True)
    assert result == expect(auditor=201, compliance_officer=201)


def test_only_an_assigned_auditor_starts_a_rerun(permission_matrix, in_review):
    # A compliance officer reviews but does not run validations (no validation.start).
    result = permission_matrix(post(f"{API}/submissions/{in_review.pk}/rerun/"), api=True)
    assert result == expect(auditor=201)


def test_the_rerun_diff_is_readable_by_members_only(permission_matrix, in_review, auditor):
    rerun = svc.submission_rerun(actor=auditor, submission=in_review)
    result = permission_matrix(get(f"{API}/submissions/{in_review.pk}/reruns/{rerun.run_id}/diff/"), api=True)
    assert result == {**MEMBERS_READ, "outsider": 404}


def test_the_certificate_document_is_downloadable_by_members_only(permission_matrix, certificate):
    result = permission_matrix(get(f"{API}/certificates/{certificate.pk}/document/"), api=True)
    assert result == {**MEMBERS_READ, "outsider": 404}


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_certificate_managers_suspend_and_revoke(permission_matrix, certificate, action):
    url = f"{API}/certificates/{certificate.pk}/{action}/"
    result = permission_matrix(post(url, {"reason": "The model was withdrawn from use."}), api=True)
    assert result == expect(compliance_officer=200, org_admin=200, outsider=404)


def test_certificate_managers_reinstate(permission_matrix, certificate, compliance_officer):
    certs.certificate_suspend(actor=compliance_officer, certificate=certificate, reason="Checking the new version.")
    url = f"{API}/certificates/{certificate.pk}/reinstate/"
    result = permission_matrix(post(url, {"reason": "The certified version stays in use."}), api=True)
    assert result == expect(compliance_officer=200, org_admin=200, outsider=404)


def test_a_condition_is_marked_met_by_its_owner_or_a_certificate_manager(permission_matrix, with_condition):
    url = f"{API}/conditions/{with_condition.pk}/met/"
    result = permission_matrix(post(url, {"note": "Dashboards live since Monday."}), api=True)
    assert result == expect(ml_engineer=200, compliance_officer=200, org_admin=200, outsider=404)


def test_the_public_endpoints_answer_everyone_with_or_without_a_token(permission_matrix, certificate):
    everyone = dict.fromkeys(
        ["anonymous", "ml_engineer", "auditor", "compliance_officer", "org_admin", "outsider"], 200
    )
    assert permission_matrix(get(f"{API}/certificates/{certificate.pk}/status/"), api=True) == everyone
    verify = post(f"{API}/certificates/verify/", certificate.document)
    assert permission_matrix(verify, api=True) == everyone


def test_a_reviewer_of_another_organisation_finds_nothing_to_act_on(in_review, certificate, other_organisation):
    stranger = api_for(make_user(other_organisation, "otto", "compliance_officer"))
    finding = in_review.validation_run.findings.first()
    assert (
        stranger.post(
            f"{API}/submissions/{in_review.pk}/findings/{finding.pk}/decision/", {"decision": "escalate"}, format="json"
        ).status_code
        == 404
    )
    assert (
        stranger.post(
            f"{API}/submissions/{in_review.pk}/sign/",
            {"decision": "reject", "reason": "Not good enough at all.", "password": PASSWORD},
            format="json",
        ).status_code
        == 404
    )
    assert (
        stranger.post(
            f"{API}/certificates/{certificate.pk}/revoke/", {"reason": "Sabotage attempt here."}, format="json"
        ).status_code
        == 404
    )
    assert stranger.get(f"{API}/certificates/{certificate.pk}/document/").status_code == 404


# --- the whole flow, as CI runs it --------------------------------------------------------------


def test_ci_submits_reviewers_sign_twice_and_the_downloaded_certificate_verifies_publicly(
    certifiable, ml_engineer, org_admin, auditor, compliance_officer
):
    ci, admin, arne, chloe = (api_for(u) for u in (ml_engineer, org_admin, auditor, compliance_officer))
    created = ci.post(
        f"{API}/submissions/", {"model_version": certifiable.version.pk, "note": "Release 1.4"}, format="json"
    )
    assert created.status_code == 201, created.json()
    submission = created.json()
    assert submission["status"] == "submitted"
    assert submission["hashes"]["model_sha256"] == certifiable.version.artifact.sha256
    status_url = f"{API}/submissions/{submission['id']}/status/"
    assert ci.get(status_url).json()["certificate"] is None

    for reviewer in (auditor, compliance_officer):
        assigned = admin.post(f"{API}/submissions/{submission['id']}/assign/", {"reviewer": reviewer.pk}, format="json")
        assert assigned.status_code == 201, assigned.json()
    detail = arne.get(f"{API}/submissions/{submission['id']}/").json()
    assert detail["status"] == "in_review" and len(detail["reviewers"]) == 2
    assert detail["undecided_critical"] == ["PERF-01"]
    for finding in detail["findings"]:
        decided = arne.post(
            f"{API}/submissions/{submission['id']}/findings/{finding['id']}/decision/",
            {"decision": "accept_risk", "justification": JUSTIFICATION},
            format="json",
        )
        assert decided.status_code == 200, decided.json()

    sign_url = f"{API}/submissions/{submission['id']}/sign/"
    first = arne.post(
        sign_url,
        {"decision": "approve", "reason": "All checks reviewed; risks accepted.", "password": PASSWORD},
        format="json",
    )
    assert first.status_code == 201, first.json()
    assert first.json()["submission"]["approvals_needed"] == ["compliance_officer"]
    second = chloe.post(
        sign_url,
        {"decision": "approve", "reason": "Classification and obligations in order.", "password": PASSWORD},
        format="json",
    )
    assert second.status_code == 201, second.json()
    certificate = second.json()["submission"]["certificate"]
    assert second.json()["submission"]["status"] == "approved" and certificate["status"] == "valid"

    download = ci.get(certificate["document_url"])
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    public = APIClient()
    verified = public.generic("POST", f"{API}/certificates/verify/", download.content, content_type="application/json")
    assert verified.json()["status"] == "valid", verified.json()
    assert verified.json()["signature_valid"] and verified.json()["issued_by_this_portal"]
    assert public.get(f"{API}/certificates/{certificate['id']}/status/").json()["status"] == "valid"
    assert ci.get(status_url).json()["certificate"]["effective_status"] == "valid"


def test_approval_with_conditions_through_the_api_and_the_owner_marks_the_condition_met(
    decided, auditor, compliance_officer, ml_engineer
):
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    until = (timezone.localdate() + timedelta(days=180)).isoformat()
    first = api_for(auditor).post(
        f"{API}/submissions/{decided.pk}/sign/",
        {
            "decision": "approve_with_conditions",
            "reason": "Fine once monitoring is in place.",
            "password": PASSWORD,
            "valid_until": until,
            "conditions": [{"text": "Set up drift monitoring", "owner": ml_engineer.pk, "due_date": due}],
        },
        format="json",
    )
    assert first.status_code == 201, first.json()
    api_for(compliance_officer).post(
        f"{API}/submissions/{decided.pk}/sign/",
        {"decision": "approve", "reason": "Obligations are covered.", "password": PASSWORD},
        format="json",
    )
    detail = api_for(ml_engineer).get(f"{API}/submissions/{decided.pk}/").json()
    assert detail["status"] == "approved_with_conditions"
    assert detail["certificate"]["valid_until"] == until
    condition = detail["conditions"][0]
    met = api_for(ml_engineer).post(
        f"{API}/conditions/{condition['id']}/met/", {"note": "Dashboards live since Monday."}, format="json"
    )
    assert met.status_code == 200 and met.json()["status"] == "met"


def test_a_rerun_returns_its_run_id_and_the_diff_is_identical_when_nothing_changed(in_review, auditor):
    client = api_for(auditor)
    started = client.post(f"{API}/submissions/{in_review.pk}/rerun/", format="json")
    assert started.status_code == 201, started.json()
    run_id = started.json()["run"]
    diff_url = started.json()["diff_url"]
    waiting = client.get(diff_url).json()
    assert (waiting["run"], waiting["finished"], waiting["identical"]) == (run_id, False, None)
    from audits.models import ValidationRun

    finish_with_results(ValidationRun.objects.get(pk=run_id), RESULTS)
    done = client.get(diff_url).json()
    assert (done["finished"], done["identical"]) == (True, True)
    assert done["diff"]["changed_count"] == 0


def test_certificate_managers_suspend_reinstate_and_revoke_through_the_api(certificate, compliance_officer):
    client = api_for(compliance_officer)
    url = f"{API}/certificates/{certificate.pk}"
    assert (
        client.post(f"{url}/suspend/", {"reason": "Checking the new version."}, format="json").json()["status"]
        == "suspended"
    )
    assert (
        client.post(f"{url}/reinstate/", {"reason": "The certified one stays in use."}, format="json").json()["status"]
        == "valid"
    )
    revoked = client.post(f"{url}/revoke/", {"reason": "The model was withdrawn."}, format="json")
    assert revoked.json()["status"] == "revoked"
    again = client.post(f"{url}/reinstate/", {"reason": "Bring it back to life."}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


# --- errors: {"message", "code", "extra"} -------------------------------------------------------


def assert_error(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"message", "code", "extra"} and body["code"] == code and body["message"]
    return body


def test_sign_off_needs_the_password_and_a_reason_and_says_so(decided, auditor):
    client = api_for(auditor)
    url = f"{API}/submissions/{decided.pk}/sign/"
    assert_error(
        client.post(url, {"decision": "approve", "reason": "Reviewed every finding."}, format="json"), 400, "invalid"
    )
    assert_error(
        client.post(
            url, {"decision": "approve", "reason": "Reviewed every finding.", "password": "guess"}, format="json"
        ),
        403,
        "reauth_failed",
    )
    assert_error(
        client.post(url, {"decision": "approve", "reason": "ok", "password": PASSWORD}, format="json"),
        400,
        "reason_required",
    )
    assert not decided.signoffs.exists()


def test_sign_off_is_refused_while_a_critical_finding_is_undecided(in_review, auditor):
    body = assert_error(
        api_for(auditor).post(
            f"{API}/submissions/{in_review.pk}/sign/",
            {"decision": "approve", "reason": "Looks fine to me overall.", "password": PASSWORD},
            format="json",
        ),
        409,
        "critical_undecided",
    )
    assert body["extra"]["findings"] == ["PERF-01"]


def test_a_stale_expected_version_is_a_409(decided, auditor):
    assert_error(
        api_for(auditor).post(
            f"{API}/submissions/{decided.pk}/sign/",
            {
                "decision": "approve",
                "reason": "Reviewed every finding.",
                "password": PASSWORD,
                "expected_version": decided.lock_version - 1,
            },
            format="json",
        ),
        409,
        "stale",
    )


def test_assigning_the_submitter_breaks_separation_of_duties(submission, org_admin, ml_engineer):
    assert_error(
        api_for(org_admin).post(
            f"{API}/submissions/{submission.pk}/assign/", {"reviewer": ml_engineer.pk}, format="json"
        ),
        403,
        "separation_of_duties",
    )


def test_a_version_that_cannot_be_submitted_lists_every_blocker(submission, certifiable, ml_engineer):
    body = assert_error(
        api_for(ml_engineer).post(f"{API}/submissions/", {"model_version": certifiable.version.pk}, format="json"),
        400,
        "not_submittable",
    )
    assert "already has a submission" in " ".join(body["extra"]["blockers"])
    assert Submission.objects.count() == 1


def test_another_organisations_model_version_cannot_be_submitted(certifiable, other_organisation):
    stranger = api_for(make_user(other_organisation, "oscar", "ml_engineer"))
    assert_error(
        stranger.post(f"{API}/submissions/", {"model_version": certifiable.version.pk}, format="json"), 400, "invalid"
    )


def test_a_finding_of_another_run_is_404_and_a_bad_decision_is_400(in_review, auditor):
    from audits.validation.services import validation_start

    client = api_for(auditor)
    finding = in_review.validation_run.findings.get(check_id="PERF-01")
    bad = client.post(
        f"{API}/submissions/{in_review.pk}/findings/{finding.pk}/decision/", {"decision": "shrug"}, format="json"
    )
    assert_error(bad, 400, "invalid")
    original = in_review.validation_run
    other_run = validation_start(
        actor=auditor, model_version=original.model_version, test_dataset=original.test_dataset, suite="quick"
    )  # same version, own findings
    elsewhere = finish_with_results(other_run, RESULTS).findings.get(check_id="PERF-01")
    assert_error(
        client.post(
            f"{API}/submissions/{in_review.pk}/findings/{elsewhere.pk}/decision/",
            {"decision": "escalate"},
            format="json",
        ),
        404,
        "not_found",
    )
    assert not in_review.decisions.exists()


# --- the schema ------------------------------------------------------------------------------------


def test_the_openapi_schema_documents_the_certification_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (
        "/api/v1/submissions/",
        "/api/v1/submissions/{id}/status/",
        "/api/v1/submissions/{id}/sign/",
        "/api/v1/certificates/verify/",
        "/api/v1/certificates/{id}/status/",
        "/api/v1/certificates/{id}/document/",
        "/api/v1/conditions/{id}/met/",
    ):
        assert path in schema["paths"], path
    assert "password" in schema["components"]["schemas"]["SubmissionSignRequest"]["required"]


def test_the_schema_builds_without_a_single_warning(tmp_path):
    out = tmp_path / "schema.yml"
    run = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--fail-on-warn", "--validate", "--file", str(out)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "/api/v1/submissions/{id}/sign/" in out.read_text()
