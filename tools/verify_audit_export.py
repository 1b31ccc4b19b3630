#!/usr/bin/env python3
"""Verify an exported audit trail (JSON Lines or CSV) without the portal.

Standard library only (Ed25519 included, after RFC 8032), so an auditor can run it anywhere:

    python3 verify_audit_export.py EXPORT --public-key AUDIT-TRAIL-KEY.pem
                                   [--anchor CERTIFICATE.json|EARLIER-EXPORT ...] [--public-key ...]

The first line of an export is its header, signed with the portal's audit-trail (checkpoint) key:
download the public key from the portal's /audit-trail/public-key.pem (its key id is on the first
line) and keep it; pass it with --public-key. The header fixes what the file must contain -- the
chain, the chain's head (seq and hash) at export time, the number of events and the SHA-256 of
their hashes in order -- so no line can be removed, added, changed or reordered, and the header
itself (e.g. `complete_chain`) cannot be edited, without the check failing.

Exit code 0: the signature is valid and every check passed. 1: something does not verify; every
problem found is printed. 2: usage error (no key for the file's key id, unreadable file).

Checks: every event's hash matches its content; the count and digest match the header; for a
complete export (the whole chain), event #1 starts from the genesis hash, each event links to the
one before it, and the last event is the head recorded at export time; for a filtered export (one
object's or one AI system's events), seq only increases, events consecutive in the chain (seq n
and n+1) are linked, and an event that is the recorded head has the head's hash.

--anchor FILE checks the export against a point recorded earlier outside it: a certificate (its
payload's audit_anchor: the chain head when it was signed) or an earlier export (its header's head).
If the export holds that event, its hash must be the anchored one; a complete export must reach
it. A trail rewritten before the anchor -- even with every later hash recomputed -- fails. Pass
the certificate key too (--public-key, repeatable) so the anchor's own signature is checked.

Exports made before format ai-portal-audit-export/2 have no signature: they are refused unless
--unsigned is given, and then only the event checks run (their header can be forged).

Algorithm (sha256-canonical-json-v1, also in docs/audit-trail.md): for each event, take the fields
listed in HASHED_FIELDS, serialise them as JSON with sorted keys, separators (",", ":"), UTF-8 and
non-ASCII characters kept; the event's hash is the hex SHA-256 of those bytes. `prev_hash` is one of
the fields, and the first event of a chain has prev_hash = 64 zeros and seq = 1. The header's
signature is Ed25519 over the same canonical JSON of the header object.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import hashlib
import json
import sys

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
INT_FIELDS = {"seq", "organisation_id", "actor_id", "id"}
NULLABLE = {"organisation_id", "actor_id", "ip", "id"}
GENESIS = "0" * 64
SIGNED_FORMAT = "ai-portal-audit-export/2"
CERTIFICATE_FORMAT = "ai-portal-certificate/1"


class UsageError(Exception):
    """Exit code 2."""


# --- Ed25519 verification (RFC 8032, section 5.1.7), standard library only ------------------------
# Deliberately small: verification only, no secret data, so constant time does not matter. The
# portal's tests check it against the `cryptography` package on valid and tampered signatures.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    k1 = (y1 - x1) * (y2 - x2) % _P
    k2 = (y1 + x1) * (y2 + x2) % _P
    k3 = 2 * t1 * t2 * _D % _P
    k4 = 2 * z1 * z2 % _P
    e, f, g, h = k2 - k1, k4 - k3, k4 + k3, k2 + k1
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _decompress(data: bytes):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        if sign:
            return None
        x = 0
    else:
        x = pow(x2, (_P + 3) // 8, _P)
        if (x * x - x2) % _P:
            x = x * _SQRT_M1 % _P
        if (x * x - x2) % _P:
            return None
        if x & 1 != sign:
            x = _P - x
    return (x, y, 1, x * y % _P)


def _compress(point) -> bytes:
    x, y, z, _ = point
    inverse = pow(z, _P - 2, _P)
    x, y = x * inverse % _P, y * inverse % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


_BASE = _decompress(int.to_bytes(4 * pow(5, _P - 2, _P) % _P, 32, "little"))


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    a, r_bytes = _decompress(public_key), signature[:32]
    s = int.from_bytes(signature[32:], "little")
    if a is None or _decompress(r_bytes) is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(r_bytes + public_key + message).digest(), "little") % _L
    minus_ha = _multiply(h, (-a[0] % _P, a[1], a[2], -a[3] % _P))
    return _compress(_add(_multiply(s, _BASE), minus_ha)) == r_bytes


# --- keys and signatures ------------------------------------------------------------------------

_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # SubjectPublicKeyInfo of an Ed25519 key


def read_public_key(path: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key in PEM (lines outside the PEM block are ignored,
    such as the "Key id:" line the portal puts first)."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read the public key {path}: {exc.strerror}") from None
    begin, end = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
    if begin not in text or end not in text:
        raise UsageError(f"{path} is not a PEM public key")
    body = text.split(begin, 1)[1].split(end, 1)[0]
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError(f"{path} is not a PEM public key") from None
    if len(der) != 44 or not der.startswith(_SPKI_PREFIX):
        raise UsageError(f"{path} does not hold an Ed25519 public key")
    return der[len(_SPKI_PREFIX) :]


def key_id_for(raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def canonical_bytes(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def signature_problem(data: bytes, signature: dict, keys: dict[str, bytes], what: str) -> str:
    """Why the signature over `data` does not hold ("" when it does). Raises UsageError when
    no key given has the key id it names."""
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        return f"{what} has no Ed25519 signature"
    key_id = signature.get("key_id")
    if key_id not in keys:
        given = ", ".join(sorted(keys)) or "none"
        raise UsageError(
            f"{what} is signed by key {key_id}; pass that public key with --public-key (keys given: {given})"
        )
    text = signature.get("signature")
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64 or base64.b64encode(raw).decode("ascii") != text:
        return f"{what}'s signature is not standard base64 of 64 bytes"
    if not ed25519_verify(keys[key_id], data, raw):
        return f"{what}'s signature does not match: the header was altered after the portal signed it"
    return ""


# --- reading exports ----------------------------------------------------------------------------


def digest(row: dict) -> str:
    payload = {field: row.get(field) for field in HASHED_FIELDS}
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def read_jsonl(path):
    """The events, and the file's first line if it is a header ({} when it has none)."""
    first, rows = {}, []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if not line.strip():
                continue
            item = json.loads(line)
            if number == 0 and "_export" in item:
                first = item
                continue
            rows.append(item)
    return rows, first


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    first = {}
    if table and table[0][:1] == ["_export"]:
        first = json.loads(table[0][1])
        table = table[1:]
    if not table:
        return [], first
    columns, rows = table[0], []
    escaped = (first.get("_export") or {}).get("csv_cell_escaping") == "apostrophe-reversible-v1"
    for cells in table[1:]:
        if escaped:
            # The portal added exactly one apostrophe to text a spreadsheet would run as a formula
            # (and to text starting with an apostrophe): strip it to get the hashed value back.
            cells = [cell[1:] if cell.startswith("'") else cell for cell in cells]
        row = dict(zip(columns, cells))
        for field in INT_FIELDS & row.keys():
            row[field] = int(row[field]) if row[field] != "" else None
        for field in (NULLABLE - INT_FIELDS) & row.keys():
            row[field] = row[field] or None
        row["before"] = json.loads(row["before"])
        row["after"] = json.loads(row["after"])
        rows.append(row)
    return rows, first


def read_export(path):
    try:
        return read_csv(path) if path.endswith(".csv") else read_jsonl(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, KeyError, IndexError) as exc:
        raise UsageError(f"{path} is not an audit-trail export ({exc})") from None


# --- checks -------------------------------------------------------------------------------------


def check_events(rows, complete: bool, header: dict) -> list[str]:
    problems = []
    last = {}
    for row in rows:
        chain = row["chain"]
        if digest(row) != row["hash"]:
            problems.append(f"chain {chain}: event #{row['seq']} was altered (hash mismatch)")
        previous = last.get(chain)
        if complete:
            expected_seq = previous[0] + 1 if previous else 1
            expected_prev = previous[1] if previous else GENESIS
            if row["seq"] != expected_seq or row["prev_hash"] != expected_prev:
                problems.append(
                    f"chain {chain}: event #{row['seq']} does not follow event "
                    f"#{expected_seq - 1} (removed or reordered events)"
                )
        elif previous and row["seq"] <= previous[0]:
            problems.append(
                f"chain {chain}: event #{row['seq']} comes after event #{previous[0]} (reordered or duplicated events)"
            )
        elif previous and row["seq"] == previous[0] + 1 and row["prev_hash"] != previous[1]:
            problems.append(
                f"chain {chain}: event #{row['seq']} does not follow event #{previous[0]} "
                "(its prev_hash is not that event's hash)"
            )
        elif row["seq"] == 1 and row["prev_hash"] != GENESIS:
            problems.append(f"chain {chain}: event #1 does not start from the genesis hash")
        last[chain] = (row["seq"], row["hash"])
    head = header.get("chain_head_at_export") or {}
    chain = header.get("chain")
    if chain and head:
        found = last.get(chain, (0, GENESIS))
        if complete and found != (head.get("seq"), head.get("hash")) and not (head.get("seq") == 0 and not rows):
            problems.append(
                f"chain {chain}: the file ends at event #{found[0]}, but the portal's head at export "
                f"was #{head.get('seq')} with another hash: events were removed from the end"
            )
        elif not complete and found[0] == head.get("seq") and found[1] != head.get("hash"):
            problems.append(f"chain {chain}: event #{head['seq']} is not the head the portal recorded at export")
    return problems


def check_header(rows, header: dict) -> list[str]:
    """The signed header's promises about the lines that follow."""
    problems = []
    if header.get("events") != len(rows):
        problems.append(
            f"the header promises {header.get('events')} events, the file has {len(rows)}: lines were removed or added"
        )
    hashes = hashlib.sha256("".join(f"{row['hash']}\n" for row in rows).encode("ascii", "replace"))
    if header.get("events_sha256") != hashes.hexdigest():
        problems.append(
            "the events are not the ones the header was signed for (their digest differs): "
            "lines were removed, added, changed or reordered"
        )
    foreign = {row["chain"] for row in rows} - {header.get("chain")}
    if foreign:
        problems.append(
            f"the file holds events of chain(s) {', '.join(sorted(foreign))}, not only of {header.get('chain')}"
        )
    return problems


def read_anchor(path: str, keys: dict[str, bytes]) -> tuple[dict, list[str]]:
    """(anchor {chain, seq, hash, source}, problems with the anchor's own signature)."""
    if not path.endswith((".csv", ".jsonl")):
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise UsageError(f"{path} is not JSON ({exc})") from None
        if isinstance(document, dict) and document.get("format") == CERTIFICATE_FORMAT:
            anchor = (document.get("payload") or {}).get("audit_anchor")
            if not isinstance(anchor, dict):
                raise UsageError(f"{path} is a certificate without an audit anchor (issued before payload version 2)")
            problem = signature_problem(
                canonical_bytes(document.get("payload")),
                {
                    "algorithm": document.get("algorithm"),
                    "key_id": document.get("key_id"),
                    "signature": document.get("signature"),
                },
                keys,
                f"the certificate {path}",
            )
            return {**anchor, "source": f"certificate {path}"}, [problem] if problem else []
        raise UsageError(f"{path} is neither a certificate nor an audit-trail export")
    _, first = read_export(path)
    header = first.get("_export") or {}
    if "_signature" not in first:
        raise UsageError(f"{path} is an unsigned export: it cannot serve as an anchor")
    problem = signature_problem(canonical_bytes(header), first["_signature"], keys, f"the export {path}")
    head = header.get("chain_head_at_export") or {}
    return (
        {
            "chain": header.get("chain"),
            "seq": head.get("seq"),
            "hash": head.get("hash"),
            "source": f"the export {path}",
        },
        [problem] if problem else [],
    )


def check_anchor(rows, complete: bool, anchor: dict) -> tuple[list[str], str]:
    """(problems, note) for one anchor against the export's events."""
    seq, chain = anchor.get("seq"), anchor.get("chain")
    if not isinstance(seq, int) or seq == 0:
        return [], f"{anchor['source']}: nothing anchored (empty chain)"
    match = next((row for row in rows if row["chain"] == chain and row["seq"] == seq), None)
    if match is None:
        if complete and any(row["chain"] == chain for row in rows):
            return [
                f"{anchor['source']} anchored event #{seq} of {chain}, which this complete export does not reach: "
                "events were removed"
            ], ""
        return [], f"{anchor['source']}: event #{seq} of {chain} is not in this export, not checked"
    if match["hash"] != anchor.get("hash"):
        return [
            f"{anchor['source']} anchored event #{seq} of {chain} with hash {str(anchor.get('hash'))[:16]}…, "
            f"this export has {match['hash'][:16]}…: the trail was rewritten at or before that event"
        ], ""
    return [], f"{anchor['source']}: event #{seq} of {chain} matches"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify an audit-trail export offline.", epilog="Exit codes: 0 verified, 1 broken, 2 usage error."
    )
    parser.add_argument("export", help="the exported trail (.jsonl or .csv)")
    parser.add_argument(
        "--public-key",
        action="append",
        default=[],
        metavar="PEM",
        help="a public key of the portal (the audit-trail key; the certificate key for certificate "
        "anchors); repeatable",
    )
    parser.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="FILE",
        help="a certificate or an earlier export whose recorded chain head this export must agree with; repeatable",
    )
    parser.add_argument(
        "--filtered", action="store_true", help="an unsigned (pre-/2) CSV that was exported with filters"
    )
    parser.add_argument(
        "--unsigned", action="store_true", help="accept an export made before signed headers (its header can be forged)"
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(errors="backslashreplace")
    try:
        keys = {key_id_for(raw): raw for raw in map(read_public_key, args.public_key)}
        rows, first = read_export(args.export)
        problems, notes = verify(rows, first, keys, args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}")
    if problems:
        for problem in problems:
            print(f"BROKEN {problem}")
        return 1
    chains = len({row["chain"] for row in rows})
    header = first.get("_export") or {}
    complete = header.get("complete_chain", not args.filtered) if header else not args.filtered
    pairs = list(zip(rows, rows[1:]))
    links = sum(1 for a, b in pairs if a["chain"] == b["chain"] and b["seq"] == a["seq"] + 1)
    print(
        f"OK: {len(rows)} events in {chains} chain(s) verified"
        + (
            ""
            if complete
            else f" (filtered export: each event's hash checked, {links} links checked between "
            f"consecutive events, {len(pairs) - links} gaps where other events of the chain are "
            "left out and cannot be checked from this file)"
        )
    )
    return 0


def verify(rows, first: dict, keys: dict[str, bytes], args) -> tuple[list[str], list[str]]:
    header = first.get("_export") or {}
    problems, notes = [], []
    if "_signature" in first:
        problem = signature_problem(canonical_bytes(header), first["_signature"], keys, "the export's header")
        if problem:
            # Nothing the header says can be trusted: report that alone.
            return [problem], notes
        problems += check_header(rows, header)
        notes.append(
            f"header signed by {first['_signature'].get('key_id')}, exported {header.get('exported_at')} "
            f"by {header.get('exported_by') or '?'}"
        )
    elif not args.unsigned:
        return [
            "the export's header is not signed (an export made before signed headers, or one whose signature "
            "was removed); pass --unsigned to check its events anyway"
        ], notes
    else:
        notes.append("UNSIGNED export: its header is not trusted, so lines removed from it may go unnoticed")
        header = header if header.get("format") != SIGNED_FORMAT else {}
    complete = header.get("complete_chain", False) if header else not args.filtered
    problems += check_events(rows, complete, header)
    for path in args.anchor:
        anchor, anchor_problems = read_anchor(path, keys)
        problems += anchor_problems
        if not anchor_problems:
            found, note = check_anchor(rows, complete, anchor)
            problems += found
            notes += [note] if note else []
    return problems, notes


if __name__ == "__main__":
    sys.exit(main())
