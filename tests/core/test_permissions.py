"""Every page and endpoint, run as anonymous, each role, and an admin of another organisation."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HTML_LOGIN = 302  # anonymous users are sent to the log-in page


def test_home_page_is_open_to_every_member_and_closed_to_anonymous(permission_matrix):
    result = permission_matrix(lambda c: c.get(reverse("home")))
    assert result == {
        "anonymous": HTML_LOGIN,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }


def test_audit_trail_page_is_for_auditors_compliance_officers_and_admins(permission_matrix):
    result = permission_matrix(lambda c: c.get(reverse("audits:event_list")))
    assert result == {
        "anonymous": HTML_LOGIN,
        "ml_engineer": 403,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }


def test_audit_trail_export_follows_the_same_rule(permission_matrix):
    result = permission_matrix(lambda c: c.get(reverse("audits:event_export", args=["csv"])))
    assert result == {
        "anonymous": HTML_LOGIN,
        "ml_engineer": 403,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }


def test_only_admins_and_auditors_can_request_a_chain_verification(permission_matrix):
    result = permission_matrix(lambda c: c.post(reverse("audits:verify")))
    assert result == {
        "anonymous": HTML_LOGIN,
        "ml_engineer": 403,
        "auditor": 302,
        "compliance_officer": 403,
        "org_admin": 302,
        "outsider": 302,
    }


def test_user_management_is_for_organisation_admins_only(permission_matrix):
    result = permission_matrix(lambda c: c.get(reverse("user_list")))
    assert result == {
        "anonymous": HTML_LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 200,
        "outsider": 200,
    }


def test_a_user_of_another_organisation_gets_404_for_a_member_page(permission_matrix, ml_engineer):
    result = permission_matrix(lambda c: c.get(reverse("user_detail", args=[ml_engineer.pk])))
    assert result == {
        "anonymous": HTML_LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 200,
        "outsider": 404,
    }


def test_api_me_needs_authentication(permission_matrix):
    result = permission_matrix(lambda c: c.get("/api/v1/me/"), api=True)
    assert result == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }


def test_api_audit_events_follow_the_audit_view_permission(permission_matrix):
    result = permission_matrix(lambda c: c.get("/api/v1/audit-events/"), api=True)
    assert result == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }


def test_api_user_role_change_of_another_organisation_member_is_404(permission_matrix, ml_engineer):
    result = permission_matrix(
        lambda c: c.post(f"/api/v1/users/{ml_engineer.pk}/role/", {"role": "auditor"}, format="json"), api=True
    )
    assert result == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 200,
        "outsider": 404,
    }


def test_an_outsider_sees_only_their_own_organisations_audit_events(client, organisation, org_admin, outsider):
    from core.trail import audit_record

    audit_record(verb="secret.acme", target=organisation, actor=org_admin)
    client.force_login(outsider, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("audits:event_list")).content.decode()
    api = client.get("/api/v1/audit-events/").json()
    assert "secret.acme" not in page
    assert all(event["verb"] != "secret.acme" for event in api["results"])


def test_a_role_outside_the_table_is_refused_by_the_permission_helper():
    from core.permissions import has_permission

    with pytest.raises(ValueError):
        has_permission(None, "no.such.permission")
