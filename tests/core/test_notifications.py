"""Notifications: who sees them, opening and reading them, the bell, and e-mail that leaves only
after the change that caused it is committed."""

from __future__ import annotations

import smtplib
from datetime import date

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse

from core.errors import ValidationFailed
from core.models import Notification
from core.notifications import notification_mark_read, notification_send
from core.selectors import notification_list, unread_count

pytestmark = pytest.mark.django_db
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class RefusingMailServer(BaseEmailBackend):
    """An SMTP server that has gone away."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def notify(*recipients, url="/risks/7/", email=False, **kwargs):
    return notification_send(
        recipients=recipients,
        kind="risk.review_due",
        title="Risk R-7 is due for review",
        body="Review it before Friday.",
        url=url,
        email=email,
        **kwargs,
    )


def logged_in(client, user):
    client.force_login(user, backend=MODEL_BACKEND)
    return client


# --- who sees what ------------------------------------------------------------------------------


def test_the_recipient_sees_the_notification_and_the_unread_count_in_the_bell(client, ml_engineer):
    [notification] = notify(ml_engineer)
    page = logged_in(client, ml_engineer).get(reverse("notification_list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert list(page.context["page"]) == [notification]
    assert "Risk R-7 is due for review" in html and 'class="unread"' in html
    assert 'data-testid="notification-count">1<' in html
    assert unread_count(user=ml_engineer) == 1


def test_colleagues_and_other_organisations_see_nothing_of_it(client, ml_engineer, auditor, outsider):
    notify(ml_engineer)
    for stranger in (auditor, outsider):
        page = logged_in(client, stranger).get(reverse("notification_list"))
        assert list(page.context["page"]) == []
        assert "Risk R-7" not in page.content.decode()
        assert 'data-testid="notification-count"' not in page.content.decode()
        assert unread_count(user=stranger) == 0 and not notification_list(user=stranger).exists()


@pytest.mark.parametrize("stranger", ["auditor", "outsider"])
def test_opening_someone_elses_notification_answers_404_and_leaves_it_unread(client, ml_engineer, stranger, request):
    [notification] = notify(ml_engineer)
    response = logged_in(client, request.getfixturevalue(stranger)).post(
        reverse("notification_open", args=[notification.pk])
    )
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_newest_notification_comes_first_and_the_list_is_paginated(client, ml_engineer):
    for number in range(30):
        notify(ml_engineer, url=f"/risks/{number}/")
    client = logged_in(client, ml_engineer)
    first, second = client.get(reverse("notification_list")), client.get(reverse("notification_list") + "?page=2")
    assert [n.url for n in first.context["page"]][:2] == ["/risks/29/", "/risks/28/"]
    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 5
    assert "Page 1 of 2" in first.content.decode()


# --- opening and reading ------------------------------------------------------------------------


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, ml_engineer):
    [notification] = notify(ml_engineer)
    response = logged_in(client, ml_engineer).post(reverse("notification_open", args=[notification.pk]))
    assert (response.status_code, response["Location"]) == (302, "/risks/7/")
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert unread_count(user=ml_engineer) == 0


def test_opening_needs_a_post_so_a_link_in_a_mail_cannot_mark_it_read(client, ml_engineer):
    [notification] = notify(ml_engineer)
    assert logged_in(client, ml_engineer).get(reverse("notification_open", args=[notification.pk])).status_code == 405


def test_a_notification_without_a_link_opens_the_list(client, ml_engineer):
    [notification] = notify(ml_engineer, url="")
    response = logged_in(client, ml_engineer).post(reverse("notification_open", args=[notification.pk]))
    assert response["Location"] == reverse("notification_list")


@pytest.mark.parametrize(
    "url", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)", "risks/7/"]
)
def test_a_notification_cannot_link_off_the_site(ml_engineer, url):
    with pytest.raises(ValidationFailed):
        notify(ml_engineer, url=url)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            organisation=ml_engineer.organisation, recipient=ml_engineer, kind="x", title="x", url="//evil.example/"
        )


def test_opening_a_link_a_browser_would_read_as_another_site_goes_to_the_list(client, ml_engineer):
    # Browsers drop tabs inside URLs, so "/\t/evil.example" becomes "//evil.example". The database
    # check lets it through; the view must not.
    notification = Notification.objects.create(
        organisation=ml_engineer.organisation, recipient=ml_engineer, kind="x", title="x", url="/\t/evil.example/"
    )
    response = logged_in(client, ml_engineer).post(reverse("notification_open", args=[notification.pk]))
    assert response["Location"] == reverse("notification_list")


def test_mark_all_read_reads_only_my_own_notifications(client, ml_engineer, auditor):
    notify(ml_engineer)
    notify(ml_engineer)
    [theirs] = notify(auditor)
    response = logged_in(client, ml_engineer).post(reverse("notification_mark_all_read"))
    assert response.status_code == 302
    assert unread_count(user=ml_engineer) == 0 and unread_count(user=auditor) == 1
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_selected_ids_ignores_other_peoples(ml_engineer, auditor):
    [mine], [theirs] = notify(ml_engineer), notify(auditor)
    assert notification_mark_read(user=ml_engineer, notification_ids=[mine.pk, theirs.pk]) == 1
    assert notification_mark_read(user=ml_engineer, notification_ids=[mine.pk]) == 0  # already read
    assert unread_count(user=auditor) == 1


@pytest.mark.parametrize("name", ["notification_list", "notification_mark_all_read", "notification_open"])
def test_anonymous_visitors_are_sent_to_log_in(client, ml_engineer, name):
    [notification] = notify(ml_engineer)
    url = reverse(name, args=[notification.pk] if name == "notification_open" else [])
    response = client.post(url) if name != "notification_list" else client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_bell_counts_with_one_query_however_often_a_page_uses_it(ml_engineer, django_assert_num_queries):
    from core.context_processors import notifications

    notify(ml_engineer)
    request = RequestFactory().get("/")
    request.user = ml_engineer
    count = notifications(request)["unread_notifications"]
    with django_assert_num_queries(1):
        assert bool(count) and str(count) == "1" and count > 0
        assert str(notifications(request)["unread_notifications"]) == "1"


# --- recipients ---------------------------------------------------------------------------------


def test_recipients_of_another_organisation_are_skipped(ml_engineer, outsider):
    created = notify(ml_engineer, outsider, organisation=ml_engineer.organisation)
    assert [n.recipient for n in created] == [ml_engineer]
    assert not Notification.objects.filter(recipient=outsider).exists()
    assert notify(outsider, organisation=ml_engineer.organisation) == []


def test_recipients_from_two_organisations_without_saying_which_are_refused(ml_engineer, outsider):
    with pytest.raises(ValidationFailed):
        notify(ml_engineer, outsider)
    assert not Notification.objects.exists()


def test_each_active_person_is_notified_once(ml_engineer, auditor, compliance_officer):
    compliance_officer.is_active = False
    compliance_officer.save()
    created = notify(ml_engineer, auditor, ml_engineer, compliance_officer)
    assert sorted(n.recipient.username for n in created) == ["arne", "mia"]


# --- e-mail -------------------------------------------------------------------------------------


def test_the_email_leaves_on_commit_with_the_absolute_link(
    ml_engineer, auditor, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "https://portal.acme.example/"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = notify(ml_engineer, auditor, email=True)
        assert mail.outbox == []  # nothing before the commit
    assert len(callbacks) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["arne@example.org", "mia@example.org"]
    message = next(m for m in mail.outbox if m.to == ["mia@example.org"])
    assert message.subject == "Risk R-7 is due for review" and message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "https://portal.acme.example/risks/7/" in message.body and "Review it before Friday." in message.body
    assert all(n.emailed_at for n in Notification.objects.filter(pk__in=[n.pk for n in created]))


def test_no_email_leaves_when_the_change_is_rolled_back(ml_engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(ml_engineer, email=True)
            raise RuntimeError("the action that caused it failed")
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.exists()


def test_a_failing_mail_server_does_not_break_the_callers_action(
    ml_engineer, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notify(ml_engineer, email=True)
    notification.refresh_from_db()
    assert notification.emailed_at is None and unread_count(user=ml_engineer) == 1
    assert "failed" in caplog.text and "Connection unexpectedly closed" in caplog.text


def test_no_email_is_sent_when_the_caller_asks_for_none(ml_engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(ml_engineer, email=False)
    assert callbacks == [] and mail.outbox == []


# --- risk review reminders ----------------------------------------------------------------------


def test_a_risk_review_reminder_also_lands_in_the_owners_portal(ml_engineer, compliance_officer):
    from governance.risks.services import risk_create, risk_review_reminders
    from governance.risks.tasks import _send_reminder
    from models_registry.models import AISystem

    system = AISystem.objects.create(
        organisation=ml_engineer.organisation,
        name="Consumer credit scoring",
        purpose="Scores consumer loan applicants.",
        created_by=ml_engineer,
    )
    risk = risk_create(
        actor=compliance_officer,
        data={
            "title": "Unfair declines",
            "category": "bias",
            "likelihood": 3,
            "impact": 4,
            "systems": [system],
            "owner": ml_engineer,
            "next_review_date": date(2030, 3, 10),
        },
    )
    assert risk_review_reminders(today=date(2030, 3, 1), send=_send_reminder) == [risk.pk]
    [notification] = notification_list(user=ml_engineer)
    assert (notification.kind, notification.url) == ("risk.review_due", f"/risks/{risk.pk}/")
    assert notification.title.startswith("Risk review due 10 Mar 2030: R-1") and notification.emailed_at
    assert len(mail.outbox) == 1 and f"/risks/{risk.pk}/" in mail.outbox[0].body
    assert not notification_list(user=compliance_officer).exists()
