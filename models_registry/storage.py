"""One adapter for stored files: content-addressed keys on the configured `artifacts` storage
(local folder or S3-compatible bucket). Nothing else touches the storage backend directly.

Keys are per organisation (`org/<id>/sha256/<2 hex>/<hash>`): the same bytes uploaded by two
organisations are two stored files, so deleting one organisation's file can never touch another's.
Files stored before keys were per organisation keep the global key they were stored under
(`Artifact.storage_key` records it), and are still found and reused by that key."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages


def artifact_storage():
    return storages["artifacts"]


def key_for(sha256: str, organisation_id: int | None = None) -> str:
    """Where new uploads of these bytes go; without an organisation, the old global key."""
    if organisation_id is None:
        return f"sha256/{sha256[:2]}/{sha256}"
    return f"org/{int(organisation_id)}/sha256/{sha256[:2]}/{sha256}"


def store(path: Path, sha256: str, *, organisation_id: int | None = None, key: str | None = None) -> tuple[str, bool]:
    """Store the file under `key` (default: the organisation's key for its hash); returns (key,
    created). Bytes already stored under that key are stored once."""
    storage = artifact_storage()
    key = key or key_for(sha256, organisation_id)
    if storage.exists(key):
        return key, False
    with open(path, "rb") as handle:
        saved = storage.save(key, File(handle, name=key))
    if saved != key:  # a concurrent upload of the same bytes won the race: keep one copy
        storage.delete(saved)
    return key, True


def delete(key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        artifact_storage().delete(key)


def exists(key: str) -> bool:
    return artifact_storage().exists(key)


@contextlib.contextmanager
def local_copy(key: str, suffix: str = "") -> Iterator[Path]:
    """A local path to a stored file (workers read through this, whatever the backend)."""
    storage = artifact_storage()
    try:
        local_path = Path(storage.path(key))
    except NotImplementedError:  # object storage has no local path
        local_path = None
    if local_path is not None:
        yield local_path
        return
    with storage.open(key, "rb") as source, tempfile.NamedTemporaryFile(suffix=suffix) as target:
        shutil.copyfileobj(source, target, 1024 * 1024)
        target.flush()
        yield Path(target.name)


def open_stored(key: str):
    return artifact_storage().open(key, "rb")
