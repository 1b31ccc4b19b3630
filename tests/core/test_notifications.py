"""Notifications: who sees them, opening and reading them, the bell, and e-mail that leaves only
after the change that caused it is committed."""

from __future__ import annotations

import smtplib
from datetime import date, timedelta

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


@pytest.fixture
def worker():
    """The e-mail task runs where it is queued, as a worker would run it (countdown aside)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


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
    ml_engineer, auditor, settings, django_capture_on_commit_callbacks, worker
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
    ml_engineer, settings, caplog, django_capture_on_commit_callbacks, worker
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


# --- digests ------------------------------------------------------------------------------------

DIGEST_TITLE = "Mia decided {count} finding{s} on S-5 ({tallies})"


def digest(*recipients, items, email=False, key="submission:5:decided-by:1", **kwargs):
    return notification_send(
        recipients=recipients,
        kind="finding.decided",
        title=DIGEST_TITLE,
        url="/certification/5/",
        email=email,
        digest_key=key,
        items=items,
        **kwargs,
    )


def decided(*tallies):
    return [{"text": f"CHECK-{n} Something: {t}", "tally": t} for n, t in enumerate(tallies, 1)]


def test_a_batch_of_decisions_is_one_notification_that_counts_them_by_outcome(ml_engineer):
    [notification] = digest(ml_engineer, items=decided(*["accepted"] * 9, *["require mitigation"] * 3, "escalated"))
    assert Notification.objects.filter(recipient=ml_engineer).count() == 1
    assert notification.title == "Mia decided 13 findings on S-5 (9 accepted, 3 require mitigation, 1 escalated)"
    assert notification.body.count("• CHECK-") == 13 and "CHECK-13 Something: escalated" in notification.body


def test_a_decision_soon_after_joins_the_unread_digest_and_one_later_starts_a_new_one(ml_engineer, settings):
    settings.NOTIFICATION_DIGEST_SECONDS = 120
    [first] = digest(ml_engineer, items=decided("accepted"))
    assert first.title == "Mia decided 1 finding on S-5 (1 accepted)"
    [joined] = digest(ml_engineer, items=decided("escalated"))
    assert joined.pk == first.pk and joined.title == "Mia decided 2 findings on S-5 (1 accepted, 1 escalated)"
    Notification.objects.filter(pk=first.pk).update(created_at=first.created_at - timedelta(seconds=121))
    [later] = digest(ml_engineer, items=decided("accepted"))
    assert later.pk != first.pk and later.title == "Mia decided 1 finding on S-5 (1 accepted)"


def test_a_digest_already_read_or_about_another_object_is_not_added_to(ml_engineer, auditor):
    first = next(n for n in digest(ml_engineer, auditor, items=decided("accepted")) if n.recipient == ml_engineer)
    notification_mark_read(user=ml_engineer, notification_ids=[first.pk])
    digest(ml_engineer, auditor, items=decided("accepted"))
    digest(ml_engineer, auditor, items=decided("accepted"), key="submission:6:decided-by:1")
    assert Notification.objects.filter(recipient=ml_engineer).count() == 3  # read one, new one, other object
    assert sorted(Notification.objects.filter(recipient=auditor).values_list("title", flat=True)) == [
        "Mia decided 1 finding on S-5 (1 accepted)",
        "Mia decided 2 findings on S-5 (2 accepted)",
    ]


def test_a_digest_without_items_is_refused(ml_engineer):
    with pytest.raises(ValidationFailed):
        digest(ml_engineer, items=[])


def test_a_digest_is_one_email_listing_every_item(ml_engineer, django_capture_on_commit_callbacks, worker):
    with django_capture_on_commit_callbacks(execute=True):
        digest(ml_engineer, items=decided("accepted", "accepted", "escalated"), email=True)
    [message] = mail.outbox
    assert message.subject == "Mia decided 3 findings on S-5 (2 accepted, 1 escalated)"
    assert message.body.count("• CHECK-") == 3


def test_the_email_is_handed_to_the_worker_after_commit_and_a_digest_waits_for_its_window(
    ml_engineer, settings, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("core.enqueue.task_enqueue", lambda name, **kw: queued.append((name, kw)))
    settings.NOTIFICATION_DIGEST_SECONDS = 90
    with django_capture_on_commit_callbacks(execute=True):
        [single] = notify(ml_engineer, email=True)
        [grouped] = digest(ml_engineer, items=decided("accepted"), email=True)
        assert queued == []  # nothing before the commit
    assert [(n, kw["kwargs"], kw["countdown"]) for n, kw in queued] == [
        ("core.notification_email", {"notification_ids": [single.pk]}, 0),
        ("core.notification_email", {"notification_ids": [grouped.pk]}, 90),
    ]
    assert mail.outbox == []  # the worker sends them


def test_when_the_broker_refuses_the_emails_are_sent_at_once(
    ml_engineer, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(name, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("core.enqueue.task_enqueue", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        notify(ml_engineer, email=True)
    assert len(mail.outbox) == 1 and "could not be queued" in caplog.text


class FlakyMailServer(BaseEmailBackend):
    """Away for the first attempt, back for the next."""

    attempts = 0

    def send_messages(self, email_messages):
        FlakyMailServer.attempts += 1
        if FlakyMailServer.attempts == 1:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return len(email_messages)


def test_the_worker_retries_a_mail_server_that_is_away_and_sends_once_it_is_back(ml_engineer, settings, worker):
    from core.tasks import notification_email_task

    settings.EMAIL_BACKEND = f"{__name__}.FlakyMailServer"
    FlakyMailServer.attempts = 0
    [notification] = notify(ml_engineer)
    notification_email_task.apply(kwargs={"notification_ids": [notification.pk]})
    notification.refresh_from_db()
    assert FlakyMailServer.attempts == 2 and notification.emailed_at is not None
    notification_email_task.apply(kwargs={"notification_ids": [notification.pk]})  # re-delivered
    assert FlakyMailServer.attempts == 2


# --- e-mail per kind ----------------------------------------------------------------------------


def test_someone_who_chose_portal_only_for_a_kind_still_sees_it_but_gets_no_email(
    ml_engineer, auditor, django_capture_on_commit_callbacks, worker
):
    from core.notifications import notification_preferences_set

    notification_preferences_set(user=ml_engineer, email_by_kind={"risk.review_due": False})
    with django_capture_on_commit_callbacks(execute=True):
        notify(ml_engineer, auditor, email=True)
        digest(ml_engineer, auditor, items=decided("accepted"), email=True)
    assert sorted((m.to[0], m.subject[:8]) for m in mail.outbox) == [
        ("arne@example.org", "Mia deci"),
        ("arne@example.org", "Risk R-7"),
        ("mia@example.org", "Mia deci"),
    ]
    assert unread_count(user=ml_engineer) == 2


def test_the_preferences_page_saves_a_choice_per_kind_and_shows_it(client, ml_engineer):
    client = logged_in(client, ml_engineer)
    page = client.get(reverse("notification_preferences"))
    html = page.content.decode()
    assert page.status_code == 200 and "A risk you own is due for review" in html
    assert 'data-testid="email-risk.review_due" checked' in html  # e-mail unless chosen otherwise
    response = client.post(
        reverse("notification_preferences"), {"email:risk.review_due": "portal", "email:finding.decided": "email"}
    )
    assert response.status_code == 302
    html = client.get(reverse("notification_preferences")).content.decode()
    assert 'data-testid="portal-risk.review_due" checked' in html
    assert 'data-testid="email-finding.decided" checked' in html


def test_the_preferences_page_is_reachable_from_the_notifications_list(client, ml_engineer):
    html = logged_in(client, ml_engineer).get(reverse("notification_list")).content.decode()
    assert f'href="{reverse("notification_preferences")}"' in html


@pytest.mark.parametrize(
    "data,words",
    [
        ({"email:risk.review_due": "sometimes", "email:finding.decided": "portal"}, "Choose"),
        ({"email:no.such_kind": "portal", "email:finding.decided": "portal"}, "no.such_kind"),
    ],
)
def test_a_bad_choice_is_refused_with_400_and_nothing_is_saved(client, ml_engineer, data, words):
    from core.models import NotificationPreference

    response = logged_in(client, ml_engineer).post(reverse("notification_preferences"), data)
    assert response.status_code == 400 and words in response.content.decode()
    assert 'data-testid="portal-finding.decided" checked' in response.content.decode()  # kept as entered
    assert not NotificationPreference.objects.exists()


def test_every_kind_the_portal_sends_is_named_in_words_on_the_preferences_page():
    import re
    from pathlib import Path

    from core.notifications import NOTIFICATION_KINDS

    root = Path(__file__).resolve().parents[2]
    sent = set()
    for path in [*root.glob("audits/**/*.py"), *root.glob("governance/**/*.py")]:
        text = path.read_text()
        if "notify.send(" in text or "notification_send(" in text:
            sent |= set(re.findall(r'kind="([a-z_]+\.[a-z_]+)"', text))
            sent |= set(re.findall(r'verb="(certificate\.[a-z_]+)"', text))
    assert sent and sent <= set(NOTIFICATION_KINDS), sorted(sent - set(NOTIFICATION_KINDS))


def test_every_member_has_their_own_preferences_page(permission_matrix):
    assert permission_matrix(lambda c: c.get(reverse("notification_preferences"))) == {
        "anonymous": 302,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,
    }


# --- acknowledging several at once --------------------------------------------------------------


def test_the_ticked_notifications_are_marked_read_and_the_others_stay_unread(client, ml_engineer):
    first, second, third = (notify(ml_engineer)[0] for _ in range(3))
    response = logged_in(client, ml_engineer).post(
        reverse("notification_mark_read"), {"notifications": [first.pk, third.pk], "page": "1"}
    )
    assert (response.status_code, response["Location"]) == (302, reverse("notification_list") + "?page=1")
    assert list(Notification.objects.filter(read_at__isnull=True)) == [second]


def test_ticking_someone_elses_notification_changes_nothing_of_theirs(client, ml_engineer, auditor, outsider):
    [colleague] = notify(auditor)
    [stranger] = notification_send(recipients=[outsider], kind="risk.review_due", title="Theirs", email=False)
    logged_in(client, ml_engineer).post(
        reverse("notification_mark_read"), {"notifications": [colleague.pk, stranger.pk]}
    )
    assert unread_count(user=auditor) == 1 and unread_count(user=outsider) == 1


@pytest.mark.parametrize("data", [{}, {"notifications": ["seven"]}])
def test_ticking_nothing_or_nonsense_answers_400_with_the_list(client, ml_engineer, data):
    notify(ml_engineer)
    response = logged_in(client, ml_engineer).post(reverse("notification_mark_read"), data)
    assert response.status_code == 400 and 'data-testid="notifications-error"' in response.content.decode()
    assert 'data-testid="notification-list"' in response.content.decode()
    assert unread_count(user=ml_engineer) == 1


def test_each_member_acknowledges_only_their_own_notifications(permission_matrix, personas):
    for name in ("ml_engineer", "auditor", "compliance_officer", "org_admin", "outsider"):
        notify(personas[name])
    ids = list(Notification.objects.values_list("pk", flat=True))
    result = permission_matrix(lambda c: c.post(reverse("notification_mark_read"), {"notifications": ids}))
    assert result == {
        "anonymous": 302,
        "ml_engineer": 302,
        "auditor": 302,
        "compliance_officer": 302,
        "org_admin": 302,
        "outsider": 302,
    }
    assert Notification.objects.filter(read_at__isnull=True).count() == 0  # each read their own, one each
