"""Service errors (core.errors) translated to HTML answers, in one place. The API's translation is
core.api.errors; this is the same table for pages:

| error            | raised out of a view (middleware) | inside a form view (`attempt_on_form`)          |
|------------------|-----------------------------------|-------------------------------------------------|
| NotAllowed       | 403 page with the reason          | the form again, reason on it, HTTP 403           |
| NotFound         | 404 page (says nothing more)      | 404 page: another organisation's object or none  |
| Conflict         | 409 page with the reason          | the form again, reason on it, HTTP 409           |
| ValidationFailed | 400 page with the reason          | the form again, reason next to its field, 400    |
| TooLarge         | 413 (the 400 page, its reason)    | the form again, reason on it, HTTP 413           |

Form views re-render the form (nothing typed is lost, e.g. after a wrong password at sign-off)
but always with the error's own status, never 200. Action buttons without a page of their own
(`attempt_with_message`: a status change, a delete) keep post/redirect/get: the reason becomes a
message on the page they return to, except NotAllowed and NotFound, which are the 403/404 pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import render

from core.errors import NotAllowed, NotFound, PortalError

TEMPLATES = {403: "403.html", 404: "404.html", 409: "409.html"}


@dataclass(frozen=True)
class Attempt:
    """The outcome of a service call made by a view: its value, or the error that refused it."""

    value: Any = None
    error: PortalError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> int:
        return self.error.status_code if self.error else 200


def error_page(request, error: PortalError) -> HttpResponse:
    status = error.status_code
    # A NotFound says no more than "not found": it must read the same for another organisation's
    # object as for one that never existed.
    message = "" if isinstance(error, NotFound) else error.message
    return render(request, TEMPLATES.get(status, "400.html"), {"message": message, "code": error.code}, status=status)


def _field_for(form, error: PortalError, aliases: Mapping[str, tuple[str, ...]] | None) -> str | None:
    field = error.extra.get("field") if isinstance(error.extra, dict) else None
    if not field:
        return None
    candidates = (aliases or {}).get(field, (field,))
    return next((name for name in candidates if name in form.fields), None)


def attempt_on_form(
    form, action: Callable[[], Any], *, aliases: Mapping[str, tuple[str, ...]] | None = None
) -> Attempt:
    """Run a service call for a form view. A refusal lands on the form (next to the field the
    service names, through `aliases` where the form calls it differently); render the form again
    with `status=attempt.status`. NotFound is not the form's business: it propagates (404)."""
    try:
        return Attempt(value=action())
    except NotFound:
        raise
    except PortalError as exc:
        form.add_error(_field_for(form, exc, aliases), exc.message)
        return Attempt(error=exc)


def attempt_with_message(request, action: Callable[[], Any], success: str = "") -> Attempt:
    """Run a service call for an action that redirects back (post/redirect/get): the outcome is a
    message there. NotAllowed and NotFound propagate, so the middleware answers 403 / 404."""
    try:
        value = action()
    except (NotAllowed, NotFound):
        raise
    except PortalError as exc:
        messages.error(request, exc.message)
        return Attempt(error=exc)
    if success:
        messages.success(request, success)
    return Attempt(value=value)


class PortalErrorMiddleware:
    """A PortalError that leaves an HTML view becomes its error page (403/404/409/400/413) instead
    of a 500. The API answers in its own shape (core.api.errors) and never reaches this."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, PortalError) or request.path_info.startswith("/api/"):
            return None
        return error_page(request, exception)


class DebugNotFoundMiddleware:
    """With DEBUG on (`make run`) Django answers a 404 with its technical page, which lists every
    URL pattern; a person who opens a wrong address gets the portal's own 404 page instead, as in
    production (there Django's handler renders templates/404.html itself). The API keeps Django's
    answer. Listed after SecurityHeadersMiddleware, so the page gets the same headers as any page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No resolver match: no URL pattern matched, and the 404 is Django's technical page.
        if response.status_code == 404 and request.resolver_match is None and self._applies(request):
            return self._page(request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404) and self._applies(request):
            return self._page(request)
        return None

    @staticmethod
    def _applies(request) -> bool:
        return settings.DEBUG and not request.path_info.startswith("/api/")

    @staticmethod
    def _page(request) -> HttpResponse:
        return render(request, "404.html", status=404)
