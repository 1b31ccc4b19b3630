"""Signed checkpoints of the audit trail, kept where the database cannot rewrite them.

The hash chain proves that nobody changed an event *unless* they also recomputed every later hash
and the chain head, which a database superuser can do (disable the trigger, rewrite, recompute).
So the chain is anchored outside the database: periodically (beat, `audits.audit_trail_checkpoint`)
the head of every chain -- its last (seq, hash) -- is signed with the portal's checkpoint key and
appended to a JSON-lines file under AUDIT_CHECKPOINT_DIR, and, when AUDIT_CHECKPOINT_S3_BUCKET is
set, stored as an S3 object under COMPLIANCE object lock. `verify_audit_trail` then checks the
chain against every checkpoint: a rewrite of any event at or before a checkpoint shows up even
when all hashes were recomputed, because the rewriter cannot sign a new checkpoint.

The checkpoint key is its own Ed25519 key, with the certificate key's rules (signing.KeySource):
AUDIT_CHECKPOINT_SIGNING_KEY, else a 0600 file under DATA_DIR/keys created on first use; never in
the database. It also signs the header of every audit-trail export (audits.services).

A checkpoint is a document shaped like a certificate:
    {"format": "ai-portal-audit-checkpoint/1", "algorithm": "Ed25519", "key_id": "ed25519:<16 hex>",
     "payload": {"chain": "org:7", "seq": 1042, "hash": "<64 hex>", "taken_at": "...Z"},
     "signature": "<base64>"}
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from audits.certification import signing

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "ai-portal-audit-checkpoint/1"
CHECKPOINT_KEY = signing.KeySource(
    "AUDIT_CHECKPOINT_SIGNING_KEY",
    "AUDIT_CHECKPOINT_SIGNING_KEY_FILE",
    "audit-checkpoint-ed25519.pem",
    "audit-trail checkpoint key",
)
FILE_NAME = "checkpoints.jsonl"
S3_STORAGE = "audit_checkpoints"


# --- the key -------------------------------------------------------------------------------------


def checkpoint_public_key() -> Ed25519PublicKey:
    return signing.load_or_create_key(CHECKPOINT_KEY).public_key()


def checkpoint_key_id() -> str:
    return signing.key_id_for(checkpoint_public_key())


def checkpoint_public_key_pem() -> str:
    return (
        checkpoint_public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def sign_bytes(data: bytes) -> dict:
    """A detached signature of ``data`` with the checkpoint key (for export headers)."""
    key = signing.load_or_create_key(CHECKPOINT_KEY)
    return {
        "algorithm": signing.ALGORITHM,
        "key_id": signing.key_id_for(key.public_key()),
        "signature": signing.signature_of(data, key=key),
    }


def checkpoint_document(*, chain: str, seq: int, head_hash: str, taken_at: dt.datetime) -> dict:
    payload = {
        "chain": chain,
        "seq": seq,
        "hash": head_hash,
        "taken_at": taken_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return signing.sign_payload(
        payload, key=signing.load_or_create_key(CHECKPOINT_KEY), document_format=CHECKPOINT_FORMAT
    )


# --- where checkpoints are kept ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    """One checkpoint as read back, with where it came from (for messages)."""

    origin: str
    document: dict | None
    problem: str = ""

    @property
    def payload(self) -> dict:
        return (self.document or {}).get("payload") or {}


def checkpoint_file() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR) / FILE_NAME


@contextmanager
def locked_file() -> Iterator[Path]:
    """Hold the checkpoint file's lock: one writer at a time reads the last checkpoints and appends."""
    path = checkpoint_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(FILE_NAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def append_to_file(path: Path, documents: list[dict]) -> None:
    """Append one line per checkpoint. O_APPEND, never a rewrite: what was written stays as it is."""
    data = "".join(
        json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for d in documents
    ).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: Path | None = None) -> list[StoredCheckpoint]:
    path = path or checkpoint_file()
    if not path.exists():
        return []
    stored = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            origin = f"{path.name} line {number}"
            try:
                document = json.loads(line)
            except ValueError:
                stored.append(StoredCheckpoint(origin, None, "the line is not JSON: the checkpoint file was edited"))
                continue
            stored.append(
                StoredCheckpoint(
                    origin,
                    document if isinstance(document, dict) else None,
                    "" if isinstance(document, dict) else "the line is not a checkpoint",
                )
            )
    return stored


def s3_storage():
    if S3_STORAGE not in settings.STORAGES:
        return None
    from django.core.files.storage import storages

    return storages[S3_STORAGE]


def s3_name(document: dict) -> str:
    payload = document["payload"]
    stamp = payload["taken_at"].replace("-", "").replace(":", "").replace(".", "")
    return f"{payload['chain'].replace(':', '-')}/{payload['seq']:012d}-{stamp}.json"


def write_to_s3(documents: list[dict]) -> None:
    from django.core.files.base import ContentFile

    storage = s3_storage()
    if storage is None:
        return
    for document in documents:
        body = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        storage.save(s3_name(document), ContentFile(body))


def read_s3() -> list[StoredCheckpoint]:
    storage = s3_storage()
    if storage is None:
        return []
    prefix = f"{storage.location}/" if storage.location else ""
    stored = []
    for summary in storage.bucket.objects.filter(Prefix=prefix):
        origin = f"s3://{storage.bucket_name}/{summary.key}"
        try:
            document = json.loads(summary.get()["Body"].read())
        except ValueError:
            stored.append(StoredCheckpoint(origin, None, "the object is not JSON"))
            continue
        stored.append(
            StoredCheckpoint(
                origin,
                document if isinstance(document, dict) else None,
                "" if isinstance(document, dict) else "the object is not a checkpoint",
            )
        )
    return stored


def read_all() -> list[StoredCheckpoint]:
    """Every checkpoint: the file's, then the bucket's (the same checkpoints, kept twice)."""
    return read_file() + read_s3()


def signature_problem(stored: StoredCheckpoint, public_key: Ed25519PublicKey) -> str:
    """Why a stored checkpoint cannot be trusted, or "" when the checkpoint key signed it."""
    if stored.problem:
        return stored.problem
    result = signing.verify_document(stored.document, public_key=public_key, document_format=CHECKPOINT_FORMAT)
    if not result.ok:
        return f"the checkpoint does not verify ({result.reason})"
    payload = stored.payload
    if not (
        isinstance(payload.get("chain"), str)
        and isinstance(payload.get("seq"), int)
        and isinstance(payload.get("hash"), str)
    ):
        return "the checkpoint's payload lacks chain, seq or hash"
    return ""


def last_by_chain(stored: list[StoredCheckpoint]) -> dict[str, tuple[int, str]]:
    """The newest (seq, hash) checkpointed for each chain, among the well-formed checkpoints."""
    last: dict[str, tuple[int, str]] = {}
    for item in stored:
        payload = item.payload
        chain, seq = payload.get("chain"), payload.get("seq")
        if isinstance(chain, str) and isinstance(seq, int) and seq >= last.get(chain, (-1, ""))[0]:
            last[chain] = (seq, payload.get("hash"))
    return last
