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
