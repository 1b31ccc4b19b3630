"""Content sniffing, bounded decompression and zip hygiene (nothing is extracted by name)."""

from __future__ import annotations

import bz2
import lzma
import posixpath
import stat
import struct
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
    trailing = getattr(dec, "unused_data", b"") or src.read(1)
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
            f.refuse(
                "path_traversal",
                "An archive member would be written outside the upload folder (absolute path or '..').",
                name,
                "critical",
            )
        if _is_symlink(info):
            f.refuse(
                "symlink_in_archive", "The archive contains a symbolic link, which is not allowed.", name, "critical"
            )
        key = posixpath.normpath(name.replace("\\", "/")).lower()
        if key in seen:
            f.refuse("duplicate_member", "The archive contains the same file name twice.", name, "high")
        seen.add(key)
        if info.flag_bits & 0x1:
            f.refuse(
                "encrypted_archive", "The archive contains encrypted members, which cannot be scanned.", name, "high"
            )
        total += info.file_size
        if (
            info.file_size > limits.ratio_check_min_size
            and info.file_size > max(info.compress_size, 1) * limits.max_compression_ratio
        ):
            f.refuse(
                "zip_bomb",
                "An archive member expands far more than real model files do (possible zip bomb).",
                f"{name}: {info.compress_size} -> {info.file_size} bytes",
                "critical",
            )
        if not info.is_dir():
            members.append(info)
    if total > limits.max_decompressed_size:
        f.refuse("zip_bomb", "The archive would expand beyond the allowed size.", f"{total} bytes", "critical")
    return None if f.issues else members


_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"


def zip_layout_problems(path: Path, max_members: int = 10_000) -> list[tuple[str, str, str]]:
    """(code, message, detail) for every byte of ``path`` that is not part of exactly one zip.

    zipfile (like most readers) finds the end record by searching backwards and silently
    tolerates bytes before the first member ("self-extracting" offsets), between members and
    after the end record; each of those can hold a second file (a pickle prefixed to a zip is
    still a valid pickle).  Here the first local header must sit at offset 0, members must
    follow each other with no gap or overlap (a data descriptor after a member is allowed),
    the central directory must start right after the last member and end where the (zip64)
    end records begin, and the end record plus its comment must end exactly at EOF."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        tail_len = min(size, 22 + 0xFFFF)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        at = tail.rfind(_EOCD)
        while at >= 0 and len(tail) - at < 22:
            at = tail.rfind(_EOCD, 0, at)
        if at < 0:
            return [("format_mismatch", "The file is not a readable zip archive.", "no end record")]
        eocd = size - tail_len + at
        _, _, _, n_total, cd_size, cd_offset, comment_len = struct.unpack("<4x4H2LH", tail[at : at + 22])
        problems = []
        end = eocd + 22 + comment_len
        if end < size:
            problems.append(
                (
                    "zip_trailing_data",
                    "The zip archive is followed by extra bytes, which can hide a second file.",
                    f"{size - end} bytes after the end record",
                )
            )
        elif end > size:
            return [
                (
                    "zip_layout_inconsistent",
                    "The zip archive's end record is cut off.",
                    f"comment of {comment_len} bytes runs past EOF",
                )
            ]
        cd_end = eocd
        if eocd >= 20:
            fh.seek(eocd - 20)
            locator = fh.read(20)
            if locator[:4] == _EOCD64_LOCATOR:
                z64_offset = struct.unpack("<4xLQL", locator)[1]
                fh.seek(z64_offset)
                record = fh.read(56)
                if len(record) < 56 or record[:4] != _EOCD64:
                    return problems + [
                        (
                            "zip_layout_inconsistent",
                            "The zip64 end record is missing or misplaced.",
                            f"offset {z64_offset}",
                        )
                    ]
                (rec_size,) = struct.unpack("<Q", record[4:12])
                n_total, cd_size, cd_offset = struct.unpack("<QQQ", record[32:56])
                if z64_offset + 12 + rec_size != eocd - 20:
                    problems.append(
                        (
                            "zip_layout_inconsistent",
                            "There are bytes between the zip64 end records.",
                            f"offset {z64_offset}",
                        )
                    )
                cd_end = z64_offset
        if cd_offset + cd_size != cd_end:
            code, what = (
                ("zip_leading_data", "before the archive")
                if cd_offset + cd_size < cd_end
                else ("zip_layout_inconsistent", "inside the archive")
            )
            return problems + [
                (
                    code,
                    f"The zip archive has extra bytes {what} (its recorded offsets "
                    "do not match its position in the file), which can hide a second file.",
                    f"central directory recorded at {cd_offset}, found at {cd_end - cd_size}",
                )
            ]
        fh.seek(0)
        first = fh.read(4)
        if n_total == 0:
            if cd_offset != 0 or cd_size != 0:
                problems.append(
                    ("zip_leading_data", "The empty zip archive has bytes before it.", f"{cd_offset} bytes")
                )
            return problems
        if first != _LOCAL:
            return problems + [
                (
                    "zip_leading_data",
                    "The file has bytes before the first zip member, which can hide a second file (e.g. a pickle).",
                    f"starts with {first!r}",
                )
            ]
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            return problems + [("format_mismatch", "The file is not a readable zip archive.", str(exc)[:200])]
        if len(infos) > max_members:
            return problems
        pos, prev_descriptor = 0, False
        for info in sorted(infos, key=lambda i: i.header_offset):
            gap = info.header_offset - pos
            if gap and not (prev_descriptor and _is_descriptor(fh, pos, gap)):
                return problems + [
                    (
                        "zip_layout_inconsistent",
                        "The zip archive has bytes between "
                        "members or members that overlap, which can hide a second file.",
                        f"{gap:+d} bytes before {info.filename!r}",
                    )
                ]
            fh.seek(info.header_offset)
            header = fh.read(30)
            if len(header) < 30 or header[:4] != _LOCAL:
                return problems + [
                    ("zip_layout_inconsistent", "A zip member's local header is missing.", info.filename)
                ]
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            local_name = fh.read(name_len)
            if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace"):
                return problems + [
                    (
                        "zip_layout_inconsistent",
                        "A zip member's local header names "
                        "another file than the directory does (readers would disagree "
                        "on what the archive holds).",
                        info.filename,
                    )
                ]
            crc, csize, usize = struct.unpack("<LLL", header[14:26])
            if (
                not info.flag_bits & 0x8
                and 0xFFFFFFFF not in (csize, usize)
                and (crc, csize, usize) != (info.CRC, info.compress_size, info.file_size)
            ):
                return problems + [
                    (
                        "zip_layout_inconsistent",
                        "A zip member's local header disagrees with the directory on its size or checksum.",
                        info.filename,
                    )
                ]
            pos = info.header_offset + 30 + name_len + extra_len + info.compress_size
            prev_descriptor = bool(info.flag_bits & 0x8)
        gap = cd_offset - pos
        if gap and not (prev_descriptor and _is_descriptor(fh, pos, gap)):
            problems.append(
                (
                    "zip_layout_inconsistent",
                    "The zip archive has bytes between its last member and its directory, or members that overlap it.",
                    f"{gap:+d} bytes before the central directory",
                )
            )
        return problems


def _is_descriptor(fh, pos: int, gap: int) -> bool:
    """A data descriptor (optional signature, CRC, sizes: 12/16 or zip64 20/24 bytes)."""
    if gap not in (12, 16, 20, 24):
        return False
    if gap in (16, 24):
        fh.seek(pos)
        return fh.read(4) == _DESCRIPTOR
    return True


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
