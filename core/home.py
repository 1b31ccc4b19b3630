"""Home-page numbers contributed by the domain apps.

`core` must not import the domain apps (dependency direction core <- models_registry <- governance
<- audits), so each app registers a provider in its AppConfig.ready(); the home view asks them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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


# ---- Work queues: what waits for *this person* -------------------------------------------------
# Each wing registers the queues of the work it owns; the home page shows, for the signed-in user,
# every queue their role is responsible for (an empty one says so: "nothing waits" is an answer).

QUEUE_ITEMS = 5  # rows shown per queue on the home page; the rest behind "see all"


@dataclass(frozen=True)
class QueueItem:
    label: str
    url: str
    detail: str = ""
    tone: str = ""  # "bad" (overdue, failed), "warn" (due soon) or "" (plain)
    # An action done from the home page itself: {"url": POST target, "choices": [(value, label)],
    # "field": form field name, "button": label}. The target view checks its own permission.
    action: dict | None = None


@dataclass(frozen=True)
class Queue:
    key: str
    title: str
    items: list[QueueItem] = field(default_factory=list)
    total: int = 0
    more_url: str = ""
    empty: str = "Nothing waits for you here."
    hint: str = ""


_QUEUES: list[tuple[str, str, Callable]] = []


def register_queue(name: str, permission: str, provider: Callable) -> None:
    """`provider(user=...)` returns a Queue (or None when the queue does not apply to this user)."""
    _QUEUES[:] = [entry for entry in _QUEUES if entry[0] != name] + [(name, permission, provider)]


def collect_queues(*, user) -> list[Queue]:
    from core.permissions import has_permission

    queues = []
    for _name, permission, provider in _QUEUES:
        if has_permission(user, permission):
            queue = provider(user=user)
            if queue is not None:
                queues.append(queue)
    # What has work in it first (in registration order), then the empty ones.
    return sorted(queues, key=lambda queue: queue.total == 0)
