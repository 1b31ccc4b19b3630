"""Every API error has the same shape: {"message": str, "code": str, "extra": dict}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import PortalError


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        text = _first_message(value)
        return text if key in ("non_field_errors", "detail") else f"{key}: {text}"
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, PortalError):
        return Response({"message": exc.message, "code": exc.code, "extra": exc.extra}, status=exc.status_code)
    if isinstance(exc, Http404):
        return Response({"message": "Not found.", "code": "not_found", "extra": {}}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        body = {"message": _first_message(exc.detail), "code": "invalid", "extra": {"fields": exc.detail}}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body = {
            "message": _first_message(response.data.get("detail", response.data))
            if isinstance(response.data, dict)
            else str(response.data),
            "code": codes if isinstance(codes, str) else "error",
            "extra": {},
        }
    response.data = body
    return response
