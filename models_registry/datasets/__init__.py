"""Django-free reader and profiler for uploaded datasets (CSV or Parquet).

``profile_dataset(path, original_name, target=..., ...)`` reads the upload once and returns a
frozen ``DatasetProfile`` (schema, missing values, PII flags, warnings, and the ``read_options``
needed to read it again); every problem with the file is a ``DatasetError`` with a stable
``code``, a one-sentence ``message`` and an ``extra`` dict. ``read_dataset(path, read_options)``
is the worker's re-read: it returns the pandas frame the profile described.

Design choices
--------------
* The content decides, not the name: magic bytes tell Parquet, gzip and the usual mistakes
  (zip/xlsx, pickle, xls, bzip2...) apart; the name only says which family was *meant*, and a
  contradiction is ``format_mismatch``.
* CSV text is checked in one streaming pass over the (decompressed) bytes: that pass enforces
  ``max_bytes`` (gzip bombs stop after one chunk past the limit), detects truncated gzip, and
  proves the encoding: a BOM's encoding, else strict UTF-8 over the whole file, else cp1252,
  else latin-1; binary data is refused by its control characters.
* pyarrow's streaming CSV reader reads every column as text (so ``max_rows`` stops early and
  late surprises cannot break inference); Python's csv module runs only after a parse error,
  to name the first ragged line. Types are inferred on the whole column (``convert``) and
  recorded in ``read_options``, so the worker's re-read converts identically.
* Missing values: empty fields plus disguised tokens (``?``, ``NA``, ``N/A``, ``-``, ``null``,
  ``None``, ``NaN``..., exact spelling after trimming, so German Credit's real category ``none``
  survives) become nulls in the frame; the profile reports the tokens per column and warns.
  Values keep their original spelling otherwise.
  Codes with a leading zero (``01234``) stay strings. Parquet types are the file's own.
* PII (``pii``): rules on an evenly spaced sample of at most 5,000 values per column; names
  only ever strengthen a value rule, never replace it. Examples of PII columns are masked.
* The frame: integers are ``Int64`` and booleans ``boolean`` (nullable, so a gap never turns
  ages into floats), text is pandas' ``str``; "categorical" in the profile is a display type
  (at most 100 distinct values, each repeated), the dtype stays ``str``. ``read_options`` holds
  format, delimiter, encoding, compression, header, quotechar, decimal, the header's column
  names (JSON objects lose key order in PostgreSQL), column_types and datetime_formats.
* Error codes: see ``ERROR_CODES``; ``bad_read_options`` (not from the issue) is what
  ``read_dataset`` raises for stored options it cannot use.
* ``read_dataset`` has two modes. ``"model"`` (the default, used by the validation worker) reads
  the file exactly as ``pandas.read_csv`` / ``read_parquet`` would with the sniffed delimiter,
  encoding, compression and decimal mark: default dtypes, pandas' own NA spellings, and every
  other value as written (``?`` stays ``?``, ``yes`` stays ``yes``), because a model must be
  scored on the values it was trained on. ``"typed"`` returns the profile's typed frame
  (nullable Int64/boolean, disguised tokens as nulls) for display and profiling.
* ``read_dataset`` trusts the file was profiled (artifacts are immutable, by sha256): it still
  stops at ``max_rows`` but does not repeat the decompressed-size pass.
"""

from pathlib import Path

import pandas as pd

from .errors import ACCEPTED_EXTENSIONS, ERROR_CODES, DatasetError, DatasetLimits
from .profile import DatasetProfile, profile_dataset
from .reader import check_read_options, read_csv_text, read_parquet_table, to_pandas


def read_dataset(path: Path, read_options: dict, *, limits: DatasetLimits | None = None,
                 mode: str = "model") -> pd.DataFrame:
    """Re-reads a profiled file with the options its profile recorded; no guessing.

    mode="model": the frame pandas gives by default (what models are trained on);
    mode="typed": the profile's typed frame."""
    check_read_options(read_options)
    limits = limits or DatasetLimits()
    path = Path(path)
    if mode == "model":
        return _read_as_pandas(path, read_options, limits)
    if mode != "typed":
        raise ValueError(f"unknown read mode {mode!r}")
    if read_options["format"] == "parquet":
        table = read_parquet_table(path, limits)
    else:
        table = read_csv_text(path, read_options, limits)
    return to_pandas(table, read_options)


def _read_as_pandas(path: Path, read_options: dict, limits: DatasetLimits) -> pd.DataFrame:
    if read_options["format"] == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(
        path, sep=read_options.get("delimiter", ","), encoding=read_options.get("encoding", "utf-8"),
        compression=read_options.get("compression") or None, quotechar=read_options.get("quotechar", '"'),
        decimal=read_options.get("decimal", "."), header=0, nrows=limits.max_rows, low_memory=False)


__all__ = ["ACCEPTED_EXTENSIONS", "ERROR_CODES", "DatasetError", "DatasetLimits", "DatasetProfile",
           "profile_dataset", "read_dataset"]
