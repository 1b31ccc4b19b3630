"""Logins, failed logins and lock-outs are audit events."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from core import context
from core.selectors import PREVIOUS_LOGIN_KEY, login_latest
from core.trail import audit_record


@receiver(user_logged_in)
def _login(sender, request, user, **kwargs):
    # Only inside a request: the middleware's context ends with the request. Outside one (a shell,
    # a test's force_login) updating would leave this user as the actor of everything that follows.
    if context.current().request_id:
        context.update(actor_id=user.pk)
    # Read before this log-in is recorded: by now Django has already set last_login to this one.
    previous = login_latest(user=user)
    if request is not None and hasattr(request, "session"):
        request.session[PREVIOUS_LOGIN_KEY] = previous.isoformat() if previous else ""
    audit_record(verb="auth.login", actor=user, target=user)


@receiver(user_logged_out)
def _logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(verb="auth.logout", actor=user, target=user)


def _known_user(username: str):
    if not username:
        return None
    return get_user_model().objects.filter(username__iexact=username).first()


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")
    user = _known_user(username)
    # The event goes to the user's organisation when the name exists (its admins should see
    # attacks on their accounts); unknown names go to the platform chain.
    audit_record(
        verb="auth.login_failed",
        actor=None,
        target=user,
        organisation=getattr(user, "organisation", None),
        object_type="core.user" if user else "",
        object_repr=username[:150],
        after={"username": username[:150]},
    )


@receiver(user_locked_out)
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    user = _known_user(username or "")
    audit_record(
        verb="auth.locked_out",
        actor=None,
        target=user,
        organisation=getattr(user, "organisation", None),
        object_type="core.user" if user else "",
        object_repr=(username or "")[:150],
        after={"username": (username or "")[:150], "ip": ip_address},
    )
