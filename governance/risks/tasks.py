"""Periodic work of the risk register. Registered with Celery when `governance.risks` is imported
(the package imports this module), under an explicit name."""

from __future__ import annotations

from celery import shared_task

from core.tasks import AuditedTask


def _send_reminder(risk) -> None:
    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse

    if not risk.owner.email:
        return
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("governance:risk_detail", args=[risk.pk])
    send_mail(subject=f"Risk review due {risk.next_review_date:%d %b %Y}: {risk.reference} {risk.title}"[:200],
              message=(f"Hello {risk.owner.display_name},\n\nThe risk {risk.reference} “{risk.title}”, which you own, "
                       f"is due for review on {risk.next_review_date:%d %B %Y}.\n\nCurrent score: {risk.current_score}; "
                       f"status: {risk.get_status_display().lower()}.\n\nReview it here: {url}\n"),
              from_email=None, recipient_list=[risk.owner.email])


@shared_task(name="governance.risk_review_reminders", base=AuditedTask, acks_late=True)
def risk_review_reminders() -> dict:
    """E-mail the owners of risks whose review falls due within their organisation's lead time.
    Idempotent (each review date is reminded once and the row records it), hence acks_late."""
    from governance.risks.services import risk_review_reminders as remind

    return {"reminded": remind(send=_send_reminder)}
