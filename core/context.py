"""The audit context: who is acting, in which request, from which address.

Set by the request middleware for web requests and restored by `core.tasks.AuditedTask` inside
Celery tasks, so that every audit event names the person behind it, even when a worker writes it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None = None
    request_id: str = ""
    ip: str | None = None
    origin: str = "system"  # "web", "api", "task", "command" or "system"

    def as_headers(self) -> dict:
        return asdict(self)

    @classmethod
    def from_headers(cls, data: dict | None) -> AuditContext:
        if not data:
            return cls(origin="task", request_id=new_request_id())
        known = {k: data.get(k) for k in ("actor_id", "request_id", "ip")}
        return cls(
            actor_id=known["actor_id"],
            request_id=known["request_id"] or new_request_id(),
            ip=known["ip"],
            origin="task",
        )


_current: ContextVar[AuditContext] = ContextVar("audit_context", default=AuditContext())  # noqa: B039 - frozen dataclass, immutable


def new_request_id() -> str:
    return uuid.uuid4().hex


def current() -> AuditContext:
    return _current.get()


def update(**changes) -> None:
    _current.set(replace(_current.get(), **changes))


@contextlib.contextmanager
def use(context: AuditContext) -> Iterator[AuditContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
