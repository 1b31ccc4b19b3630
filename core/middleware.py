"""Request context for the audit trail: a request id, the client address and the acting user."""

from __future__ import annotations

import re

from core import context
from core.client_ip import client_ip

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Give every request an id (or keep a well-formed X-Request-ID from a proxy) and open an audit
    context for it; the id is echoed in the response so users can quote it to support."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else context.new_request_id()
        request.request_id = request_id
        origin = "api" if request.path.startswith("/api/") else "web"
        with context.use(context.AuditContext(request_id=request_id, ip=client_ip(request), origin=origin)):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class AuditActorMiddleware:
    """After session authentication, record the user in the audit context. API token users are
    added by `core.api.auth` once DRF has authenticated them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            context.update(actor_id=user.pk)
        return self.get_response(request)


# The portal serves every script, style and font itself (plotly and htmx from static/vendor, no
# CDN) and has no inline script or event handler, so scripts are 'self' only -- no nonce, no
# 'unsafe-inline', no 'unsafe-eval' (plotly's bundle needs none for the charts the portal draws).
# Styles allow 'unsafe-inline': plotly and htmx insert <style> elements and style attributes, and
# the templates use style attributes; injected styles cannot run code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Nothing in the portal needs a device or sensor; deny them to every frame.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "browsing-topics",
    )
)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every answer, and Cache-Control: no-store
    on what a signed-in user sees and on every API answer, so no shared or browser cache keeps an
    organisation's data after the session ends. A view that sets its own CSP keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils.cache import add_never_cache_headers

        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response
