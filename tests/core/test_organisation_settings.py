"""The organisation admin's settings page (issue #13 item 2): four-eyes on high-risk
classifications is switched in the portal by the organisation's own admin, the change is in the
audit trail, and it really changes who may approve a high-risk determination."""

import re

import pytest
from django.urls import reverse

from core.errors import NotAllowed
from core.models import AuditEvent, Organisation
from core.services import organisation_four_eyes_set
from governance import services as governance
from governance.choices import DeterminationStatus
from models_registry.models import AISystem
from tests.governance.conftest import CREDIT_SCORING, application_dates  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db

URL = "/organisation/settings/"
LOGIN = 302


def settings_events():
    return AuditEvent.objects.filter(verb="organisation.settings_changed").order_by("pk")


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_the_settings_page_lives_at_organisation_settings():
    assert reverse("organisation_settings") == URL


def test_the_admin_sees_the_setting_and_what_it_means(admin_client, organisation):
    response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Four-eyes on high-risk classifications" in page
    assert "the approver of the determination must not be someone who answered or submitted it" in page
    assert "must not be the person who approved the classification it rests on" in page
    assert re.search(r'<input[^>]*value="on"[^>]*checked', page) and not re.search(
        r'<input[^>]*value="off"[^>]*checked', page
    )
    assert "Four-eyes is now <strong>on</strong>" in page


def test_the_admin_turns_four_eyes_off_and_on_and_the_trail_has_both_changes(admin_client, organisation, org_admin):
    response = admin_client.post(URL, {"four_eyes_high_risk": "off"}, follow=True)
    assert response.status_code == 200
    assert "Four-eyes on high-risk classifications is now off." in response.content.decode()
    assert "Four-eyes is now <strong>off</strong>" in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.four_eyes_high_risk is False

    response = admin_client.post(URL, {"four_eyes_high_risk": "on"}, follow=True)
    assert "Four-eyes on high-risk classifications is now on." in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.four_eyes_high_risk is True

    changes = [(e.actor, e.organisation_id, e.before, e.after) for e in settings_events()]
    assert changes == [
        (org_admin, organisation.pk, {"four_eyes_high_risk": True}, {"four_eyes_high_risk": False}),
        (org_admin, organisation.pk, {"four_eyes_high_risk": False}, {"four_eyes_high_risk": True}),
    ]


def test_saving_the_same_value_again_writes_no_event(admin_client, organisation):
    response = admin_client.post(URL, {"four_eyes_high_risk": "on"})
    assert response.status_code == 302
    assert not settings_events().exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [({}, "Choose whether four-eyes is on or off."), ({"four_eyes_high_risk": "maybe"}, "maybe is neither")],
)
def test_a_post_that_does_not_say_on_or_off_is_a_400_and_leaves_four_eyes_on(admin_client, organisation, body, reason):
    response = admin_client.post(URL, body)
    assert response.status_code == 400
    assert reason in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.four_eyes_high_risk is True
    assert not settings_events().exists()


def test_only_the_organisation_admin_may_open_the_settings_page(permission_matrix):
    assert permission_matrix(lambda c: c.get(URL)) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 200,
        "outsider": 200,  # an admin elsewhere sees the settings of her own organisation
    }


def test_only_the_organisation_admin_may_change_the_setting(permission_matrix, organisation, other_organisation):
    result = permission_matrix(lambda c: c.post(URL, {"four_eyes_high_risk": "off"}))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 302,
        "outsider": 302,  # her own organisation's setting, not Acme's
    }
    changed = {e.organisation_id for e in settings_events()}
    assert changed == {organisation.pk, other_organisation.pk}


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(URL, {"four_eyes_high_risk": "off"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_admin_cannot_change_another_organisations_setting_through_the_service(org_admin, other_organisation):
    with pytest.raises(NotAllowed):
        organisation_four_eyes_set(organisation=other_organisation, enabled=False, actor=org_admin)
    other_organisation.refresh_from_db()
    assert other_organisation.four_eyes_high_risk is True


def test_staff_in_the_django_admin_and_system_changes_still_work(organisation):
    organisation_four_eyes_set(organisation=organisation, enabled=False, actor=None)
    assert Organisation.objects.get(pk=organisation.pk).four_eyes_high_risk is False


def test_the_admins_home_page_and_navigation_link_to_the_settings(admin_client):
    page = admin_client.get(reverse("home")).content.decode()
    assert f'href="{URL}" data-testid="organisation-settings-link"' in page
    assert f'<a href="{URL}" class="">Organisation settings</a>' in page


def test_other_roles_are_not_shown_the_link(client, compliance_officer):
    client.force_login(compliance_officer, backend="django.contrib.auth.backends.ModelBackend")
    assert URL not in client.get(reverse("home")).content.decode()


# --- what the setting does -------------------------------------------------------------------------


@pytest.fixture
def own_high_risk(organisation, ml_engineer, compliance_officer):
    """One compliance officer answers and submits a high-risk (credit scoring) result."""
    system = AISystem.objects.create(
        organisation=organisation, name="Consumer credit scoring", purpose="Scores applicants.", created_by=ml_engineer
    )
    governance.classification_draft_save(system=system, answers=CREDIT_SCORING, actor=compliance_officer)
    return governance.determination_submit(system=system, actor=compliance_officer)


def test_with_four_eyes_switched_off_on_the_page_the_officer_may_approve_her_own_high_risk_result(
    admin_client, own_high_risk, compliance_officer
):
    assert admin_client.post(URL, {"four_eyes_high_risk": "off"}).status_code == 302
    own_high_risk.refresh_from_db()
    determination = governance.determination_approve(determination=own_high_risk, actor=compliance_officer)
    assert determination.status == DeterminationStatus.APPROVED
    assert determination.approved_by == compliance_officer


def test_with_four_eyes_switched_back_on_the_same_approval_is_refused(admin_client, own_high_risk, compliance_officer):
    admin_client.post(URL, {"four_eyes_high_risk": "off"})
    admin_client.post(URL, {"four_eyes_high_risk": "on"})
    own_high_risk.refresh_from_db()
    with pytest.raises(NotAllowed) as refused:
        governance.determination_approve(determination=own_high_risk, actor=compliance_officer)
    assert refused.value.code == "four_eyes"
    own_high_risk.refresh_from_db()
    assert own_high_risk.status != DeterminationStatus.APPROVED


API_URL = "/api/v1/organisation/settings/"


def test_the_settings_api_reads_for_every_member_and_changes_for_the_admin_only(permission_matrix, organisation):
    read = permission_matrix(lambda c: c.get(API_URL), api=True)
    assert read == {name: 401 if name == "anonymous" else 200 for name in read}
    change = permission_matrix(lambda c: c.put(API_URL, {"four_eyes_high_risk": False}, format="json"), api=True)
    assert change == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 200,
        "outsider": 200,  # the admin of another organisation changes her own organisation's setting
    }
    organisation.refresh_from_db()
    assert organisation.four_eyes_high_risk is False


def test_the_settings_api_records_the_change_and_refuses_a_missing_or_odd_value(org_admin, organisation):
    from rest_framework.test import APIClient

    from core.models import ApiToken

    _, secret = ApiToken.objects.create(user=org_admin, name="settings")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.put(API_URL, {"four_eyes_high_risk": False}, format="json").json() == {"four_eyes_high_risk": False}
    assert settings_events().last().after == {"four_eyes_high_risk": False}
    for bad in ({}, {"four_eyes_high_risk": "maybe"}, {"four_eyes_high_risk": None}):
        response = api.put(API_URL, bad, format="json")
        assert response.status_code == 400 and "four_eyes_high_risk" in str(response.json())
    assert api.get(API_URL).json() == {"four_eyes_high_risk": False}
    assert settings_events().count() == 1
