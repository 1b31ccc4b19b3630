"""Ed25519 signing and verification of certificate documents.

A signed certificate document is a plain JSON object::

    {"format": "ai-portal-certificate/1", "algorithm": "Ed25519", "key_id": "ed25519:<16 hex>",
     "payload": {...}, "signature": "<standard base64 of the 64-byte signature>"}

The signature covers ``canonical_bytes(payload)`` only; ``key_id`` names the key so a verifier can
pick the right public key after a rotation. The same rule is written out, deliberately duplicated,
in ``tools/verify_certificate.py`` (which must run without Django) and in docs/certificates.md.

Django-light on purpose: reads ``django.conf.settings`` but never the ORM, so the certification
services, the public verification view and the tests can all use it.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

FORMAT = "ai-portal-certificate/1"
ALGORITHM = "Ed25519"
DOCUMENT_FIELDS = frozenset({"format", "algorithm", "key_id", "payload", "signature"})
SIGNATURE_LENGTH = 64
RAW_KEY_LENGTH = 32
DEFAULT_KEY_FILE_NAME = "certificate-signing-ed25519.pem"


class CanonicalJSONError(ValueError):
    """The payload cannot be written as canonical JSON (see ``canonical_bytes``)."""


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    reason: str


# --- canonical JSON ---------------------------------------------------------------------------


def canonical_bytes(payload: dict) -> bytes:
    """The exact bytes a signature covers.

    Rule (``canonical-json-v1``): ``json.dumps(payload, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` encoded as UTF-8 -- keys sorted by code point, no whitespace, non-ASCII
    characters written as themselves (only ``"``, ``\\`` and control characters are escaped).

    Accepted values: dict (string keys only), list/tuple, str, int, bool, None and finite floats.
    Raises ``CanonicalJSONError`` for anything else: NaN and infinities (not JSON), non-string keys
    (``{1: ..}`` and ``{"1": ..}`` would collide), lone surrogates (not UTF-8), other types.
    Floats are allowed but best avoided in payloads: their spelling (``1e+16``) is Python's, and a
    store that rewrites numbers (PostgreSQL jsonb turns ``1e+16`` into an integer) would change
    the bytes.
    """
    if not isinstance(payload, dict):
        raise CanonicalJSONError(f"the payload must be a JSON object, not {type(payload).__name__}")
    try:
        _check_json_value(payload, "payload")
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except CanonicalJSONError:
        raise
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError for lone surrogates is a ValueError
        raise CanonicalJSONError(f"the payload is not canonical JSON: {exc}") from None
    except RecursionError:
        raise CanonicalJSONError("the payload is nested too deeply") from None


def _check_json_value(value, where: str) -> None:
    # bool is a subclass of int, and both are fine; checked before the generic cases for clarity.
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalJSONError(f"{where} is {value!r}; NaN and infinity are not JSON")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(f"{where} has a non-string key {key!r}")
            _check_json_value(item, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_json_value(item, f"{where}[{index}]")
        return
    raise CanonicalJSONError(f"{where} is a {type(value).__name__}, which is not a JSON value")


# --- the portal's key ------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySource:
    """Where one of the portal's Ed25519 keys comes from: an environment variable holding the key,
    else a PEM file created 0600 on first use (never the database). The certificate key and the
    audit-trail checkpoint key follow the same rules, each with its own variables and file."""

    variable: str
    file_variable: str
    default_file_name: str
    purpose: str

    def configured(self) -> str | None:
        return getattr(settings, self.variable, None) or None

    def path(self) -> Path:
        value = getattr(settings, self.file_variable, None)
        return Path(value) if value else Path(settings.DATA_DIR) / "keys" / self.default_file_name


CERTIFICATE_KEY = KeySource(
    "CERTIFICATE_SIGNING_KEY", "CERTIFICATE_SIGNING_KEY_FILE", DEFAULT_KEY_FILE_NAME, "certificate signing key"
)

_cache: dict[tuple[str, str | None, str], Ed25519PrivateKey] = {}
_cache_lock = threading.Lock()


def load_or_create_signing_key() -> Ed25519PrivateKey:
    """The portal's signing key: from ``CERTIFICATE_SIGNING_KEY`` if set, else from
    ``CERTIFICATE_SIGNING_KEY_FILE`` (created on first use). Cached per process.

    Raises ImproperlyConfigured, naming the setting or file, when the key is malformed.
    """
    return load_or_create_key(CERTIFICATE_KEY)


def load_or_create_key(source: KeySource) -> Ed25519PrivateKey:
    """The key ``source`` names: from its variable if set, else from its file (created on first use)."""
    configured, path = source.configured(), source.path()
    # Keyed by the settings so a changed setting (tests, override_settings) is never served a
    # stale key. A rotated key *file* is only picked up by a restart: see docs/certificates.md.
    cache_key = (source.variable, configured, str(path))
    with _cache_lock:
        key = _cache.get(cache_key)
        if key is None:
            key = (
                parse_private_key(configured, source=source.variable)
                if configured
                else load_or_create_key_file(path, source=source)
            )
            _cache[cache_key] = key
        return key


def _key_file_setting() -> Path:
    return CERTIFICATE_KEY.path()


def clear_key_cache() -> None:
    """Forget the cached key (tests; a process re-reads the key on next use)."""
    with _cache_lock:
        _cache.clear()


def parse_private_key(text: str, *, source: str = "CERTIFICATE_SIGNING_KEY") -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8, unencrypted) or from standard base64 of the 32 raw
    private bytes. Anything else raises ImproperlyConfigured naming ``source``."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return _parse_private_pem(text.encode("ascii", "replace"), source=source)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(
            f"{source} is neither a PEM private key nor standard base64 of 32 bytes. Generate one "
            "with: python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"
        ) from None
    if len(raw) != RAW_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"{source} decodes to {len(raw)} bytes; an Ed25519 private key is exactly {RAW_KEY_LENGTH} "
            "bytes (base64 of 32 random bytes, 44 characters)."
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def _parse_private_pem(data: bytes, *, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ImproperlyConfigured(
            f"{source} is an encrypted PEM key; the portal needs it unencrypted "
            "(protect it with file permissions or a secret store)."
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ImproperlyConfigured(
            f"{source} is not a readable PEM private key (in a .env file, where line breaks are "
            "lost, use the base64 form of the 32 raw bytes instead)."
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{source} holds a {type(key).__name__}, not an Ed25519 private key.")
    return key


def load_or_create_key_file(path: Path, *, source: KeySource = CERTIFICATE_KEY) -> Ed25519PrivateKey:
    """Read the PEM key at ``path``; if there is none, create one (mode 0600, folder 0700).

    Two processes starting together (web and worker) must end up with the same key, so creation
    happens under an exclusive lock on a sibling lock file and re-checks for the key inside it; the
    key is written to a temporary file and moved into place with os.replace, so a reader never sees
    a half-written key.
    """
    if path.exists():
        return _read_key_file(path, source=source)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{source.file_variable} ({path}) does not exist and cannot be created: {exc.strerror}. "
            f"Make its folder writable by the portal, or set {source.variable}."
        ) from None
    try:
        # Blocks until a concurrent creator has finished; it then finds the key in place.
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if path.exists():
            return _read_key_file(path, source=source)
        key = Ed25519PrivateKey.generate()
        _write_new_key(path, key)
        logger.warning(
            "Created a new %s %s at %s; back it up and publish its public key "
            "(docs/certificates.md, docs/audit-trail.md).",
            source.purpose,
            key_id_for(key.public_key()),
            path,
        )
        return key
    finally:
        os.close(lock_fd)  # closing the descriptor releases the lock


def _write_new_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # mkstemp creates the file 0600 from the start: the key is never readable by others, not even
    # for the moment between writing and a chmod.
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".pem", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable, so a crash right after creation cannot lose the key.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_key_file(path: Path, *, source: KeySource = CERTIFICATE_KEY) -> Ed25519PrivateKey:
    source = f"{source.file_variable} ({path})"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(f"{source} cannot be read: {exc.strerror}") from None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        # Operators may mount keys with their own permissions (a secret store); warn, do not refuse.
        logger.warning("%s is readable by group or others (mode %o); chmod 600 it.", source, mode)
    return _parse_private_pem(data, source=source)


def public_key_pem() -> str:
    """The portal's public key as SubjectPublicKeyInfo PEM: what verifiers download."""
    public = load_or_create_signing_key().public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def key_id() -> str:
    """The current key's id: ``ed25519:`` + first 16 hex of SHA-256 of the raw public key."""
    return key_id_for(load_or_create_signing_key().public_key())


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


# --- signing and verifying ---------------------------------------------------------------------


def sign_document(payload: dict) -> dict:
    """Sign ``payload`` with the portal's key and return the certificate document.

    The document holds a normalised copy of the payload (tuples become lists), so later changes
    to the caller's dict cannot silently invalidate it. Raises CanonicalJSONError for a payload
    that is not canonical JSON.
    """
    return sign_payload(payload, key=load_or_create_signing_key(), document_format=FORMAT)


def sign_payload(payload: dict, *, key: Ed25519PrivateKey, document_format: str) -> dict:
    """A signed document of ``document_format`` (same layout as a certificate) over ``payload``."""
    data = canonical_bytes(payload)
    return {
        "format": document_format,
        "algorithm": ALGORITHM,
        "key_id": key_id_for(key.public_key()),
        "payload": json.loads(data),
        "signature": signature_of(data, key=key),
    }


def signature_of(data: bytes, *, key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(data)).decode("ascii")


def signature_valid(data: bytes, *, signature: str, public_key: Ed25519PublicKey) -> bool:
    """Whether ``signature`` (standard base64 of 64 bytes, spelled canonically) signs ``data``."""
    raw = _decode_signature(signature) if isinstance(signature, str) else None
    if raw is None:
        return False
    try:
        public_key.verify(raw, data)
    except InvalidSignature:
        return False
    return True


def verify_document(
    document: dict,
    *,
    public_key_pem: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    document_format: str = FORMAT,
) -> VerificationResult:
    """Check a certificate document's structure, key id and signature.

    Verifies with ``public_key_pem`` when given, else with the portal's current key. Never raises
    for bad input: every problem is an ``ok=False`` result with a reason a person can read. It
    says nothing about expiry, suspension or revocation; those live in the portal's database.
    """
    problem = _structure_problem(document, document_format)
    if problem:
        return VerificationResult(False, problem)
    if public_key is not None:
        pass
    elif public_key_pem is None:
        public_key = load_or_create_signing_key().public_key()
    else:
        public_key = _parse_public_pem(public_key_pem)
        if public_key is None:
            return VerificationResult(False, "the public key given is not an Ed25519 public key in PEM form")
    expected_id = key_id_for(public_key)
    if document["key_id"] != expected_id:
        return VerificationResult(
            False, f"the certificate names signing key {document['key_id']!r}, but the verifying key is {expected_id!r}"
        )
    signature = _decode_signature(document["signature"])
    if signature is None:
        return VerificationResult(False, f"the signature is not standard base64 of {SIGNATURE_LENGTH} bytes")
    try:
        data = canonical_bytes(document["payload"])
    except CanonicalJSONError as exc:
        return VerificationResult(False, str(exc))
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return VerificationResult(
            False, "the signature does not match the payload: the certificate was altered after signing"
        )
    return VerificationResult(True, f"the signature is valid (key {expected_id})")


def verify_document_json(data: bytes | str, *, public_key_pem: str | None = None) -> VerificationResult:
    """``verify_document`` for an uploaded certificate file: parses strictly first (UTF-8, no
    duplicate keys, no NaN/Infinity), so the document checked is the document a reader sees."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        return VerificationResult(False, f"the certificate is not valid JSON: {exc}")
    except RecursionError:
        return VerificationResult(False, "the certificate is not valid JSON: nested too deeply")
    return verify_document(document, public_key_pem=public_key_pem)


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        # Parsers disagree on which duplicate wins; refusing them keeps all verifiers in agreement.
        raise ValueError("an object has the same key twice")
    return result


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _structure_problem(document, document_format: str = FORMAT) -> str | None:
    if not isinstance(document, dict):
        return f"the certificate must be a JSON object, not {type(document).__name__}"
    missing = DOCUMENT_FIELDS - document.keys()
    if missing:
        return "the certificate lacks the field(s) " + ", ".join(sorted(missing))
    # Fields outside the signature could mislead a reader, so none are tolerated.
    extra = document.keys() - DOCUMENT_FIELDS
    if extra:
        return "the certificate has unexpected field(s) " + ", ".join(sorted(map(str, extra)))
    if document["format"] != document_format:
        what = "certificate" if document_format == FORMAT else "document"
        return f"unsupported {what} format {document['format']!r} (expected {document_format!r})"
    if document["algorithm"] != ALGORITHM:
        return f"unsupported algorithm {document['algorithm']!r} (expected {ALGORITHM!r})"
    for field in ("key_id", "signature"):
        if not isinstance(document[field], str):
            return f"the certificate's {field} must be a string"
    if not isinstance(document["payload"], dict):
        return "the certificate's payload must be a JSON object"
    return None


def _decode_signature(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Re-encoding must give the same text: base64 has spare bits in its last character, and a
    # changed character that decodes to the same bytes is still a changed certificate.
    if len(raw) != SIGNATURE_LENGTH or base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def _parse_public_pem(text: str) -> Ed25519PublicKey | None:
    try:
        key = serialization.load_pem_public_key(text.encode("utf-8") if isinstance(text, str) else text)
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None
