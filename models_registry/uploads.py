"""Upload plumbing: cut off oversized uploads while they stream in, and give every upload a path
on disk for the scanners."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class MaxSizeUploadHandler(FileUploadHandler):
    """Stops reading a file as soon as it passes MAX_UPLOAD_SIZE (or when the declared request size
    already does), so nothing over the limit is ever stored. The view sees `request.upload_refused`
    and answers with a clear message; the rest of the body is drained so the browser gets it."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request.upload_refused = None
        self.received = 0
        if content_length and content_length > settings.MAX_UPLOAD_SIZE + 1024 * 1024:
            self.request.upload_refused = content_length
            raise StopUpload(connection_reset=False)
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_SIZE:
            self.request.upload_refused = self.received
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@contextlib.contextmanager
def upload_on_disk(uploaded) -> Iterator[Path]:
    """A path to the uploaded bytes: the temporary file Django wrote, or a copy of a small in-memory
    upload. Removed afterwards either way, so a refused upload leaves nothing behind."""
    if hasattr(uploaded, "temporary_file_path"):
        path = Path(uploaded.temporary_file_path())
        try:
            yield path
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return
    handle, name = tempfile.mkstemp(dir=settings.FILE_UPLOAD_TEMP_DIR, suffix=Path(uploaded.name).suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
