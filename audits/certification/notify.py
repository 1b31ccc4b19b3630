"""Who hears about what. A thin adapter over the portal's notification service (in-portal and
email), so the certification services state only the recipients and the message."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse


def submission_url(submission) -> str:
    try:
        return reverse("certification:submission_detail", args=[submission.pk])
    except NoReverseMatch:  # during start-up checks before URLs load
        return ""


def send(
    *,
    recipients,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    organisation=None,
    digest_key: str = "",
    items=(),
) -> None:
    """`digest_key` and `items` make it a digest (see `core.notifications.notification_send`)."""
    from core.notifications import notification_send

    people = [p for p in recipients if p is not None]
    if people:
        notification_send(
            recipients=people,
            kind=kind,
            title=title,
            body=body,
            url=url,
            organisation=organisation,
            digest_key=digest_key,
            items=items,
        )


def compliance_team(organisation_id: int):
    from core.models import User

    return list(
        User.objects.filter(
            organisation_id=organisation_id, is_active=True, role__in=("compliance_officer", "org_admin")
        )
    )


def escalation_team(organisation_id: int):
    """Who decides escalated findings: the active holders of `finding.escalation_decide`."""
    from core.choices import ROLE_PERMISSIONS
    from core.models import User

    roles = [role for role, permissions in ROLE_PERMISSIONS.items() if "finding.escalation_decide" in permissions]
    return list(User.objects.filter(organisation_id=organisation_id, is_active=True, role__in=roles))


def reviewers(submission, *, exclude=None):
    return [
        a.reviewer
        for a in submission.assignments.filter(active=True).select_related("reviewer")
        if a.reviewer_id != getattr(exclude, "pk", None)
    ]
