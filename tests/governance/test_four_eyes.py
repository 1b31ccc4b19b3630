"""Four-eyes on classification (issue #13 item 2): with the organisation's setting on (the default),
a high-risk or prohibited determination is approved by someone who neither answered nor submitted
it; with the setting off, or for a result that is not high-risk, self-approval stays possible."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import NotAllowed
from core.models import ApiToken, AuditEvent, Organisation, User
from core.services import organisation_four_eyes_set
from governance import services
from governance.choices import DeterminationStatus
from tests.conftest import make_user
from tests.governance.conftest import CREDIT_SCORING, MINIMAL, events

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Reviewed with legal: the score is advisory and never decides a loan alone."


@pytest.fixture
def second_officer(organisation):
    return make_user(organisation, "conrad", "compliance_officer")


@pytest.fixture
def own_high_risk(credit_system, compliance_officer):
    """The walk-through's case: one compliance officer answers and submits a high-risk result."""
    services.classification_draft_save(system=credit_system, answers=CREDIT_SCORING, actor=compliance_officer)
    return services.determination_submit(system=credit_system, actor=compliance_officer)


def staff_user():
    return User.objects.create_superuser(username="root", email="root@example.org", password="x-very-long-pass")


def switch_off(organisation):
    organisation_four_eyes_set(organisation=organisation, enabled=False, actor=staff_user())


def officer_client(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="ci")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


# --- the setting ------------------------------------------------------------------------------------


def test_a_new_organisation_has_four_eyes_on_by_default():
    assert Organisation.objects.create(name="Initech", slug="initech").four_eyes_high_risk is True


def test_staff_switching_the_setting_off_is_audited_with_before_and_after(organisation):
    staff = staff_user()
    organisation_four_eyes_set(organisation=organisation, enabled=False, actor=staff)
    organisation.refresh_from_db()
    assert organisation.four_eyes_high_risk is False
    event = events("organisation.settings_changed").get()
    assert event.actor == staff and event.organisation_id == organisation.pk
    assert event.before == {"four_eyes_high_risk": True} and event.after == {"four_eyes_high_risk": False}


def test_saving_the_setting_unchanged_writes_no_event(organisation):
    organisation_four_eyes_set(organisation=organisation, enabled=True, actor=staff_user())
    assert not events("organisation.settings_changed").exists()


def test_a_compliance_officer_or_another_organisations_admin_cannot_switch_four_eyes_off(
    organisation, compliance_officer, outsider
):
    """The organisation's own admin may (tests/core/test_organisation_settings.py); no one else."""
    for actor in (compliance_officer, outsider):
        with pytest.raises(NotAllowed):
            organisation_four_eyes_set(organisation=organisation, enabled=False, actor=actor)
    organisation.refresh_from_db()
    assert organisation.four_eyes_high_risk is True
    assert not events("organisation.settings_changed").exists()


def test_staff_switch_four_eyes_off_in_the_django_admin_and_the_change_is_in_the_trail(client, organisation):
    client.force_login(staff_user())
    response = client.post(
        f"/admin/core/organisation/{organisation.pk}/change/", {"name": organisation.name, "slug": organisation.slug}
    )
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.four_eyes_high_risk is False
    assert events("organisation.settings_changed").get().after == {"four_eyes_high_risk": False}


# --- the service -------------------------------------------------------------------------------------


def test_an_officer_cannot_approve_a_high_risk_determination_she_answered_and_submitted(
    own_high_risk, compliance_officer
):
    with pytest.raises(NotAllowed) as excinfo:
        services.determination_approve(determination=own_high_risk, actor=compliance_officer)
    assert excinfo.value.code == "four_eyes"
    assert "Four-eyes rule" in excinfo.value.message
    assert excinfo.value.extra["rule"] == "four_eyes_high_risk"
    own_high_risk.refresh_from_db()
    assert own_high_risk.status == DeterminationStatus.SUBMITTED and own_high_risk.approved_by is None
    assert not events("classification.approved").exists()


def test_another_officer_approves_it_and_the_approval_event_records_the_four_eyes_rule(own_high_risk, second_officer):
    determination = services.determination_approve(determination=own_high_risk, actor=second_officer)
    assert determination.status == DeterminationStatus.APPROVED and determination.approved_by == second_officer
    assert events("classification.approved").get().after["four_eyes"] is True


def test_an_officer_cannot_override_her_own_high_risk_result_down_to_minimal_risk(own_high_risk, compliance_officer):
    with pytest.raises(NotAllowed) as excinfo:
        services.determination_override(
            determination=own_high_risk, actor=compliance_officer, outcome="minimal_risk", justification=JUSTIFICATION
        )
    assert excinfo.value.code == "four_eyes"


def test_an_officer_cannot_override_her_own_minimal_result_up_to_high_risk(credit_system, compliance_officer):
    determination = services.determination_submit(system=credit_system, actor=compliance_officer, answers=MINIMAL)
    with pytest.raises(NotAllowed):
        services.determination_override(
            determination=determination,
            actor=compliance_officer,
            outcome="high_risk_annex_iii",
            justification=JUSTIFICATION,
        )


def test_an_officer_may_approve_her_own_minimal_risk_result(credit_system, compliance_officer):
    determination = services.determination_submit(system=credit_system, actor=compliance_officer, answers=MINIMAL)
    determination = services.determination_approve(determination=determination, actor=compliance_officer)
    assert determination.status == DeterminationStatus.APPROVED
    assert events("classification.approved").get().after["four_eyes"] is False


def test_with_the_setting_off_an_officer_may_approve_her_own_high_risk_result(
    own_high_risk, compliance_officer, organisation
):
    switch_off(organisation)
    own_high_risk.refresh_from_db()
    determination = services.determination_approve(determination=own_high_risk, actor=compliance_officer)
    assert determination.approved_by == compliance_officer
    assert events("classification.approved").get().after["four_eyes"] is False


def test_an_officer_who_submitted_an_engineers_answers_cannot_approve_them(
    credit_system, ml_engineer, compliance_officer, second_officer
):
    services.classification_draft_save(system=credit_system, answers=CREDIT_SCORING, actor=ml_engineer)
    determination = services.determination_submit(system=credit_system, actor=compliance_officer)
    assert determination.answered_by == ml_engineer and determination.submitted_by == compliance_officer
    with pytest.raises(NotAllowed):
        services.determination_approve(determination=determination, actor=compliance_officer)
    services.determination_approve(determination=determination, actor=second_officer)


def test_an_officer_who_changed_one_answer_cannot_approve_even_when_someone_else_saved_and_submitted_last(
    credit_system, ml_engineer, compliance_officer
):
    partial = {key: value for key, value in CREDIT_SCORING.items() if key != "art6_3_profiling"}
    services.classification_draft_save(system=credit_system, answers=partial, actor=ml_engineer)
    services.classification_draft_save(system=credit_system, answers=CREDIT_SCORING, actor=compliance_officer)
    services.classification_draft_save(system=credit_system, answers=CREDIT_SCORING, actor=ml_engineer)
    determination = services.determination_submit(system=credit_system, actor=ml_engineer)
    assert determination.answered_by == ml_engineer
    assert determination.answer_authors["art6_3_profiling"] == compliance_officer.pk
    assert determination.answer_authors["is_ai_system"] == ml_engineer.pk
    with pytest.raises(NotAllowed):
        services.determination_approve(determination=determination, actor=compliance_officer)


def test_an_engineers_submission_is_approved_by_the_compliance_officer_as_before(submitted, compliance_officer):
    assert services.determination_approve(determination=submitted, actor=compliance_officer).status == "approved"


# --- the page and the API -------------------------------------------------------------------------


def test_the_approval_card_says_beforehand_that_another_officer_must_approve(own_high_risk, compliance_officer):
    response = officer_client(compliance_officer).get(
        reverse("governance:determination_detail", args=[own_high_risk.pk])
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="four-eyes"' in html and "another compliance officer must approve it" in html
    assert 'data-testid="approve" disabled' in html


def test_the_approval_card_tells_the_second_officer_the_rule_and_leaves_the_button_enabled(
    own_high_risk, second_officer
):
    html = (
        officer_client(second_officer)
        .get(reverse("governance:determination_detail", args=[own_high_risk.pk]))
        .content.decode()
    )
    assert "Four-eyes rule:" in html and "Chloe" in html
    assert 'data-testid="approve" disabled' not in html


def test_the_approval_card_has_no_four_eyes_note_when_the_setting_is_off(
    own_high_risk, compliance_officer, organisation
):
    switch_off(organisation)
    html = (
        officer_client(compliance_officer)
        .get(reverse("governance:determination_detail", args=[own_high_risk.pk]))
        .content.decode()
    )
    assert 'data-testid="four-eyes"' not in html


def test_approving_ones_own_high_risk_result_in_the_browser_is_the_403_page_naming_the_rule(
    own_high_risk, compliance_officer
):
    response = officer_client(compliance_officer).post(
        reverse("governance:determination_approve", args=[own_high_risk.pk])
    )
    assert response.status_code == 403
    assert "Four-eyes rule" in response.content.decode()
    own_high_risk.refresh_from_db()
    assert own_high_risk.status == DeterminationStatus.SUBMITTED


def test_the_api_refuses_self_approval_with_403_four_eyes_and_says_so_on_the_determination(
    own_high_risk, compliance_officer
):
    client = api_client(compliance_officer)
    detail = client.get(f"/api/v1/classification/determinations/{own_high_risk.pk}/")
    assert detail.status_code == 200 and detail.json()["four_eyes_required"] is True
    response = client.post(f"/api/v1/classification/determinations/{own_high_risk.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "four_eyes" and body["extra"]["rule"] == "four_eyes_high_risk"
    assert compliance_officer.pk in body["extra"]["answered_or_submitted_by"]


def test_the_api_lets_another_officer_approve(own_high_risk, second_officer):
    response = api_client(second_officer).post(
        f"/api/v1/classification/determinations/{own_high_risk.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"


def test_who_may_approve_a_self_answered_high_risk_result(permission_matrix, own_high_risk, compliance_officer):
    """The persona compliance officer answered and submitted it: the four-eyes rule refuses her."""
    result = permission_matrix(
        lambda c: c.post(f"/api/v1/classification/determinations/{own_high_risk.pk}/approve/", {}, format="json"),
        api=True,
    )
    assert result == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,  # an organisation admin elsewhere: refused for the role before the object is looked up
    }
    assert not AuditEvent.objects.filter(verb="classification.approved").exists()
