"""The classification and obligations API as a CI pipeline or a script uses it."""

import pytest
from rest_framework.test import APIClient

from core.models import ApiToken
from tests.governance.conftest import CREDIT_SCORING

pytestmark = pytest.mark.django_db

API = "/api/v1"


def client_for(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_the_questionnaire_is_served_as_data_with_sections_options_and_conditions(ml_engineer):
    body = client_for(ml_engineer).get(f"{API}/classification/questionnaire/").json()
    assert body["sections"][0]["id"] == "scope"
    first = body["questions"][0]
    assert first["id"] == "is_ai_system" and [o["value"] for o in first["options"]] == ["yes", "no", "unsure"]
    assert any(q["visible_if"] for q in body["questions"]) and body["condition_language"]


def test_a_pipeline_saves_a_draft_submits_it_and_reads_the_determination(credit_system, ml_engineer):
    client = client_for(ml_engineer)
    base = f"{API}/classification/systems/{credit_system.pk}"
    assert client.put(f"{base}/draft/", {"answers": CREDIT_SCORING}, format="json").status_code == 200
    assert client.get(f"{base}/draft/").json()["answers"] == CREDIT_SCORING
    created = client.post(f"{base}/submit/", {}, format="json").json()
    assert created["status"] == "submitted" and created["headline"].startswith("High-risk via Annex III point 5(b)")
    assert created["result"]["annex_iii_points"] == ["5(b)"]
    listed = client.get(f"{base}/determinations/").json()
    assert [d["number"] for d in listed["results"]] == [1]
    current = client.get(f"{base}/current/")
    assert current.status_code == 404 and current.json()["code"] == "not_classified"


def test_invalid_answers_are_refused_with_the_standard_error_shape(credit_system, ml_engineer):
    response = client_for(ml_engineer).put(
        f"{API}/classification/systems/{credit_system.pk}/draft/",
        {"answers": {"is_ai_system": "perhaps"}},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "code", "extra"} and body["code"] == "invalid_answers"
    assert body["extra"]["invalid_answers"][0]["question_id"] == "is_ai_system"


def test_answers_that_are_not_an_object_are_refused(credit_system, ml_engineer):
    response = client_for(ml_engineer).post(
        f"{API}/classification/systems/{credit_system.pk}/submit/", {"answers": ["yes"]}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_approving_an_incomplete_determination_answers_400_with_what_is_missing(
    credit_system, ml_engineer, compliance_officer
):
    from governance.services import determination_submit

    determination = determination_submit(system=credit_system, actor=ml_engineer, answers={"is_ai_system": "yes"})
    response = client_for(compliance_officer).post(
        f"{API}/classification/determinations/{determination.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "incomplete" and response.json()["extra"]["missing"]


def test_approving_twice_answers_409(approved, compliance_officer):
    response = client_for(compliance_officer).post(
        f"{API}/classification/determinations/{approved.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "not_pending"


def test_an_override_without_justification_answers_400(submitted, compliance_officer):
    response = client_for(compliance_officer).post(
        f"{API}/classification/determinations/{submitted.pk}/override/",
        {"outcome": "minimal_risk", "justification": ""},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "justification_required"


def test_approval_through_the_api_makes_the_determination_current(submitted, compliance_officer):
    client = client_for(compliance_officer)
    approved = client.post(
        f"{API}/classification/determinations/{submitted.pk}/approve/", {"note": "ok"}, format="json"
    ).json()
    assert approved["status"] == "approved" and approved["approved_by"]["username"] == "chloe"
    current = client.get(f"{API}/classification/systems/{submitted.system_id}/current/").json()
    assert current["id"] == submitted.pk and current["effective_risk_tier"] == "high"


def test_obligations_are_listed_and_filtered_like_the_board(approved, auditor, outsider):
    client = client_for(auditor)
    everything = client.get(f"{API}/obligations/").json()
    assert everything["count"] == 19
    article = client.get(f"{API}/obligations/", {"article": "Art. 15"}).json()
    assert [o["title"] for o in article["results"]] == ["Accuracy, robustness and cybersecurity"]
    by_system = client.get(f"{API}/obligations/", {"system": approved.system_id, "status": "not_started"}).json()
    assert by_system["count"] == 19
    assert client_for(outsider).get(f"{API}/obligations/").json()["count"] == 0


def test_the_openapi_schema_documents_the_governance_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (
        "/api/v1/classification/questionnaire/",
        "/api/v1/classification/systems/{id}/submit/",
        "/api/v1/classification/determinations/{id}/approve/",
        "/api/v1/obligations/",
    ):
        assert path in schema["paths"], path
