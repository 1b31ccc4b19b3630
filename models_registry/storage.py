"""One adapter for stored files: content-addressed keys on the configured `artifacts` storage
(local folder or S3-compatible bucket). Nothing else touches the storage backend directly."""

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


def key_for(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256}"


def store(path: Path, sha256: str) -> tuple[str, bool]:
    """Store the file under its hash; returns (key, created). An identical file is stored once."""
    storage = artifact_storage()
    key = key_for(sha256)
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
