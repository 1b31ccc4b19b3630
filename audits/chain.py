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
    "chain", "seq", "prev_hash", "timestamp", "organisation_id", "actor_id", "actor_username",
    "actor_role", "verb", "object_type", "object_id", "object_repr", "before", "after", "reason",
    "request_id", "ip", "origin",
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

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_records(records: Iterable[Mapping], heads: Mapping[str, tuple[int, str]] | None = None,
                   *, require_genesis: bool = True) -> VerifyResult:
    """Check rows given in storage order (by chain, then seq).

    `heads` maps a chain to the (seq, hash) the portal recorded as its last event; it catches a
    deleted tail, which the links alone cannot. Only the first break of each chain is reported,
    since everything after it is suspect anyway.
    """
    last: dict[str, tuple[int, str]] = {}
    broken: dict[str, Break] = {}
    checked = 0
    for record in records:
        checked += 1
        chain = record["chain"]
        if chain in broken:
            continue
        problem = _check_one(record, last.get(chain), require_genesis)
        if problem:
            broken[chain] = Break(chain, record.get("seq"), record.get("id"), problem)
            continue
        last[chain] = (record["seq"], record["hash"])
    for chain, (seq, head_hash) in (heads or {}).items():
        if chain in broken:
            continue
        if last.get(chain) != (seq, head_hash):
            found = last.get(chain, (0, GENESIS_HASH))[0]
            broken[chain] = Break(chain, found + 1, None,
                                  f"the chain ends at #{found} but the portal recorded #{seq} as its "
                                  "last event: events were removed from the end")
    return VerifyResult(checked=checked, chains=len(last | broken), breaks=list(broken.values()))


def _check_one(record: Mapping, previous: tuple[int, str] | None, require_genesis: bool) -> str:
    if previous is None:
        expected_seq, expected_prev = (1, GENESIS_HASH) if require_genesis else (None, None)
    else:
        expected_seq, expected_prev = previous[0] + 1, previous[1]
    if expected_seq is not None and record["seq"] != expected_seq:
        return (f"sequence number is {record['seq']} where {expected_seq} was expected: "
                "an event was removed or the order was changed")
    if expected_prev is not None and record["prev_hash"] != expected_prev:
        return "prev_hash does not match the previous event's hash: the order was changed or a row removed"
    if compute_hash(record) != record["hash"]:
        return "the stored hash does not match the event's content: the row was altered"
    return ""
