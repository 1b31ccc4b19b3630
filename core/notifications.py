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
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.models import Notification, NotificationPreference, Organisation, User

logger = logging.getLogger(__name__)
EMAIL_TASK = "core.notification_email"
DIGEST_LINES_IN_BODY = 50

# Every kind the portal sends, in words, for the preferences page. A kind missing here still works
# (it is listed by its code on the page once the person has received one).
NOTIFICATION_KINDS: dict[str, str] = {
    "submission.submitted": "A model version is submitted for certification",
    "submission.assigned": "You are assigned to review a submission",
    "submission.changes_requested": "A reviewer requests changes to your submission",
    "submission.signed": "A submission is signed off",
    "finding.decided": "Reviewers decide findings of your submission (one digest per batch)",
    "finding.commented": "Someone comments on a finding you follow",
    "condition.assigned": "A condition of a certificate is given to you",
    "condition.due": "A condition of a certificate falls due",
    "certificate.issued": "A certificate is issued",
    "certificate.suspended": "A certificate is suspended",
    "certificate.reinstated": "A certificate is reinstated",
    "certificate.revoked": "A certificate is revoked",
    "certificate.expired": "A certificate expires",
    "risk.review_due": "A risk you own is due for review",
}


def kind_label(kind: str) -> str:
    return NOTIFICATION_KINDS.get(kind) or kind.replace(".", ": ").replace("_", " ").capitalize()


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
        organisation_id = organisations.pop() if organisations else None  # type: ignore[assignment]
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
    return organisation_id, sorted(eligible, key=lambda u: u.pk)  # type: ignore[return-value]


def notification_send(
    *,
    recipients: Iterable[User],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    organisation: Organisation | int | None = None,
    email: bool = True,
    digest_key: str = "",
    items: Sequence[Mapping[str, str]] = (),
) -> list[Notification]:
    """Notify each distinct, active recipient of `organisation` (by default the recipients' own, which
    must then be one). Recipients of another organisation, without one, or inactive are skipped, never
    notified; the rows created or updated are returned (none when nobody is left).

    `url` is a path inside the portal. With `email`, each recipient with an address who has not chosen
    "portal only" for this kind also gets an e-mail with the absolute link, sent by a worker once the
    caller's transaction commits (so nothing leaves for a change that is rolled back).

    A digest: with `digest_key` (the object and batch, e.g. "submission:5:decided-by:3") and `items`
    ({"text": a line, "tally": the group it counts under}), `title` may hold {count}, {s} and {tallies}
    ("Mia decided {count} finding{s} on S-5 ({tallies})"). A recipient's unread, not yet e-mailed digest
    of the same kind and key from the last NOTIFICATION_DIGEST_SECONDS takes the new items instead of a
    new row appearing, and its e-mail waits until that window closes: one message, one e-mail.
    """
    kind = (kind or "").strip()
    if not kind or not " ".join((title or "").split()):
        raise ValidationFailed("A notification needs a kind and a title.", code="invalid_notification")
    if url and not is_local_path(url):
        raise ValidationFailed(f"A notification links to a path inside the portal, not {url!r}.", code="invalid_url")
    if digest_key and not items:
        raise ValidationFailed("A digest notification needs at least one item.", code="invalid_notification")
    organisation_id, people = _recipients_of(recipients, organisation)
    if not people:
        return []
    clean_items = [{"text": str(i.get("text", ""))[:300], "tally": str(i.get("tally", ""))[:64]} for i in items]
    # Its own atomic block so that, called outside a transaction, the e-mail still waits for the rows.
    with transaction.atomic():
        rows = [
            _deliver(user, organisation_id, kind[:64], title, body, url, digest_key[:200], clean_items)
            for user in people
        ]
        if email:
            ids = [row.pk for row in rows if row.emailed_at is None]
            delay = settings.NOTIFICATION_DIGEST_SECONDS if digest_key else 0
            transaction.on_commit(lambda: notification_email_enqueue(notification_ids=ids, countdown=delay))
    return rows


def _deliver(user, organisation_id, kind, title, body, url, digest_key, items) -> Notification:
    if not digest_key:
        return Notification.objects.create(
            organisation_id=organisation_id, recipient=user, kind=kind, title=_one_line(title), body=body, url=url
        )
    since = timezone.now() - timedelta(seconds=settings.NOTIFICATION_DIGEST_SECONDS)
    # Locked: two decisions committing at once must both land in the digest, not overwrite each other.
    open_digest = (
        Notification.objects.select_for_update()
        .filter(
            recipient=user,
            kind=kind,
            digest_key=digest_key,
            read_at__isnull=True,
            emailed_at__isnull=True,
            created_at__gte=since,
        )
        .order_by("-created_at")
        .first()
    )
    row = open_digest or Notification(
        organisation_id=organisation_id, recipient=user, kind=kind, url=url, digest_key=digest_key
    )
    row.digest_title = title[:200]
    row.digest_items = [*row.digest_items, *items]
    row.title, row.body = _digest_text(row.digest_title, row.digest_items, body)
    row.save()
    return row


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def _digest_text(template: str, items: list[dict], body: str) -> tuple[str, str]:
    tallies = Counter(item["tally"] for item in items if item["tally"])
    count = len(items)
    try:
        title = template.format(
            count=count, s="" if count == 1 else "s", tallies=", ".join(f"{n} {t}" for t, n in tallies.items())
        )
    except (KeyError, IndexError, ValueError):  # a title with other braces is shown as given
        title = template
    lines = [f"• {item['text']}" for item in items[:DIGEST_LINES_IN_BODY]]
    if count > DIGEST_LINES_IN_BODY:
        lines.append(f"… and {count - DIGEST_LINES_IN_BODY} more.")
    return _one_line(title.replace(" ()", "")), "\n".join(part for part in (body.strip(), "\n".join(lines)) if part)


def notification_email_enqueue(*, notification_ids: list[int], countdown: int = 0) -> None:
    """Hand the e-mails to a worker (which retries a mail server that is away). When the broker does
    not take the message, send them here instead: late is better than never."""
    if not notification_ids:
        return
    from core.enqueue import PUBLISH_RETRY_POLICY, task_enqueue

    try:
        task_enqueue(
            EMAIL_TASK,
            kwargs={"notification_ids": notification_ids},
            countdown=countdown,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )
    except Exception as exc:  # noqa: BLE001 — the publish boundary: the change is committed already
        logger.warning("notification e-mails could not be queued (%s: %s); sending them now", type(exc).__name__, exc)
        notification_email(notification_ids=notification_ids)


def email_wanted(*, user: User, kind: str) -> bool:
    """Whether `user` wants `kind` by e-mail too (yes unless they chose "portal only")."""
    choice = NotificationPreference.objects.filter(user=user, kind=kind).values_list("email", flat=True).first()
    return True if choice is None else choice


def notification_email(*, notification_ids: Iterable[int], raise_errors: bool = False) -> int:
    """E-mail the given notifications that were not e-mailed yet, one message per notification (a
    digest is one message), to recipients who did not choose "portal only" for the kind; returns how
    many left. A failure is logged and leaves `emailed_at` empty, so the caller's action, which has
    already happened, is never undone or reported as failed because of the mail server; with
    `raise_errors` (the worker, which retries) the first failure is raised after the others are tried."""
    pending = (
        Notification.objects.filter(pk__in=list(notification_ids), emailed_at__isnull=True)
        .exclude(recipient__email="")
        .select_related("recipient")
    )
    opted_out = set(
        NotificationPreference.objects.filter(user__in={n.recipient_id for n in pending}, email=False).values_list(
            "user_id", "kind"
        )
    )
    sent, failure = 0, None
    for notification in pending:
        if (notification.recipient_id, notification.kind) in opted_out:
            continue
        with transaction.atomic():
            # Locked and re-read: a digest may have taken another item since the list was read, and
            # a re-delivered task must not send the same e-mail twice.
            notification = Notification.objects.select_for_update().select_related("recipient").get(pk=notification.pk)
            if notification.emailed_at is not None:
                continue
            try:
                send_mail(
                    subject=notification.title,
                    message=_email_text(notification),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[notification.recipient.email],
                )
            except Exception as exc:  # noqa: BLE001 — side-effect boundary: the change is committed already
                logger.exception(
                    "e-mail for notification %s to %s failed", notification.pk, notification.recipient.email
                )
                failure = failure or exc
                continue
            Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    if failure is not None and raise_errors:
        raise failure
    return sent


def _email_text(notification: Notification) -> str:
    parts = [f"Hello {notification.recipient.display_name},", notification.body.strip() or notification.title]
    if notification.url:
        parts.append(f"Open it in the portal: {str(settings.PORTAL_BASE_URL).rstrip('/')}{notification.url}")
    return "\n\n".join(part for part in parts if part) + "\n"


def notification_mark_read(*, user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own unread notifications read (all of them when `notification_ids` is None);
    ids of other people's notifications are ignored. Returns how many changed."""
    unread = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    # One conditional UPDATE: marking twice (double click, two tabs) changes nothing the second time.
    return unread.update(read_at=timezone.now())


def notification_preferences(*, user: User) -> list[dict]:
    """Each kind the person may receive (every known kind, plus any other they have received) with
    their choice: [{"kind", "label", "email"}], in the order of NOTIFICATION_KINDS."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    received = Notification.objects.filter(recipient=user).values_list("kind", flat=True).distinct()
    kinds = list(NOTIFICATION_KINDS) + sorted(set(received) - set(NOTIFICATION_KINDS))
    return [{"kind": k, "label": kind_label(k), "email": chosen.get(k, True)} for k in kinds]


def notification_preferences_set(*, user: User, email_by_kind: Mapping[str, bool]) -> int:
    """Record the person's choice per kind (True: portal and e-mail; False: portal only); a kind the
    portal does not send is refused. Returns how many choices changed."""
    known = {p["kind"] for p in notification_preferences(user=user)}
    unknown = sorted(set(email_by_kind) - known)
    if unknown:
        raise ValidationFailed(
            f"There is no kind of notification called {', '.join(unknown)}.",
            code="unknown_kind",
            extra={"kinds": unknown},
        )
    current = {p["kind"]: p["email"] for p in notification_preferences(user=user)}
    changed = 0
    with transaction.atomic():
        for kind, wanted in email_by_kind.items():
            if current.get(kind) != bool(wanted):
                changed += 1
            NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": bool(wanted)})
    return changed
