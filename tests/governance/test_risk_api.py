"""The register's API, as a GRC tool uses it to sync risks and controls."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.governance.conftest import events
from tests.governance.test_risk_support import control, credit_risk, make_risk  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(compliance_officer):
    client = APIClient()
    client.force_authenticate(compliance_officer)
    return client


def test_a_grc_tool_records_a_risk_with_controls(api, credit_system, control, ml_engineer):
    response = api.post(
        "/api/v1/risks/",
        {
            "title": "Prompt injection through uploaded payslips",
            "category": "security",
            "source": "assessment",
            "systems": [credit_system.pk],
            "owner": "mia",
            "likelihood": 3,
            "impact": 4,
            "residual_likelihood": 2,
            "residual_impact": 3,
            "controls": [control.pk],
            "due_date": "2030-06-30",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["reference"], body["inherent_score"], body["residual_score"], body["current_score"]) == (
        "R-1",
        12,
        6,
        6,
    )
    assert body["owner"]["username"] == "mia" and body["controls"] == [control.pk]
    assert body["system_names"] == ["Consumer credit scoring"] and body["above_appetite"] is False
    assert events("risk.created").count() == 1


def test_bad_scores_come_back_as_a_clear_error(api, credit_system):
    response = api.post(
        "/api/v1/risks/",
        {"title": "x", "category": "bias", "systems": [credit_system.pk], "likelihood": 9, "impact": 2},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "score_out_of_range" and "from 1 to 5 (got 9)" in body["message"]
    assert body["extra"]["problems"][0]["field"] == "likelihood"


def test_another_organisations_system_is_not_accepted(api, other_system):
    response = api.post(
        "/api/v1/risks/",
        {"title": "x", "category": "bias", "systems": [other_system.pk], "likelihood": 2, "impact": 2},
        format="json",
    )
    assert response.status_code == 400 and "systems" in response.json()["message"]


def test_patch_changes_fields_and_keeps_history(api, credit_risk):
    response = api.patch(
        f"/api/v1/risks/{credit_risk.pk}/",
        {"residual_likelihood": 1, "residual_impact": 2, "reason": "Synced from GRC"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["residual_score"] == 2
    assert credit_risk.revisions.order_by("-number").first().reason == "Synced from GRC"
    assert events("risk.updated").get().reason == "Synced from GRC"


def test_patch_refuses_an_illegal_move_with_409(api, credit_risk):
    api.patch(f"/api/v1/risks/{credit_risk.pk}/", {"status": "closed"}, format="json")
    response = api.patch(
        f"/api/v1/risks/{credit_risk.pk}/", {"status": "accepted", "acceptance_justification": "x" * 30}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "illegal_transition"


def test_acceptance_without_justification_is_refused(api, credit_risk):
    response = api.patch(f"/api/v1/risks/{credit_risk.pk}/", {"status": "accepted"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "acceptance_needs_justification"


def test_the_list_filters_like_the_register(api, compliance_officer, credit_system):
    make_risk(compliance_officer, [credit_system], title="High", likelihood=4, impact=5)
    make_risk(compliance_officer, [credit_system], title="Low", likelihood=1, impact=2, category="privacy")
    assert [r["title"] for r in api.get("/api/v1/risks/?above_appetite=true").json()["results"]] == ["High"]
    assert [r["title"] for r in api.get("/api/v1/risks/?category=privacy").json()["results"]] == ["Low"]
    assert [r["title"] for r in api.get("/api/v1/risks/?band=critical").json()["results"]] == ["High"]
    assert api.get("/api/v1/risks/?band=nonsense").status_code == 400


def test_a_finding_finds_its_risks_by_source(api, auditor, credit_system):
    from governance.risks.services import risk_create_from_source

    risk = risk_create_from_source(
        actor=auditor,
        system=credit_system,
        title="t",
        description="",
        category="bias",
        source_ref={"type": "audits.finding", "id": 5},
    )
    response = api.get("/api/v1/risks/?source_type=audits.finding&source_id=5").json()
    assert [r["id"] for r in response["results"]] == [risk.pk]


def test_controls_are_listed_created_and_changed(api, control):
    assert api.get("/api/v1/controls/").json()["results"][0]["name"] == "Quarterly fairness review"
    created = api.post(
        "/api/v1/controls/",
        {"name": "Input length limit", "control_type": "preventive", "owner": "chloe"},
        format="json",
    )
    assert created.status_code == 201 and created.json()["effectiveness"] == "not_assessed"
    changed = api.patch(f"/api/v1/controls/{control.pk}/", {"effectiveness": "ineffective"}, format="json")
    assert changed.status_code == 200 and changed.json()["effectiveness"] == "ineffective"
    assert events("control.updated").count() == 1
    bad = api.post("/api/v1/controls/", {"name": "X", "control_type": "magic", "owner": "chloe"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_the_schema_documents_the_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()
    assert {"/api/v1/risks/", "/api/v1/risks/{id}/", "/api/v1/controls/", "/api/v1/controls/{id}/"} <= set(
        schema["paths"]
    )
    assert "patch" in schema["paths"]["/api/v1/risks/{id}/"] and "post" in schema["paths"]["/api/v1/risks/"]
