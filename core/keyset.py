"""Keyset ("seek") pagination for long lists ordered by one unique, indexed integer key.

A page is "the `size` rows before key K" (older) or "after key K" (newer), read through the index
with `WHERE key < K ORDER BY key DESC LIMIT size + 1`: the cost of a page does not grow with how
deep it is, and no page counts the whole table (no COUNT(*), no OFFSET). The extra row tells
whether there is a further page; one `EXISTS` probe tells whether there is one the other way.
Rows appended while someone pages do not shift the pages they are reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.errors import ValidationFailed


@dataclass(frozen=True)
class KeysetPage:
    """Rows newest first. `older` / `newer`: the `before` / `after` cursor of the next page each
    way, or None at that end. `is_newest`: this is the first page (nothing newer)."""

    rows: list = field(default_factory=list)
    older: int | None = None
    newer: int | None = None

    @property
    def is_newest(self) -> bool:
        return self.newer is None

    @property
    def has_other_pages(self) -> bool:
        return self.older is not None or self.newer is not None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def cursor_value(params: Mapping, name: str) -> int | None:
    """A `before`/`after` cursor from the query string: absent or blank is None, a positive whole
    number is itself, anything else is a clear 400."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise ValidationFailed(f"'{name}' must be a positive whole number (an event's sequence number).")
    return int(raw)


def keyset_page(queryset, *, key: str, size: int, before: int | None = None, after: int | None = None) -> KeysetPage:
    """The page of `queryset` (descending by `key`) older than `before`, or newer than `after`, or
    the newest page. A newer page that reaches the newest row is the newest page itself, so the
    first page always shows `size` rows."""
    if after is not None:
        ascending = list(queryset.filter(**{f"{key}__gt": after}).order_by(key)[: size + 1])
        if len(ascending) > size:
            rows = ascending[:size][::-1]
            older = (
                getattr(rows[-1], key) if queryset.filter(**{f"{key}__lt": getattr(rows[-1], key)}).exists() else None
            )
            return KeysetPage(rows=rows, older=older, newer=getattr(rows[0], key))
        before = None  # reached the newest rows: show the newest page
    descending = queryset.order_by(f"-{key}")
    if before is not None:
        descending = descending.filter(**{f"{key}__lt": before})
    rows = list(descending[: size + 1])
    older = getattr(rows[size - 1], key) if len(rows) > size else None
    rows = rows[:size]
    newer = None
    if before is not None:
        boundary = getattr(rows[0], key) if rows else max(before - 1, 0)
        if queryset.filter(**{f"{key}__gt": boundary}).exists():
            newer = boundary
    return KeysetPage(rows=rows, older=older, newer=newer)
