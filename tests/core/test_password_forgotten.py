"""A member who forgot their password: the log-in page says whom to ask, and their organisation's
admin gives them a one-time link to set a new one, recorded in the trail."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from core.errors import NotAllowed, ValidationFailed
from core.models import AuditEvent
from core.services import user_password_reset_link, user_set_active
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-new-long-enough-passphrase"


def test_the_login_page_links_to_a_page_that_says_to_ask_the_organisation_admin(db):
    login = Client().get(reverse("login")).content.decode()
    assert reverse("password_forgotten") in login
    page = Client().get(reverse("password_forgotten"))
    assert page.status_code == 200
    assert "Ask your organisation's admin" in page.content.decode()


def test_an_admin_gives_a_link_with_which_the_member_sets_a_new_password_once(client, org_admin, auditor):
    client.force_login(org_admin)
    response = client.post(reverse("user_detail", args=[auditor.pk]), {"action": "password_reset"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and "set a new password" in shown[0]
    link = shown[0].rsplit(" ", 1)[-1]
    event = AuditEvent.objects.get(verb="user.password_reset_link_issued")
    assert (event.actor_id, event.object_id) == (org_admin.pk, str(auditor.pk))

    member = Client()
    form_page = member.get(urlsplit(link).path, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    assert member.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302
    auditor.refresh_from_db()
    assert auditor.check_password(NEW_PASSWORD) and not auditor.check_password(PASSWORD)
    assert member.get(urlsplit(link).path, follow=True).context["validlink"] is False


def test_only_an_admin_of_the_organisation_gives_such_a_link_and_not_for_a_deactivated_member(
    org_admin, auditor, outsider, ml_engineer
):
    with pytest.raises(NotAllowed):
        user_password_reset_link(actor=ml_engineer, user=auditor)
    with pytest.raises(NotAllowed):
        user_password_reset_link(actor=outsider, user=auditor)
    user_set_active(actor=org_admin, user=auditor, active=False)
    with pytest.raises(ValidationFailed):
        user_password_reset_link(actor=org_admin, user=auditor)
