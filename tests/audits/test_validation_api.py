"""The validation API, as CI uses it: start a run, poll it, read its findings, cancel it."""

import pytest
from rest_framework.test import APIClient

from audits.models import ValidationRun
from audits.validation.services import validation_start
from tests.audits.validation_support import credit, finished_run  # noqa: F401

pytestmark = pytest.mark.django_db
READERS = {"anonymous": 401, "ml_engineer": 200, "auditor": 200, "compliance_officer": 200, "org_admin": 200}


def api_for(user) -> APIClient:
    from core.models import ApiToken

    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="ci")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


@pytest.mark.parametrize("url", ["/api/v1/validations/", "/api/v1/findings/"])
def test_the_lists_are_readable_by_every_member(permission_matrix, url):
    assert permission_matrix(lambda c: c.get(url), api=True) == {**READERS, "outsider": 200}


def test_a_run_is_404_for_another_organisation(permission_matrix, finished_run):
    result = permission_matrix(lambda c: c.get(f"/api/v1/validations/{finished_run.pk}/"), api=True)
    assert result == {**READERS, "outsider": 404}


def test_starting_runs_is_for_ml_engineers_and_auditors(permission_matrix, credit, django_capture_on_commit_callbacks):
    body = {"model_version": credit.version.pk, "test_dataset": credit.test.pk, "suite": "quick"}
    with django_capture_on_commit_callbacks(execute=False):
        result = permission_matrix(lambda c: c.post("/api/v1/validations/", body, format="json"), api=True)
    assert result == {
        "anonymous": 401,
        "ml_engineer": 202,
        "auditor": 202,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_cancelling_is_for_ml_engineers_and_auditors(permission_matrix, ml_engineer, credit):
    def cancel(client):
        run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
        return client.post(f"/api/v1/validations/{run.pk}/cancel/", {"reason": "ci re-run"}, format="json")

    assert permission_matrix(cancel, api=True) == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_ci_starts_a_run_and_gets_its_url_and_status(ml_engineer, credit):
    response = api_for(ml_engineer).post(
        "/api/v1/validations/",
        {
            "model_version": credit.version.pk,
            "test_dataset": credit.test.pk,
            "train_dataset": credit.train.pk,
            "policy_overrides": {"performance": {"min_auc": 0.6}},
            "seed": 3,
        },
        format="json",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["status"], body["suite"], body["seed"]) == ("queued", "standard", 3)
    assert body["policy"]["performance"]["min_auc"] == 0.6
    assert body["url"] == f"/validations/{body['id']}/"
    assert body["summary"] == {
        "finished": False,
        "checks": {},
        "findings": {},
        "critical_findings": 0,
        "superseded_findings": 0,
    }


def test_a_finished_run_tells_ci_whether_there_are_critical_findings(ml_engineer, finished_run):
    client = api_for(ml_engineer)
    body = client.get(f"/api/v1/validations/{finished_run.pk}/").json()
    assert body["status"] == "succeeded" and body["summary"]["finished"] is True
    assert body["summary"]["critical_findings"] == 1
    assert body["summary"]["checks"] == {"fail": 1, "pass": 1, "warn": 1, "not_evaluable": 1}
    assert [f["check_id"] for f in body["findings"]] == ["FAIR-02", "PERF-01"]
    assert body["progress"]["percent"] == 100
    assert "charts" not in body["results"][0]
    with_charts = client.get(f"/api/v1/validations/{finished_run.pk}/?charts=1").json()
    assert with_charts["results"][0]["charts"]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"test_dataset": None}, "invalid", "test_dataset"),
        ({"suite": "everything"}, "invalid", "suite"),
        ({"policy_overrides": {"nope.key": 1}}, "invalid_policy", "Unknown policy key 'nope.key'"),
        ({"policy_overrides": "min_auc=1"}, "invalid", "policy_overrides"),
        ({"model_version": 999999}, "invalid", "model_version"),
        ({"seed": -1}, "invalid", "seed"),
    ],
)
def test_bad_input_gets_a_clear_error_in_the_portals_shape(ml_engineer, credit, body, code, message):
    request = {"model_version": credit.version.pk, "test_dataset": credit.test.pk, **body}
    response = api_for(ml_engineer).post("/api/v1/validations/", request, format="json")
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"message", "code", "extra"} and error["code"] == code and message in error["message"]
    assert not ValidationRun.objects.exists()


def test_a_model_version_of_another_organisation_reads_as_nonexistent(credit, outsider):
    from core.choices import Role
    from tests.conftest import make_user

    stranger = make_user(outsider.organisation, "sven", Role.ML_ENGINEER)
    response = api_for(stranger).post(
        "/api/v1/validations/", {"model_version": credit.version.pk, "test_dataset": credit.test.pk}, format="json"
    )
    assert response.status_code == 400 and "does not exist" in response.json()["message"]


def test_cancelling_a_finished_run_is_a_conflict(ml_engineer, finished_run):
    response = api_for(ml_engineer).post(f"/api/v1/validations/{finished_run.pk}/cancel/", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "run_finished"


def test_runs_and_findings_can_be_filtered(ml_engineer, finished_run, credit):
    client = api_for(ml_engineer)
    runs = client.get("/api/v1/validations/", {"status": "succeeded", "system": credit.system.pk}).json()
    assert [r["id"] for r in runs["results"]] == [finished_run.pk]
    assert client.get("/api/v1/validations/", {"status": "queued"}).json()["results"] == []
    findings = client.get("/api/v1/findings/", {"severity": "critical", "run": finished_run.pk}).json()
    assert [f["check_id"] for f in findings["results"]] == ["PERF-01"]
    assert findings["results"][0]["eu_ai_act_article"] == "Art. 15(1)"
    assert client.get("/api/v1/findings/", {"severity": "dreadful"}).status_code == 400


def test_the_openapi_schema_documents_the_validation_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (
        "/api/v1/validations/",
        "/api/v1/validations/{id}/",
        "/api/v1/validations/{id}/cancel/",
        "/api/v1/findings/",
    ):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/validations/"]
