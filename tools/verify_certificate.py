#!/usr/bin/env python3
"""Verify a certificate downloaded from the AI Governance Portal, offline, without the portal.

Usage:
    python3 verify_certificate.py CERTIFICATE.json --public-key PORTAL-PUBLIC-KEY.pem [--at YYYY-MM-DD]

Needs only Python 3.11+ and the `cryptography` package (pip install cryptography); copy this one
file anywhere. It prints VALID or INVALID with the reason, then the certificate id, system,
version and validity dates, and exits with
    0  VALID: the portal's key signed exactly this payload (and, with --at, the date is inside
       valid_from..valid_until, both days included),
    1  INVALID: altered, signed by another key, malformed, or outside its validity window,
    2  usage error: bad arguments, a file that cannot be read, a public key that is not Ed25519.

What it cannot know offline: whether the portal has since suspended or revoked the certificate.
Ask the portal's public verification page for that.

Document format "ai-portal-certificate/1" (docs/certificates.md); since payload version 2 the
payload also carries "audit_anchor" {"chain", "seq", "hash"}: the organisation's audit-trail head
when the certificate was signed (check a trail export against it with verify_audit_export.py).
    {"format": "ai-portal-certificate/1", "algorithm": "Ed25519", "key_id": "ed25519:<16 hex>",
     "payload": {...}, "signature": "<standard base64 of 64 bytes>"}
The Ed25519 signature covers the canonical JSON of the payload; key_id is "ed25519:" + the first
16 hex digits of SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import sys

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "ai-portal-certificate/1"
ALGORITHM = "Ed25519"
DOCUMENT_FIELDS = {"format", "algorithm", "key_id", "payload", "signature"}


class Invalid(Exception):
    """The certificate does not verify; the message says why."""


class UsageError(Exception):
    """The command was called wrongly (exit code 2)."""


def canonical_bytes(payload: dict) -> bytes:
    # Deliberately duplicated from audits/certification/signing.py (canonical-json-v1): this file
    # must run without Django or the portal's code. Keys sorted, no whitespace, non-ASCII kept,
    # UTF-8, NaN/Infinity refused. The portal's tests check that both give the same bytes.
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError("the public key file is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"the public key file holds a {type(key).__name__}, not an Ed25519 key")
    return key


def parse_document(data: bytes) -> dict:
    """Strict JSON: UTF-8, no NaN/Infinity, no key twice (parsers disagree on which one wins)."""

    def no_duplicates(pairs):
        result = dict(pairs)
        if len(result) != len(pairs):
            raise ValueError("an object has the same key twice")
        return result

    def no_constant(name):
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Invalid(f"the certificate is not valid JSON: {exc}") from None


def check_structure(document) -> None:
    if not isinstance(document, dict):
        raise Invalid("the certificate must be a JSON object")
    missing, extra = DOCUMENT_FIELDS - document.keys(), document.keys() - DOCUMENT_FIELDS
    if missing:
        raise Invalid("the certificate lacks the field(s) " + ", ".join(sorted(missing)))
    if extra:
        raise Invalid("the certificate has unexpected field(s) " + ", ".join(sorted(extra)))
    if document["format"] != FORMAT:
        raise Invalid(f"unsupported certificate format {document['format']!r} (expected {FORMAT!r})")
    if document["algorithm"] != ALGORITHM:
        raise Invalid(f"unsupported algorithm {document['algorithm']!r} (expected {ALGORITHM!r})")
    if not isinstance(document["key_id"], str) or not isinstance(document["signature"], str):
        raise Invalid("the certificate's key_id and signature must be strings")
    if not isinstance(document["payload"], dict):
        raise Invalid("the certificate's payload must be a JSON object")


def decode_signature(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    # Re-encoding must give the same text: a changed last character can decode to the same bytes.
    if len(raw) != 64 or base64.b64encode(raw).decode("ascii") != text:
        raise Invalid("the signature is not standard base64 of 64 bytes")
    return raw


def verify(document, public_key: Ed25519PublicKey) -> str:
    """Raise Invalid, or return what was verified."""
    check_structure(document)
    expected = key_id_for(public_key)
    if document["key_id"] != expected:
        raise Invalid(
            f"the certificate names signing key {document['key_id']!r}, but the public key "
            f"given is {expected!r} (after a key rotation, use the key it names)"
        )
    signature = decode_signature(document["signature"])
    try:
        public_key.verify(signature, canonical_bytes(document["payload"]))
    except InvalidSignature:
        raise Invalid("the signature does not match the payload: the certificate was altered after signing") from None
    except ValueError as exc:  # e.g. a lone surrogate in a string cannot be UTF-8
        raise Invalid(f"the payload is not canonical JSON: {exc}") from None
    return f"the signature is valid (key {expected})"


def parse_day(value) -> dt.date | None:
    """A payload date: YYYY-MM-DD, or an ISO date-time whose calendar day is used."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"the date {value!r} is not an ISO date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise Invalid(f"the date {value!r} is not an ISO date") from None


def check_window(payload: dict, day: dt.date) -> str:
    valid_from, valid_until = parse_day(payload.get("valid_from")), parse_day(payload.get("valid_until"))
    if valid_from and day < valid_from:
        raise Invalid(
            f"the signature is genuine, but the certificate was not yet valid on {day} (valid from {valid_from})"
        )
    if valid_until and day > valid_until:
        raise Invalid(f"the signature is genuine, but the certificate had expired on {day} (valid until {valid_until})")
    return f"valid on {day}"


def describe(payload) -> list[str]:
    """The fields a person looks for. Tolerant of layout: it only reads, never decides."""
    if not isinstance(payload, dict):
        return []
    model = payload.get("model") if isinstance(payload.get("model"), dict) else {}
    certificate_id = first(payload, "certificate_id", "id")
    system = first(payload, "system", "system_name")
    version = first(payload, "version", "model_version") or model.get("version_label")
    lines = [
        f"certificate: {show(certificate_id, 'id')}",
        f"system:      {show(system, 'name', 'id')}",
        f"version:     {show(version, 'version_label', 'label', 'id')}",
        f"valid from:  {show(payload.get('valid_from'))}",
        f"valid until: {show(payload.get('valid_until'))}",
    ]
    anchor = payload.get("audit_anchor")
    if isinstance(anchor, dict):
        # Payload version 2: the organisation's audit-trail head when the certificate was signed.
        # tools/verify_audit_export.py --anchor checks a trail export against it.
        lines.append(
            f"audit trail: event #{show(anchor.get('seq'))} of {show(anchor.get('chain'))}, "
            f"hash {show(anchor.get('hash'))}"
        )
    return lines


def first(payload: dict, *names):
    return next((payload[name] for name in names if payload.get(name) is not None), None)


def show(value, *names) -> str:
    """A value as text; for an object, its first present field of ``names`` (e.g. a system's name)."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        found = first(value, *names)
        return str(found) if found is not None else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def day_argument(value: str) -> dt.date:
    try:
        # fromisoformat alone would also take 20260101 and week dates such as 2026-W01-1.
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} {path}: {exc.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify a portal certificate offline.", epilog="Exit codes: 0 VALID, 1 INVALID, 2 usage error."
    )
    parser.add_argument("certificate", help="the downloaded certificate (.json)")
    parser.add_argument("--public-key", required=True, help="the portal's published public key (.pem)")
    parser.add_argument(
        "--at", type=day_argument, metavar="YYYY-MM-DD", help="also check that the certificate is valid on this day"
    )
    args = parser.parse_args(argv)  # exits with 2 on bad arguments
    # A console that cannot show a system's name must not turn a verdict into a crash.
    sys.stdout.reconfigure(errors="backslashreplace")
    try:
        public_key = load_public_key(read_file(args.public_key, "public key"))
        data = read_file(args.certificate, "certificate")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    document, genuine = None, False
    try:
        document = parse_document(data)
        reasons = [verify(document, public_key)]
        genuine = True
        if args.at:
            reasons.append(check_window(document["payload"], args.at))
    except Invalid as exc:
        print(f"INVALID: {exc}")
        details = describe(document.get("payload")) if isinstance(document, dict) else []
        if details:
            print(
                "The portal signed the following:"
                if genuine
                else "The file claims the following; none of it can be trusted:"
            )
            print("\n".join(details))
        return 1
    print("VALID: " + "; ".join(reasons))
    print("\n".join(describe(document["payload"])))
    print("note: suspension and revocation cannot be checked offline; ask the portal's verification page.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
