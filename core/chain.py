"""The audit trail's hash chain: canonical serialisation, hashing and verification.

Pure Python with no Django import, so the same code verifies the live table and an exported file
(see docs/audit-trail.md and tools/verify_audit_export.py for third parties).

Algorithm (version 1):
  canonical(e) = JSON of the fields in HASHED_FIELDS, keys sorted, separators (",", ":"),
                 UTF-8, ensure_ascii=False; timestamps in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ.
  hash(e)      = hex SHA-256 of canonical(e); `prev_hash` is one of the hashed fields.
  A chain (one per organisation, plus "platform") starts with prev_hash = 64 zeros and seq = 1;
  every event's prev_hash equals the previous event's hash and seq increases by exactly one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "sha256-canonical-json-v1"
GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "chain",
    "seq",
    "prev_hash",
    "timestamp",
    "organisation_id",
    "actor_id",
    "actor_username",
    "actor_role",
    "verb",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "reason",
    "request_id",
    "ip",
    "origin",
)


def format_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_json(value):
    """Round-trip through JSON so the value hashed is exactly the value stored and read back."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def canonical(record: Mapping) -> bytes:
    payload = {field: record.get(field) for field in HASHED_FIELDS}
    if isinstance(payload["timestamp"], datetime):
        payload["timestamp"] = format_timestamp(payload["timestamp"])
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(record: Mapping) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


@dataclass(frozen=True)
class Break:
    chain: str
    seq: int | None
    event_id: int | str | None
    problem: str

    def describe(self) -> str:
        return f"chain {self.chain}: event #{self.seq} (id {self.event_id}): {self.problem}"


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    chains: int
    breaks: list[Break]
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.breaks


@dataclass(frozen=True)
class Anchor:
    """A (seq, hash) of a chain recorded outside the database -- a signed checkpoint, a
    certificate's audit anchor -- that the chain must still contain."""

    chain: str
    seq: int
    hash: str
    source: str


def verify_records(
    records: Iterable[Mapping],
    heads: Mapping[str, tuple[int, str]] | None = None,
    *,
    require_genesis: bool = True,
    after: Mapping[str, tuple[int, str]] | None = None,
) -> VerifyResult:
    """Check rows given in storage order (by chain, then seq), and report every break.

    `heads` maps a chain to the (seq, hash) the portal recorded as its last event; it catches a
    deleted tail, which the links alone cannot. After a break the check goes on from the row as
    stored, so each independent problem (an altered row, a gap, a swapped pair) is named once,
    not only the first of each chain.

    `after` maps a chain to the (seq, hash) of the stored row just before `records` start: a part
    of a chain checked on its own then finds exactly what the whole chain checked in one pass finds.
    """
    last: dict[str, tuple[int, str]] = dict(after or {})
    breaks: list[Break] = []
    checked = 0
    for record in records:
        checked += 1
        chain = record["chain"]
        if chain not in last and not require_genesis:
            last[chain] = (record["seq"] - 1, record["prev_hash"])
        problems = _problems(record, last.get(chain))
        if problems:
            breaks.append(Break(chain, record.get("seq"), record.get("id"), "; ".join(problems)))
        last[chain] = (record["seq"], record["hash"])
    for chain, (seq, head_hash) in (heads or {}).items():
        found = last.get(chain, (0, GENESIS_HASH))
        if found == (seq, head_hash):
            continue
        if found[0] < seq:
            problem = (
                f"the chain ends at #{found[0]} but the portal recorded #{seq} as its last event: "
                "events were removed from the end"
            )
        elif found[0] > seq:
            problem = (
                f"the chain goes on to #{found[0]} but the portal recorded #{seq} as its last event: "
                "events were added behind the portal's back"
            )
        else:
            problem = "the last event's hash is not the one the portal recorded as the chain's head"
        breaks.append(Break(chain, found[0] + 1 if found[0] < seq else seq, None, problem))
    return VerifyResult(checked=checked, chains=len(last), breaks=breaks)


def _problems(record: Mapping, previous: tuple[int, str] | None) -> list[str]:
    expected_seq, expected_prev = (previous[0] + 1, previous[1]) if previous else (1, GENESIS_HASH)
    problems = []
    if record["seq"] != expected_seq:
        problems.append(
            f"sequence number is {record['seq']} where {expected_seq} was expected: "
            "an event was removed or the order was changed"
        )
    elif record["prev_hash"] != expected_prev:
        problems.append("prev_hash does not match the previous event's hash: the order was changed or a row removed")
    if compute_hash(record) != record["hash"]:
        problems.append("the stored hash does not match the event's content: the row was altered")
    return problems


def check_anchors(
    anchors: Iterable[Anchor], stored: Mapping[tuple[str, int], str], heads: Mapping[str, int]
) -> list[Break]:
    """Every anchor whose event is gone or has another hash now. `stored` maps (chain, seq) to
    the hash in the trail, `heads` a chain to its last seq. An anchor at seq 0 (an empty chain)
    only says the chain existed."""
    breaks = []
    for anchor in anchors:
        if anchor.seq == 0:
            continue
        now = stored.get((anchor.chain, anchor.seq))
        if now is None:
            end = heads.get(anchor.chain, 0)
            breaks.append(
                Break(
                    anchor.chain,
                    anchor.seq,
                    None,
                    f"{anchor.source} recorded event #{anchor.seq}, which the trail no longer has "
                    f"(it ends at #{end}): events were removed",
                )
            )
        elif now != anchor.hash:
            breaks.append(
                Break(
                    anchor.chain,
                    anchor.seq,
                    None,
                    f"{anchor.source} recorded hash {anchor.hash[:16]}… for event #{anchor.seq}, the trail "
                    f"now has {now[:16]}…: the trail was rewritten at or before that point "
                    "(even though its hashes were recomputed)",
                )
            )
    return breaks
