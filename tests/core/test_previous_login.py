"""The home page's "Previous log-in" is the log-in before this session's, not the one just made."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from core.selectors import PREVIOUS_LOGIN_KEY, login_previous
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def log_in(client):
    response = client.post(reverse("login"), {"username": "arne", "password": PASSWORD})
    assert response.status_code == 302


def previous_login_line(client) -> str:
    html = client.get(reverse("home")).content.decode()
    start = html.index('data-testid="previous-login">')
    return html[start : html.index("</p>", start)]


def test_the_first_log_in_says_there_was_none_before_it(auditor):
    client = Client()
    log_in(client)
    assert "none before this one" in previous_login_line(client)


def test_the_home_page_shows_the_log_in_before_this_one_not_the_one_just_made(auditor):
    first = Client()
    log_in(first)
    earlier = AuditEvent.objects.get(verb="auth.login")
    second = Client()
    log_in(second)
    latest = AuditEvent.objects.filter(verb="auth.login").latest("timestamp")
    assert latest.pk != earlier.pk
    # The trail is append-only (PostgreSQL refuses an UPDATE), so the times cannot be moved apart:
    # the session holds the earlier log-in's exact time, and the page shows it.
    assert second.session[PREVIOUS_LOGIN_KEY] == earlier.timestamp.isoformat()
    assert login_previous(session=second.session) == earlier.timestamp < latest.timestamp
    assert timezone.localtime(earlier.timestamp).strftime("%Y-%m-%d %H:%M") in previous_login_line(second)
