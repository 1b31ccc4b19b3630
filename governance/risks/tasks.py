"""Periodic work of the risk register. Registered with Celery when `governance.risks` is imported
(the package imports this module), under an explicit name."""

from __future__ import annotations

from celery import shared_task

from core.tasks import AuditedTask


def _send_reminder(risk) -> None:
    """Tell the owner in the portal and by e-mail. The reminder service calls this inside the
    transaction that locks the risk and stamps `review_reminded_for`, and its contract is that the
    reminder has gone when this returns, so the e-mail is sent here rather than on commit."""
    from django.urls import reverse

    from core.notifications import notification_email, notification_send

    notifications = notification_send(
        recipients=[risk.owner],
        organisation=risk.organisation_id,
        kind="risk.review_due",
        email=False,
        title=f"Risk review due {risk.next_review_date:%d %b %Y}: {risk.reference} {risk.title}"[:200],
        body=(
            f"The risk {risk.reference} “{risk.title}”, which you own, is due for review on "
            f"{risk.next_review_date:%d %B %Y}.\n\nCurrent score: {risk.current_score}; "
            f"status: {risk.get_status_display().lower()}."
        ),
        url=reverse("governance:risk_detail", args=[risk.pk]),
    )
    notification_email(notification_ids=[n.pk for n in notifications])


@shared_task(name="governance.risk_review_reminders", base=AuditedTask, acks_late=True)
def risk_review_reminders() -> dict:
    """Remind (in the portal and by e-mail) the owners of risks whose review falls due within their
    organisation's lead time. Idempotent (each review date is reminded once and the row records
    it), hence acks_late. Risks whose reminder failed are listed under "errors" (and logged)."""
    from governance.risks.services import risk_review_reminders as remind

    errors: list[dict] = []
    reminded = remind(send=_send_reminder, errors=errors)
    return {"reminded": reminded, **({"errors": errors} if errors else {})}
