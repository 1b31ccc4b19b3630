import pytest
from rest_framework.test import APIClient

from core.models import AuditEvent
from core.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(org_admin):
    _, secret = api_token_create(actor=org_admin, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_a_token_is_stored_only_as_a_digest_and_shown_once(org_admin):
    from core.models import ApiToken

    token, secret = api_token_create(actor=org_admin, name="gitlab")
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret.startswith("agp_") and secret not in (stored.digest, stored.token_key)
    assert AuditEvent.objects.filter(verb="api_token.created", after__name="gitlab").exists()


def test_a_revoked_token_no_longer_authenticates(org_admin):
    token, secret = api_token_create(actor=org_admin, name="ci")
    api_token_revoke(actor=org_admin, token_key=token.token_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert set(response.json()) == {"message", "code", "extra"}


def test_me_returns_the_role_and_its_permissions(api):
    body = api.get("/api/v1/me/").json()
    assert body["role"] == "org_admin" and "users.manage" in body["permissions"]


def test_api_errors_have_message_code_and_extra(api):
    response = api.post("/api/v1/users/", {"username": "x", "email": "not-an-email", "role": "auditor"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "code", "extra"} and "email" in body["message"]


def test_creating_a_user_through_the_api_records_the_token_user_as_actor(api, org_admin):
    response = api.post(
        "/api/v1/users/", {"username": "ci-made", "email": "ci@acme.example", "role": "ml_engineer"}, format="json"
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(verb="user.created", object_repr__contains="ci-made")
    assert (event.actor_id, event.origin) == (org_admin.pk, "api")


def test_audit_events_can_be_filtered_by_verb_and_are_paginated(api, org_admin):
    response = api.get("/api/v1/audit-events/", {"verb": "api_token"})
    body = response.json()
    assert body["count"] == 1 and body["results"][0]["verb"] == "api_token.created"
    assert {"hash", "prev_hash", "seq"} <= set(body["results"][0])


def test_the_openapi_schema_documents_the_v1_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = (
        response.json()["paths"] if response["Content-Type"].startswith("application/vnd.oai.openapi+json") else None
    )
    text = response.content.decode()
    assert "/api/v1/audit-events/" in text and "/api/v1/users/" in text
    assert paths is None or "/api/v1/me/" in paths


def test_the_api_docs_page_loads_swagger_from_local_static_files(client):
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "https://" not in html.split("<body")[0]
