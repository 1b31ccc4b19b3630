"""One error hierarchy for business rules, translated to HTTP once (core.api.errors for the API,
core.views for HTML forms)."""

from __future__ import annotations


class PortalError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}


class ValidationFailed(PortalError):
    code = "invalid"


class NotAllowed(PortalError):
    status_code = 403
    code = "not_allowed"


class NotFound(PortalError):
    status_code = 404
    code = "not_found"


class Conflict(PortalError):
    status_code = 409
    code = "conflict"


class TooLarge(PortalError):
    status_code = 413
    code = "too_large"
