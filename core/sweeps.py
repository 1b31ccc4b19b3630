"""Housekeeping of files the portal leaves on disk: upload temporary files orphaned by a web
process that was killed mid-upload. No domain rules; run by beat and once when a worker starts."""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    removed: list[str] = field(default_factory=list)
    kept: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"removed": self.removed, "kept": self.kept, "errors": self.errors}


def upload_temp_sweep(
    *, folder: Path | str | None = None, max_age_hours: int | None = None, now: float | None = None
) -> SweepResult:
    """Delete regular files directly in the upload temporary folder (FILE_UPLOAD_TEMP_DIR) that
    nobody has written to for `max_age_hours` (UPLOAD_TEMP_MAX_AGE_HOURS).

    Age is the last modification: a file a live request is still receiving is written to all the
    time, so only the leftovers of a killed web process grow old. Symbolic links, folders and
    anything else are left alone (the portal creates none there); one file that cannot be removed
    is recorded and the sweep goes on."""
    folder = Path(folder or settings.FILE_UPLOAD_TEMP_DIR)
    max_age_s = 3600 * (max_age_hours if max_age_hours is not None else settings.UPLOAD_TEMP_MAX_AGE_HOURS)
    cutoff = (now if now is not None else time.time()) - max_age_s
    result = SweepResult()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return result
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= cutoff:
                result.kept += 1
                continue
            os.unlink(entry.path)
            result.removed.append(entry.name)
        except FileNotFoundError:  # its request finished and removed it meanwhile
            continue
        except OSError as exc:
            result.errors.append(f"{entry.name}: {exc}")
    if result.removed:
        logger.info(
            "removed %d orphaned upload temporary file(s) from %s: %s",
            len(result.removed),
            folder,
            ", ".join(result.removed[:20]),
        )
    for error in result.errors:
        logger.error("could not remove orphaned upload temporary file %s", error)
    return result
