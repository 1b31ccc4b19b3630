"""The one error type of the dataset reader, and the limits an upload must respect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Extensions we accept, as shown to users. ``.txt`` is accepted because spreadsheet tools
# export tab/semicolon files under that name; the content, not the name, decides the delimiter.
CSV_EXTENSIONS = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")
PARQUET_EXTENSIONS = (".parquet",)
ACCEPTED_EXTENSIONS = CSV_EXTENSIONS + PARQUET_EXTENSIONS

ERROR_CODES = frozenset({
    "empty_file", "no_rows", "ragged_rows", "bad_encoding", "duplicate_columns", "empty_column_name",
    "missing_column", "bad_score_column", "format_mismatch", "unsupported_format", "truncated_file",
    "too_large", "not_a_table", "bad_read_options",
})


class DatasetError(Exception):
    """A dataset the portal cannot use. ``code`` is stable (API clients switch on it), ``message`` is
    one sentence for the uploader, ``extra`` carries the details (line numbers, names, suggestions)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "extra": self.extra}

    def __repr__(self) -> str:
        return f"DatasetError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class DatasetLimits:
    """What one upload may contain. ``max_bytes`` counts *decompressed* bytes, checked while
    streaming, so a gzip bomb is stopped after at most one chunk past the limit."""

    max_rows: int = 5_000_000
    max_columns: int = 1_000
    max_bytes: int = 2 * 1024**3
    pii_sample_size: int = 5_000
    examples: int = 5
    # Read chunk for the streaming passes: large enough to be fast, small enough to bound memory.
    chunk_bytes: int = 1 << 20
    # CSV parser block (pyarrow): the profile reads and describes one block at a time.
    csv_block_bytes: int = 1 << 20
    # Parquet rows decoded at a time while profiling.
    parquet_batch_rows: int = 65_536
    # Distinct values are counted exactly (by 64-bit hash) up to this many hashes over all columns
    # together (8 bytes each, twice while merging: 64 MB); a column past its share is estimated.
    distinct_budget: int = 4_000_000

    def __post_init__(self) -> None:
        for name in ("max_rows", "max_columns", "max_bytes", "pii_sample_size", "chunk_bytes", "csv_block_bytes",
                     "parquet_batch_rows", "distinct_budget"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"DatasetLimits.{name} must be a positive integer, got {value!r}")


def human_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover
