"""Writes for notifications: in-portal messages to people, optionally also e-mailed.

A generic facility of the shared kernel: it knows nothing of risks, reviews or certificates. The
domain services decide who hears of what and call `notification_send`.

Not audited, on purpose. A notification is a consequence of a state change, and the service that
made that change already records it in the audit trail (with actor, target and reason); recording
"we told chloe" again would double every event without adding evidence. Reading a notification
changes nothing anyone has to account for. That is why these functions live here and not in
`core.services`, whose every public function must reach the audit-trail writer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.models import Notification, Organisation, User

logger = logging.getLogger(__name__)


def is_local_path(url: str) -> bool:
    """True for a path on this site ("/risks/3/"); false for anything a browser would read as
    another site ("https://x", "//x", "/\\x") or as a script ("javascript:")."""
    return url.startswith("/") and not url.startswith(("//", "/\\")) and not any(c in url for c in "\r\n\t")


def _recipients_of(
    recipients: Iterable[User], organisation: Organisation | int | None
) -> tuple[int | None, list[User]]:
    people = {user.pk: user for user in recipients if user is not None and user.pk is not None}
    organisation_id = getattr(organisation, "pk", organisation)
    if organisation_id is None:
        organisations = {user.organisation_id for user in people.values() if user.organisation_id}
        if len(organisations) > 1:
            raise ValidationFailed(
                "These recipients belong to different organisations; say which one the notification is about.",
                code="ambiguous_organisation",
            )
        organisation_id = organisations.pop() if organisations else None
    strangers = sorted(u.username for u in people.values() if u.organisation_id != organisation_id)
    if strangers:
        # A caller passing someone from elsewhere is a bug or stale data; never leak across tenants.
        logger.warning(
            "notification for organisation %s skipped recipients outside it: %s", organisation_id, ", ".join(strangers)
        )
    eligible = [
        u
        for u in people.values()
        if organisation_id is not None and u.organisation_id == organisation_id and u.is_active
    ]
    return organisation_id, sorted(eligible, key=lambda u: u.pk)


def notification_send(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    organisation: Organisation | int | None = None,
    email: bool = True,
) -> list[Notification]:
    """Notify each distinct, active recipient of `organisation` (by default the recipients' own, which
    must then be one). Recipients of another organisation, without one, or inactive are skipped, never
    notified; the rows created are returned (none when nobody is left).

    `url` is a path inside the portal. With `email`, each recipient with an address also gets an
    e-mail with the absolute link, sent once the caller's transaction commits (so nothing leaves
    for a change that is rolled back); a failing mail server is logged, never raised.
    """
    kind, title = (kind or "").strip(), " ".join((title or "").split())
    if not kind or not title:
        raise ValidationFailed("A notification needs a kind and a title.", code="invalid_notification")
    if url and not is_local_path(url):
        raise ValidationFailed(f"A notification links to a path inside the portal, not {url!r}.", code="invalid_url")
    organisation_id, people = _recipients_of(recipients, organisation)
    if not people:
        return []
    rows = [
        Notification(
            organisation_id=organisation_id, recipient=user, kind=kind[:64], title=title[:200], body=body, url=url
        )
        for user in people
    ]
    # Its own atomic block so that, called outside a transaction, the e-mail still waits for the rows.
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows)
        if email and created:
            ids = [row.pk for row in created]
            transaction.on_commit(lambda: notification_email(notification_ids=ids))
    return created


def notification_email(*, notification_ids: Iterable[int]) -> int:
    """E-mail the given notifications that were not e-mailed yet, one message per recipient; returns
    how many left. A failure is logged and leaves `emailed_at` empty, so the caller's action, which
    has already happened, is never undone or reported as failed because of the mail server."""
    pending = (
        Notification.objects.filter(pk__in=list(notification_ids), emailed_at__isnull=True)
        .exclude(recipient__email="")
        .select_related("recipient")
    )
    sent = 0
    for notification in pending:
        try:
            send_mail(
                subject=notification.title,
                message=_email_text(notification),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[notification.recipient.email],
            )
        except Exception:  # noqa: BLE001 — side-effect boundary: the change is committed already
            logger.exception("e-mail for notification %s to %s failed", notification.pk, notification.recipient.email)
            continue
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def _email_text(notification: Notification) -> str:
    parts = [f"Hello {notification.recipient.display_name},", notification.body.strip() or notification.title]
    if notification.url:
        parts.append(f"Open it in the portal: {settings.PORTAL_BASE_URL.rstrip('/')}{notification.url}")
    return "\n\n".join(part for part in parts if part) + "\n"


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own unread notifications read (all of them when `notification_ids` is None);
    ids of other people's notifications are ignored. Returns how many changed."""
    unread = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    # One conditional UPDATE: marking twice (double click, two tabs) changes nothing the second time.
    return unread.update(read_at=timezone.now())
