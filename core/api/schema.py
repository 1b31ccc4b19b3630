from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PortalTokenScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Token agp_...` in the OpenAPI schema."""

    target_class = "core.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": 'An API token from the "API tokens" page, sent as `Token <token>`.'}
