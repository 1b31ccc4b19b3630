"""The permission matrix of the register's pages and API: only compliance officers accept risks
above the appetite; another organisation sees nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.governance.test_risk_support import control, credit_risk  # noqa: F401

pytestmark = pytest.mark.django_db

READ_ALL = {
    "anonymous": 302,
    "ml_engineer": 200,
    "auditor": 200,
    "compliance_officer": 200,
    "org_admin": 200,
    "outsider": 200,
}
ONLY_ORG = {**READ_ALL, "outsider": 404}


@pytest.mark.parametrize(
    "name",
    [
        "governance:risk_list",
        "governance:risk_heatmap",
        "governance:control_list",
        "governance:threat_library",
        "governance:risk_settings",
        "dashboard:compliance",
    ],
)
def test_every_member_reads_the_register_pages(permission_matrix, name):
    assert permission_matrix(lambda c: c.get(reverse(name))) == READ_ALL


@pytest.mark.parametrize("name", ["governance:risk_detail", "governance:risk_edit"])
def test_a_risk_is_invisible_to_another_organisation(permission_matrix, credit_risk, name):
    assert permission_matrix(lambda c: c.get(reverse(name, args=[credit_risk.pk]))) == ONLY_ORG


def test_the_threat_model_is_invisible_to_another_organisation(permission_matrix, credit_system):
    assert permission_matrix(lambda c: c.get(reverse("governance:threat_model", args=[credit_system.pk]))) == ONLY_ORG


def test_only_compliance_officers_import(permission_matrix):
    assert permission_matrix(lambda c: c.get(reverse("governance:risk_import"))) == {
        "anonymous": 302,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }


def test_the_register_of_another_organisation_shows_none_of_its_risks(client, credit_risk, outsider):
    client.force_login(outsider)
    body = client.get(reverse("governance:risk_list")).content.decode()
    assert credit_risk.title not in body and "No risks match." in body
    assert b"Unfair" not in b"".join(client.get(reverse("governance:risk_export", args=["csv"])).streaming_content)


def test_the_api_of_another_organisation_finds_nothing(permission_matrix, credit_risk, control):
    assert permission_matrix(lambda c: c.get(f"/api/v1/risks/{credit_risk.pk}/"), api=True) == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 404,
    }
    assert permission_matrix(
        lambda c: c.patch(f"/api/v1/controls/{control.pk}/", {"effectiveness": "partial"}, format="json"), api=True
    ) == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }


def _accept(client, risk):
    return client.post(
        reverse("governance:risk_transition", args=[risk.pk]),
        {"to_status": "accepted", "justification": "Compensating manual review until the retrain."},
    )


def test_only_compliance_officers_accept_a_risk_above_appetite(personas, credit_risk):
    """credit_risk scores 12, above the default appetite of 9; the owner is made the engineer."""
    from django.test import Client

    from governance.risks.models import Risk

    Risk.objects.filter(pk=credit_risk.pk).update(owner=personas["ml_engineer"])
    results = {}
    for name in ("ml_engineer", "auditor", "org_admin", "outsider", "compliance_officer"):
        client = Client()
        client.force_login(personas[name])
        results[name] = _accept(client, credit_risk).status_code
    assert results == {"ml_engineer": 403, "auditor": 403, "org_admin": 403, "outsider": 404, "compliance_officer": 302}
    assert Risk.objects.get(pk=credit_risk.pk).accepted_by == personas["compliance_officer"]


def test_the_owner_accepts_within_appetite_but_not_above_through_the_api(personas, credit_system):
    from rest_framework.test import APIClient

    from tests.governance.test_risk_support import make_risk

    engineer = personas["ml_engineer"]
    low = make_risk(engineer, [credit_system], likelihood=2, impact=3)
    high = make_risk(engineer, [credit_system], likelihood=4, impact=4)
    client = APIClient()
    client.force_authenticate(engineer)
    body = {"status": "accepted", "acceptance_justification": "Compensating manual review until the retrain."}
    assert client.patch(f"/api/v1/risks/{low.pk}/", body, format="json").status_code == 200
    response = client.patch(f"/api/v1/risks/{high.pk}/", body, format="json")
    assert response.status_code == 403 and response.json()["code"] == "above_appetite"


def test_only_compliance_officers_and_admins_change_settings(permission_matrix):
    data = {"appetite": 12, "review_reminder_days": 7}
    from governance.risks.scoring import DEFAULT_IMPACT_SCALE, DEFAULT_LIKELIHOOD_SCALE

    for name, scale in (("likelihood", DEFAULT_LIKELIHOOD_SCALE), ("impact", DEFAULT_IMPACT_SCALE)):
        for item in scale:
            data[f"{name}_{item['level']}_label"] = item["label"]
            data[f"{name}_{item['level']}_definition"] = item["definition"]
    assert permission_matrix(lambda c: c.post(reverse("governance:risk_settings"), data)) == {
        "anonymous": 302,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 302,
        "outsider": 302,
    }
