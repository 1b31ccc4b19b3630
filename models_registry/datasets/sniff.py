"""What is this file? Extension, magic bytes, compression, encoding and delimiter.

Everything here streams: the file (or its gzip stream) is read once in ``limits.chunk_bytes``
chunks, which is where the decompressed-size limit and gzip truncation are enforced.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import ACCEPTED_EXTENSIONS, CSV_EXTENSIONS, PARQUET_EXTENSIONS, DatasetError, DatasetLimits, human_bytes

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_CHARS = 64 * 1024
# Other formats people upload by mistake, recognised so the message can say what the file really is.
FOREIGN_MAGIC = (
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls workbook"),
    (b"BZh", "a bzip2-compressed file (only gzip compression is supported)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file (only gzip compression is supported)"),
    (b"(\xb5/\xfd", "a zstd-compressed file (only gzip compression is supported)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x89HDF", "an HDF5 file"),
    (b"%PDF", "a PDF document"),
    (b"ARROW1", "an Arrow IPC / Feather file"),
)
BOMS = ((codecs.BOM_UTF32_LE, None), (codecs.BOM_UTF32_BE, None), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class TextInfo:
    encoding: str
    compression: str | None
    sample: str  # the first SAMPLE_CHARS decoded characters, BOM removed
    decoded_bytes: int


def expected_format(original_name: str) -> str:
    """``"csv"`` or ``"parquet"`` from the uploaded name; refuses anything else."""
    lower = original_name.lower().strip()
    for ext in sorted(ACCEPTED_EXTENSIONS, key=len, reverse=True):
        if lower.endswith(ext):
            return "parquet" if ext in PARQUET_EXTENSIONS else "csv"
    suffix = "".join(Path(lower).suffixes[-2:]) or "no extension"
    raise DatasetError(
        "unsupported_format",
        f"Files of type '{suffix}' are not accepted; upload a CSV ({', '.join(CSV_EXTENSIONS)}) or a Parquet "
        f"(.parquet) file.", extension=suffix, accepted=list(ACCEPTED_EXTENSIONS))


def detect_container(path: Path, expected: str) -> tuple[str, str | None]:
    """Returns (format, compression) from magic bytes; raises when they contradict the name."""
    size = path.stat().st_size
    if size == 0:
        raise DatasetError("empty_file", "The file is empty (0 bytes); upload a file that contains a header and rows.")
    with path.open("rb") as fh:
        head = fh.read(16)
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    if head.startswith(PARQUET_MAGIC):
        if expected != "parquet":
            raise _mismatch(expected, "a Parquet file", ".parquet")
        if size < 12 or tail != PARQUET_MAGIC:
            raise DatasetError("truncated_file", "The Parquet file is cut short (its footer is missing); upload it again.",
                               size=size)
        return "parquet", None
    if head.startswith(GZIP_MAGIC):
        if expected == "parquet":
            raise _mismatch(expected, "a gzip-compressed file", ".csv.gz")
        return "csv", "gzip"
    _refuse_foreign(head, expected)
    if expected == "parquet":
        raise _mismatch(expected, "not a Parquet file (it looks like text, probably CSV)", ".csv")
    return "csv", None


def _refuse_foreign(head: bytes, expected: str) -> None:
    for magic, what in FOREIGN_MAGIC:
        if head.startswith(magic):
            raise _mismatch(expected, what, None)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        raise _mismatch(expected, "a Python pickle (a serialised object, not a table)", None)


def _mismatch(expected: str, actual: str, hint: str | None) -> DatasetError:
    fix = f"rename it to {hint} or export it again" if hint else "export the data as CSV or Parquet"
    return DatasetError("format_mismatch", f"The file is named as {expected.upper()} but its content is {actual}; {fix}.",
                        expected=expected, detected=actual)


class _LimitedReader:
    """Yields decompressed chunks, refusing more than ``limits.max_bytes`` and truncated gzip streams."""

    def __init__(self, path: Path, compression: str | None, limits: DatasetLimits) -> None:
        self.path, self.compression, self.limits = path, compression, limits

    def chunks(self):
        total = 0
        with self.path.open("rb") as raw:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if self.compression == "gzip" else raw
            while True:
                try:
                    chunk = stream.read(self.limits.chunk_bytes)
                except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                    raise DatasetError(
                        "truncated_file", "The gzip file is cut short or damaged, so it cannot be decompressed; "
                        "upload it again.", detail=str(exc)) from None
                if not chunk:
                    return
                total += len(chunk)
                if total > self.limits.max_bytes:
                    what = "decompresses to" if self.compression else "is"
                    raise DatasetError(
                        "too_large", f"The data {what} more than {human_bytes(self.limits.max_bytes)}; upload a "
                        "smaller extract.", limit="max_bytes", max_bytes=self.limits.max_bytes)
                yield chunk


def scan_text(path: Path, compression: str | None, limits: DatasetLimits) -> TextInfo:
    """Streaming passes: decompress, enforce size, pick the encoding, keep a decoded sample.

    UTF-8 (or the BOM's encoding) is checked over the whole file; only if it fails is the file read
    again as cp1252, and latin-1 (which decodes any byte) is the last resort."""
    first = next(_LimitedReader(path, compression, limits).chunks(), b"")
    if not first:
        raise DatasetError("empty_file", "The file contains no data once decompressed; upload a file with a header and rows.")
    _refuse_foreign(first[:16], "csv")
    if first.startswith(PARQUET_MAGIC):
        raise _mismatch("csv", "a compressed Parquet file", ".parquet")
    bom_encoding = _bom_encoding(first)
    for name in [bom_encoding] if bom_encoding else ["utf-8", "cp1252", "latin-1"]:
        decoded = _decode_all(path, compression, limits, name)
        if decoded is not None:
            sample, total = decoded
            sample = sample.lstrip("\ufeff")
            _check_text_like(sample, first, name)
            return TextInfo(encoding=name, compression=compression, sample=sample, decoded_bytes=total)
    raise DatasetError("bad_encoding", f"The file starts with a {bom_encoding} byte-order mark but its content is not "
                       f"valid {bom_encoding}; save it again as UTF-8.", encoding=bom_encoding)


def _decode_all(path: Path, compression: str | None, limits: DatasetLimits, name: str) -> tuple[str, int] | None:
    decoder = codecs.getincrementaldecoder(name)("strict")
    sample, total = "", 0
    try:
        for chunk in _LimitedReader(path, compression, limits).chunks():
            total += len(chunk)
            text = decoder.decode(chunk)
            if len(sample) < SAMPLE_CHARS:
                sample += text[: SAMPLE_CHARS - len(sample)]
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return sample, total


def _bom_encoding(first: bytes) -> str | None:
    for bom, name in BOMS:
        if first.startswith(bom):
            if name is None:
                raise DatasetError("bad_encoding", "The file is UTF-32 encoded, which is not supported; save it as UTF-8.",
                                   encoding="utf-32")
            return name
    return None


def _check_text_like(sample: str, first: bytes, encoding: str) -> None:
    """Binary data decodes 'successfully' as latin-1; control characters give it away."""
    head = first[:4096]
    if encoding not in ("utf-16",) and head.count(0) > len(head) // 4 and _looks_utf16(head):
        raise DatasetError("bad_encoding", "The file looks like UTF-16 text without a byte-order mark; save it as UTF-8 "
                           "(or UTF-16 with a BOM).", encoding="utf-16 without BOM")
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n\f") or 0x7F <= ord(ch) < 0xA0 and ch != "\x85")
    if controls > max(2, len(sample) // 100):
        raise DatasetError("not_a_table", "The file contains binary data rather than text, so it is not a CSV table; "
                           "upload a CSV or Parquet file.", control_characters=controls, encoding_tried=encoding)


def _looks_utf16(head: bytes) -> bool:
    # ASCII text in UTF-16 has a zero in every other byte and almost none in between; binary
    # padding has zeros at both parities.
    even, odd = head[0::2].count(0) / max(1, len(head[0::2])), head[1::2].count(0) / max(1, len(head[1::2]))
    return max(even, odd) > 0.4 and min(even, odd) < 0.05


def sniff_dialect(sample: str, expected_delimiter: str | None = None) -> tuple[str, list[str]]:
    """Chooses the delimiter whose field count is most consistent over the sample's rows (ties go
    to the wider header), and returns it with the parsed header."""
    best, best_score = expected_delimiter or ",", (-1.0, 0)
    for delim in DELIMITERS:
        counts = [len(row) for row in _sample_rows(sample, delim)]
        if not counts or counts[0] < 2:
            continue
        score = (round(sum(1 for c in counts if c == counts[0]) / len(counts), 2), counts[0])
        if score > best_score:
            best, best_score = delim, score
    rows = _sample_rows(sample, best)
    if not rows:
        raise DatasetError("empty_file", "The file contains only blank lines; upload a file with a header and rows.")
    return best, rows[0]


def _sample_rows(sample: str, delim: str) -> list[list[str]]:
    rows = []
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delim)
    try:
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):  # blank lines, as pyarrow skips them
                rows.append(row)
            if len(rows) >= 500:
                break
    except csv.Error:
        pass  # a stray quote or NUL: judge the delimiter on the rows read so far
    if len(sample) >= SAMPLE_CHARS and len(rows) > 1:
        rows = rows[:-1]  # the last row of a cut sample is probably incomplete
    return rows
