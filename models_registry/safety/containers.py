"""Content sniffing, bounded decompression and zip hygiene (nothing is extracted by name)."""

from __future__ import annotations

import bz2
import lzma
import posixpath
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from .report import Findings, ScanLimits

CHUNK = 1024 * 1024
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def sniff(head: bytes) -> str:
    """Best guess of the content type from the first bytes (never trusts the extension)."""
    if not head:
        return "empty"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x5d\x00\x00"):
        return "lzma"
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if head.startswith(b"ZF"):
        return "joblib_compat"
    if len(head) >= 2 and head[0] == 0x78 and ((head[0] << 8) | head[1]) % 31 == 0:
        return "zlib"
    if _looks_like_text(head):
        return "text"  # may still be a protocol-0 pickle: the pickle walker decides
    return "binary"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # only a multi-byte character cut at the end is fine
            return False
        text = head[: exc.start].decode("utf-8")
    return bool(text) and all(ch.isprintable() or ch in "\r\n\t" for ch in text)


class LimitExceeded(Exception):
    pass


def decompress(src: BinaryIO, kind: str, limits: ScanLimits, compressed_size: int):
    """Decompress ``src`` into a spooled temp file, enforcing size and ratio caps."""
    if kind in ("zlib", "gzip"):
        dec = zlib.decompressobj(zlib.MAX_WBITS | 32)
    elif kind == "bz2":
        dec = bz2.BZ2Decompressor()
    elif kind in ("xz", "lzma"):
        dec = lzma.LZMADecompressor(lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE)
    else:
        raise ValueError(kind)
    out = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)
    total = 0
    cap = limits.max_decompressed_size
    ratio_cap = max(compressed_size, 1) * limits.max_compression_ratio

    def emit(data: bytes) -> None:
        nonlocal total
        total += len(data)
        if total > cap or (total > limits.ratio_check_min_size and total > ratio_cap):
            out.close()
            raise LimitExceeded(f"{total} bytes from {compressed_size} compressed bytes")
        out.write(data)

    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            break
        if kind in ("zlib", "gzip"):
            data = chunk
            while data:
                emit(dec.decompress(data, CHUNK))
                data = dec.unconsumed_tail
                if dec.eof:
                    break
        else:
            emit(dec.decompress(chunk, CHUNK))
            while not dec.needs_input and not dec.eof:
                emit(dec.decompress(b"", CHUNK))
        if dec.eof:
            break
    if not dec.eof:
        out.close()
        raise EOFError("compressed stream is truncated")
    trailing = (getattr(dec, "unused_data", b"") or src.read(1))
    out.seek(0)
    return out, total, bool(trailing)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def member_name_problem(name: str) -> str | None:
    if "\x00" in name or any(ord(c) < 32 for c in name):
        return "control_chars"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "absolute"
    if ".." in norm.split("/"):
        return "traversal"
    return None


def check_zip(path: Path, f: Findings, limits: ScanLimits, label: str) -> list[zipfile.ZipInfo] | None:
    """Validate a zip's directory; returns the file members or None (issues recorded)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        f.refuse("format_mismatch", f"The {label} is not a readable zip archive.", str(exc), "high")
        return None
    with zf:
        infos = zf.infolist()
    if len(infos) > limits.max_archive_members:
        f.refuse("zip_bomb", "The archive has too many members.", f"{len(infos)} members", "high")
        return None
    total, seen, members = 0, set(), []
    for info in infos:
        name = info.filename
        problem = member_name_problem(name)
        if problem == "control_chars":
            f.refuse("path_traversal", "An archive member has an invalid name.", repr(name), "critical")
        elif problem:
            f.refuse("path_traversal", "An archive member would be written outside the upload "
                     "folder (absolute path or '..').", name, "critical")
        if _is_symlink(info):
            f.refuse("symlink_in_archive", "The archive contains a symbolic link, which is not "
                     "allowed.", name, "critical")
        key = posixpath.normpath(name.replace("\\", "/")).lower()
        if key in seen:
            f.refuse("duplicate_member", "The archive contains the same file name twice.", name, "high")
        seen.add(key)
        if info.flag_bits & 0x1:
            f.refuse("encrypted_archive", "The archive contains encrypted members, which cannot be "
                     "scanned.", name, "high")
        total += info.file_size
        if info.file_size > limits.ratio_check_min_size and \
                info.file_size > max(info.compress_size, 1) * limits.max_compression_ratio:
            f.refuse("zip_bomb", "An archive member expands far more than real model files do "
                     "(possible zip bomb).", f"{name}: {info.compress_size} -> {info.file_size} bytes",
                     "critical")
        if not info.is_dir():
            members.append(info)
    if total > limits.max_decompressed_size:
        f.refuse("zip_bomb", "The archive would expand beyond the allowed size.", f"{total} bytes", "critical")
    return None if f.issues else members


def extract_member(path: Path, info: zipfile.ZipInfo, dest_dir: Path, suffix: str) -> Path:
    """Copy one checked member to a file we name ourselves (never the member's name)."""
    target = dest_dir / f"artifact{suffix}"
    with zipfile.ZipFile(path) as zf, zf.open(info) as src, open(target, "wb") as out:
        remaining = info.file_size + 1
        while chunk := src.read(min(CHUNK, remaining)):
            remaining -= len(chunk)
            if remaining <= 0:
                raise LimitExceeded(info.filename)
            out.write(chunk)
    return target
