import pytest
from django.core import mail
from django.urls import reverse

from core.errors import NotAllowed, ValidationFailed
from core.models import AuditEvent, User
from core.services import user_change_role, user_create

pytestmark = pytest.mark.django_db


def test_an_admin_creates_and_invites_a_user_from_the_users_page(client, org_admin, django_capture_on_commit_callbacks):
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("user_list"),
            {"username": "newbie", "email": "newbie@acme.example", "role": "auditor", "first_name": "New"},
        )
    user = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert (user.organisation_id, user.role, user.has_usable_password()) == (
        org_admin.organisation_id,
        "auditor",
        False,
    )
    assert len(mail.outbox) == 1 and "/accounts/invite/" in mail.outbox[0].body
    event = AuditEvent.objects.get(verb="user.created", object_id=str(user.pk))
    assert event.actor_id == org_admin.pk and event.after["role"] == "auditor"


def test_the_invitation_link_lets_the_person_set_a_password_once(client, org_admin):
    from core.services import invite_link

    user = user_create(
        actor=org_admin,
        organisation=org_admin.organisation,
        username="newbie",
        email="n@acme.example",
        role="auditor",
        send_invite=False,
    )
    path = invite_link(user).split("8000", 1)[-1].replace("http://testserver", "")
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(
        set_url, {"new_password1": "a-long-enough-passphrase", "new_password2": "a-long-enough-passphrase"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-long-enough-passphrase")
    assert client.get(path, follow=True).context["validlink"] is False


def test_a_duplicate_username_gets_a_clear_error_and_keeps_the_form_with_a_409(client, org_admin):
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(reverse("user_list"), {"username": "ADA", "email": "x@acme.example", "role": "auditor"})
    assert response.status_code == 409
    assert "already taken" in response.content.decode()
    assert 'value="x@acme.example"' in response.content.decode()


def test_a_role_change_records_before_after_and_reason(org_admin, ml_engineer):
    user_change_role(actor=org_admin, user=ml_engineer, role="auditor", reason="moved to model risk")
    event = AuditEvent.objects.get(verb="user.role_changed")
    assert (event.before, event.after, event.reason) == (
        {"role": "ml_engineer"},
        {"role": "auditor"},
        "moved to model risk",
    )
    ml_engineer.refresh_from_db()
    assert ml_engineer.role == "auditor"


def test_an_admin_cannot_remove_their_own_admin_role(org_admin):
    with pytest.raises(ValidationFailed):
        user_change_role(actor=org_admin, user=org_admin, role="auditor")


def test_an_admin_of_another_organisation_cannot_change_a_role_through_the_service(outsider, ml_engineer):
    with pytest.raises(NotAllowed):
        user_change_role(actor=outsider, user=ml_engineer, role="auditor")


def test_deactivating_a_user_revokes_their_api_tokens_and_blocks_the_api(client, org_admin, ml_engineer):
    from rest_framework.test import APIClient

    from core.services import api_token_create, user_set_active

    _, secret = api_token_create(actor=ml_engineer, name="ci")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get("/api/v1/me/").status_code == 200
    user_set_active(actor=org_admin, user=ml_engineer, active=False, reason="left the company")
    assert api.get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.filter(verb="user.deactivated", reason="left the company").exists()


def test_the_user_page_shows_the_users_own_trail(client, org_admin, ml_engineer):
    user_change_role(actor=org_admin, user=ml_engineer, role="auditor", reason="promotion")
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(reverse("audits:object_trail"), {"object_type": "core.user", "object_id": ml_engineer.pk})
    assert "user.role_changed" in response.content.decode()
    assert "promotion" in response.content.decode()


def test_seed_demo_is_idempotent_and_creates_every_role(db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet-summary", "--force")
    call_command("seed_demo", "--quiet-summary", "--force")
    roles = set(User.objects.filter(organisation__slug="acme-bank").values_list("role", flat=True))
    assert roles == {"ml_engineer", "auditor", "compliance_officer", "org_admin"}
    assert User.objects.filter(organisation__slug="globex-insurance").count() == 1
    assert User.objects.count() == 5
    from models_registry.models import AISystem

    system = AISystem.objects.get(organisation__slug="acme-bank")
    assert system.name == "Consumer credit scoring"
    assert system.versions.get().scan_verdict == "safe"
    assert sorted(system.datasets.values_list("role", flat=True)) == ["test", "train"]


def test_revoking_a_token_that_does_not_exist_says_so_with_a_400(client, ml_engineer):
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(reverse("token_list"), {"action": "revoke", "token_key": "nope"})
    assert response.status_code == 400 and "No such token." in response.content.decode()


def test_an_admin_removing_their_own_admin_role_on_the_user_page_is_told_why_and_keeps_it(client, org_admin):
    client.force_login(org_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        reverse("user_detail", args=[org_admin.pk]), {"action": "role", "role": "auditor"}, follow=True
    )
    assert "You cannot remove your own admin role" in response.content.decode()
    org_admin.refresh_from_db()
    assert org_admin.role == "org_admin"
