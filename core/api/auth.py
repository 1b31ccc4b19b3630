from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication

from core import context


class TokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token agp_...`. Also puts the token's user in the audit context and records
    when the token was last used (at most once a minute, to keep reads cheap)."""

    def authenticate_credentials(self, token):
        user, auth_token = super().authenticate_credentials(token)
        context.update(actor_id=user.pk)
        now = timezone.now()
        if auth_token.last_used_at is None or (now - auth_token.last_used_at).total_seconds() > 60:
            type(auth_token).objects.filter(pk=auth_token.pk).update(last_used_at=now)
        return user, auth_token
