"""OpenAPI schema: the token scheme, and the error answers of every operation, documented in one
place (`PortalAutoSchema`) rather than per view."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from core.api.serializers import ErrorSerializer

# What each error status means; every one answers in the Error shape {"message", "code", "extra"}.
ERROR_DESCRIPTIONS = {
    "400": "Invalid input (a field, a filter, a control character in any text: code `invalid_characters`, "
    "`extra.field` names it), or a business rule refused it.",
    "401": "No valid API token (send `Authorization: Token <token>`).",
    "403": "Your role, or a rule such as separation of duties, does not allow this.",
    "404": "No such object in your organisation (another organisation's objects are not found either), "
    "or no such page of results.",
    "409": "The object's state does not allow this, or someone changed it meanwhile.",
}


class PortalTokenScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Token agp_...` in the OpenAPI schema."""

    target_class = "core.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token from the "API tokens" page, sent as `Token <token>`.',
        }


class PortalAutoSchema(AutoSchema):
    """Adds to each operation the errors it can answer, derived from what it takes:

    - 400 when it takes a body, query or path parameters (the serializer, the filters, the input
      guard's control characters, in a path segment too) or changes state (ValidationFailed);
    - 401 and 403 when it needs authentication (no token; a role or rule that refuses);
    - 404 when its path names an object (`{id}`) or it is paginated (`page` past the end);
    - 409 when it changes state (POST/PUT/PATCH/DELETE): services refuse moves the object's state
      does not allow, and stale `expected_version`s.

    Any 4xx a view documents itself (413, 429, a more precise 404) keeps its description and gets
    the Error body too. Views therefore document only their success answers."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_codes(operation):
            responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code]})
        error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
        for code, response in responses.items():
            if code.startswith("4") and "content" not in response:
                response["content"] = error
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation) -> list[str]:
        parameters = operation.get("parameters", [])
        query = [p for p in parameters if p.get("in") == "query"]
        writes = self.method in ("POST", "PUT", "PATCH", "DELETE")
        codes = []
        in_path = any(p.get("in") == "path" for p in parameters)
        if "requestBody" in operation or query or in_path or writes:
            codes.append("400")
        if operation.get("security"):
            codes += ["401", "403"]
        if in_path or any(p["name"] == "page" for p in query):
            codes.append("404")
        if writes and operation.get("security"):
            codes.append("409")
        return codes
