import pytest
from django.urls import reverse

from core.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="198.51.100.7")


def test_a_successful_login_is_an_audit_event_with_the_users_ip(client, auditor):
    response = login(client, "arne", PASSWORD)
    assert response.status_code == 302
    event = AuditEvent.objects.get(verb="auth.login")
    assert (event.actor_id, event.ip, event.organisation_id) == (auditor.pk, "198.51.100.7", auditor.organisation_id)


def test_a_failed_login_is_recorded_in_the_users_organisation(client, auditor):
    response = login(client, "arne", "wrong password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    event = AuditEvent.objects.get(verb="auth.login_failed")
    assert event.organisation_id == auditor.organisation_id
    assert event.after == {"username": "arne"}


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, auditor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "arne", "wrong password")
    response = login(client, "arne", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert AuditEvent.objects.filter(verb="auth.locked_out").exists()
    assert not AuditEvent.objects.filter(verb="auth.login").exists()


def test_the_lock_out_is_per_address_so_an_attacker_cannot_lock_out_everyone(client, auditor, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "arne", "wrong password")
    response = client.post(reverse("login"), {"username": "arne", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302


def test_login_form_requires_a_csrf_token(auditor):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": "arne", "password": PASSWORD})
    assert response.status_code == 403


def test_logout_is_an_audit_event(client, auditor):
    login(client, "arne", PASSWORD)
    client.post(reverse("logout"))
    assert AuditEvent.objects.filter(verb="auth.logout", actor=auditor).exists()


def test_every_response_carries_a_request_id_that_the_audit_event_repeats(client, auditor):
    response = login(client, "arne", PASSWORD)
    event = AuditEvent.objects.get(verb="auth.login")
    assert response["X-Request-ID"] == event.request_id


def test_a_forged_forwarded_for_header_is_ignored_unless_a_proxy_is_trusted(client, auditor):
    client.post(
        reverse("login"),
        {"username": "arne", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    assert AuditEvent.objects.get(verb="auth.login").ip == "198.51.100.7"
