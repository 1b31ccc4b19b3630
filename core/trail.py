"""The one writer of the audit trail.

Every service that changes state calls `audit_record` inside its own transaction, so an event is
stored if and only if the change it describes is. It lives in `core`, the bottom layer, so every app
writes the trail by depending downward (issue #12 item 17; an import-linter contract keeps it so).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from core import context as audit_context
from core.chain import GENESIS_HASH, compute_hash, normalise_json
from core.models import AuditChainHead, AuditEvent

PLATFORM_CHAIN = "platform"


def chain_for(organisation_id: int | None) -> str:
    return f"org:{organisation_id}" if organisation_id else PLATFORM_CHAIN


def object_type_of(target: Model) -> str:
    return target._meta.label_lower


def audit_record(
    *,
    verb: str,
    target: Model | None = None,
    organisation=None,
    actor=None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEvent:
    """Append one event to the organisation's chain.

    `actor` defaults to the user of the current request or task; `organisation` defaults to the
    target's, then the actor's. Pass `before`/`after` as small JSON-able summaries of what changed.
    """
    ctx = audit_context.current()
    if actor is None and ctx.actor_id:
        from django.contrib.auth import get_user_model

        actor = get_user_model().objects.filter(pk=ctx.actor_id).first()
    if organisation is None:
        organisation = _organisation_of(target) or getattr(actor, "organisation", None)
    if target is not None:
        object_type = object_type or object_type_of(target)
        object_id = object_id or str(target.pk)
        object_repr = object_repr or str(target)[:300]

    fields = {
        "organisation_id": getattr(organisation, "pk", organisation),
        "actor_id": getattr(actor, "pk", None),
        "actor_username": getattr(actor, "username", "") or "",
        "actor_role": getattr(actor, "role", "") or "",
        "verb": verb,
        "object_type": object_type,
        "object_id": str(object_id),
        "object_repr": object_repr[:300],
        "before": normalise_json(before),
        "after": normalise_json(after),
        "reason": reason or "",
        "request_id": ctx.request_id or audit_context.new_request_id(),
        "ip": _normalise_ip(ctx.ip),
        "origin": ctx.origin,
    }
    chain = chain_for(fields["organisation_id"])
    # The head row is locked for the rest of the caller's transaction: appends to one chain are
    # serialised, so two writers can never both take seq N+1 (on SQLite, BEGIN IMMEDIATE does this).
    with transaction.atomic():
        head, _ = AuditChainHead.objects.get_or_create(chain=chain, defaults={"hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
        event = AuditEvent(chain=chain, seq=head.seq + 1, prev_hash=head.hash, timestamp=timezone.now(), **fields)
        event.hash = compute_hash(event.as_record())
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=head.pk).update(seq=event.seq, hash=event.hash)
    return event


def _organisation_of(target: Model | None):
    if target is None:
        return None
    if target._meta.label_lower == "core.organisation":
        return target
    return getattr(target, "organisation", None)


def _normalise_ip(ip: str | None) -> str | None:
    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip).compressed
    except ValueError:
        return None
