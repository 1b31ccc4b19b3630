#!/usr/bin/env python3
"""Verify an exported audit trail (JSON Lines or CSV) without the portal.

Standard library only, so an auditor can run it anywhere: `python3 verify_audit_export.py FILE`
(add `--filtered` for a CSV exported with filters; a JSON Lines export says so itself).
Exit code 0: every event's hash matches its content and, for an unfiltered export, each event links
to the one before it. Exit code 1: the first broken event is printed.

A filtered export (one object's or one AI system's events) leaves out the chain's events in between.
For it the tool still checks what can be checked: every event's hash; that sequence numbers only
increase (nothing reordered or duplicated); the link (prev_hash) between every two events that are
consecutive in the chain (seq n and n+1 both present); that an event #1 starts from the genesis
hash; and, when the header records the chain's head at export time and the file contains that
event, that its hash is the head's.

Algorithm (sha256-canonical-json-v1, also in docs/audit-trail.md): for each event, take the fields
listed in HASHED_FIELDS, serialise them as JSON with sorted keys, separators (",", ":"), UTF-8 and
non-ASCII characters kept; the event's hash is the hex SHA-256 of those bytes. `prev_hash` is one of
the fields, and the first event of a chain has prev_hash = 64 zeros and seq = 1.
"""

import csv
import hashlib
import json
import sys

HASHED_FIELDS = (
    "chain", "seq", "prev_hash", "timestamp", "organisation_id", "actor_id", "actor_username",
    "actor_role", "verb", "object_type", "object_id", "object_repr", "before", "after", "reason",
    "request_id", "ip", "origin",
)
INT_FIELDS = {"seq", "organisation_id", "actor_id"}
NULLABLE = {"organisation_id", "actor_id", "ip"}


def digest(row: dict) -> str:
    payload = {field: row.get(field) for field in HASHED_FIELDS}
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def read_jsonl(path):
    """The events, and the file's `_export` header ({} when it has none)."""
    header, rows = {}, []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            item = json.loads(line)
            if "_export" in item:
                header = item["_export"]
                continue
            rows.append(item)
    return rows, header


def read_csv(path):
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            row = dict(raw)
            for field in INT_FIELDS:
                row[field] = int(row[field]) if row[field] != "" else None
            for field in NULLABLE - INT_FIELDS:
                row[field] = row[field] or None
            row["before"] = json.loads(row["before"])
            row["after"] = json.loads(row["after"])
            rows.append(row)
    return rows, {}


def verify(rows, complete: bool, header: dict | None = None) -> tuple[bool, str]:
    """`header`: the export's header; a filtered export's recorded chain head is checked with it."""
    header = header or {}
    last = {}
    links = gaps = 0
    for row in rows:
        chain = row["chain"]
        if digest(row) != row["hash"]:
            return False, f"chain {chain}: event #{row['seq']} was altered (hash mismatch)"
        previous = last.get(chain)
        if complete:
            expected_seq = previous[0] + 1 if previous else 1
            expected_prev = previous[1] if previous else "0" * 64
            if row["seq"] != expected_seq or row["prev_hash"] != expected_prev:
                return False, (f"chain {chain}: event #{row['seq']} does not follow event "
                               f"#{expected_seq - 1} (removed or reordered events)")
        elif previous and row["seq"] <= previous[0]:
            return False, (f"chain {chain}: event #{row['seq']} comes after event #{previous[0]} "
                           "(reordered or duplicated events)")
        elif previous and row["seq"] == previous[0] + 1:
            if row["prev_hash"] != previous[1]:
                return False, (f"chain {chain}: event #{row['seq']} does not follow event #{previous[0]} "
                               "(its prev_hash is not that event's hash)")
            links += 1
        elif row["seq"] == 1 and row["prev_hash"] != "0" * 64:
            return False, f"chain {chain}: event #1 does not start from the genesis hash"
        elif previous:
            gaps += 1
        last[chain] = (row["seq"], row["hash"])
    head = header.get("chain_head_at_export") or {}
    chain = header.get("chain")
    if not complete and chain in last and head.get("seq") == last[chain][0] and head.get("hash") != last[chain][1]:
        return False, f"chain {chain}: event #{head['seq']} is not the head the portal recorded at export"
    return True, f"OK: {len(rows)} events in {len(last)} chain(s) verified" + (
        "" if complete else f" (filtered export: each event's hash checked, {links} links checked between "
                            f"consecutive events, {gaps} gaps where other events of the chain are left out)")


def main(argv) -> int:
    args = [a for a in argv[1:] if a != "--filtered"]
    if len(args) != 1:
        print(__doc__)
        return 2
    path = args[0]
    rows, header = read_csv(path) if path.endswith(".csv") else read_jsonl(path)
    # A header says whether the export is the complete chain; a file without one (a CSV) counts
    # as complete unless --filtered says otherwise.
    complete = (header.get("complete_chain", False) if header else True) and "--filtered" not in argv
    ok, message = verify(rows, complete, header)
    print(message if ok else f"BROKEN {message}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
