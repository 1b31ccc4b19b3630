"""Home-page numbers contributed by the domain apps.

`core` must not import the domain apps (dependency direction core <- models_registry <- governance
<- audits), so each app registers a provider in its AppConfig.ready(); the home view asks them all.
"""

from __future__ import annotations

from collections.abc import Callable

_PROVIDERS: dict[str, tuple[str, Callable]] = {}


def register(name: str, permission: str, provider: Callable) -> None:
    """`provider(user=...)` returns a dict rendered by the template under `stats.<name>`."""
    _PROVIDERS[name] = (permission, provider)


def collect(*, user) -> dict:
    from core.permissions import has_permission

    return {
        name: provider(user=user)
        for name, (permission, provider) in _PROVIDERS.items()
        if has_permission(user, permission)
    }
