"""Reading the bytes into an Arrow table: pyarrow's streaming CSV reader (every column as text),
Python's csv module only to name the first ragged line, pyarrow.parquet for Parquet."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .convert import Converted, convert_arrow_column, convert_text_column
from .errors import DatasetError, DatasetLimits, human_bytes

# pyarrow needs a whole row inside one block; the default 1 MiB fails on a giant text cell, so
# such files get one retry with big blocks (memory per block, not per file).
BLOCK_SIZES = (1 << 20, 64 << 20)


def read_csv_text(path: Path, options: dict, limits: DatasetLimits) -> pa.Table:
    """The CSV as a table of non-null strings, streamed batch by batch so ``max_rows`` stops early."""
    try:
        return _read_blocks(path, options, limits, newlines_in_values=False)
    except pa.ArrowInvalid as exc:
        if "CSV parse error" not in str(exc):
            raise _unreadable(exc) from None
    except (OSError, UnicodeDecodeError) as exc:  # profiling proved both; only a changed file gets here
        raise DatasetError("truncated_file", "The file can no longer be decompressed or decoded as recorded; upload "
                           "it again.", detail=str(exc)) from None
    _raise_first_ragged_line(path, options)
    # No ragged line for the csv module: a quoted field spans lines, which needs the slower parser mode.
    try:
        return _read_blocks(path, options, limits, newlines_in_values=True)
    except pa.ArrowInvalid as exc:
        raise _unreadable(exc) from None


def _read_blocks(path: Path, options: dict, limits: DatasetLimits, *, newlines_in_values: bool) -> pa.Table:
    for block_size in BLOCK_SIZES:
        try:
            return _stream_csv(path, options, limits, newlines_in_values=newlines_in_values, block_size=block_size)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block_size == BLOCK_SIZES[-1]:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _unreadable(exc: Exception) -> DatasetError:
    if "straddl" in str(exc):
        return DatasetError("too_large", f"A single row is larger than {BLOCK_SIZES[-1] >> 20} MiB; split very long "
                            "text values or upload a smaller extract.", limit="row_bytes", detail=str(exc))
    return DatasetError("not_a_table", "The file could not be read as a CSV table; check that it is a delimited text "
                        "file with consistent quoting.", detail=str(exc))


def _stream_csv(path: Path, options: dict, limits: DatasetLimits, *, newlines_in_values: bool,
                block_size: int) -> pa.Table:
    names = options["columns"]
    encoding = options["encoding"]
    read = pacsv.ReadOptions(encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding, block_size=block_size)
    parse = pacsv.ParseOptions(delimiter=options["delimiter"], quote_char=options.get("quotechar", '"'),
                               newlines_in_values=newlines_in_values)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[],
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    batches, rows = [], 0
    with pa.input_stream(str(path), compression=options.get("compression")) as stream:
        reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
        if reader.schema.names != names:
            raise DatasetError("not_a_table", "The header could not be read consistently; check the file's quoting.",
                               header=reader.schema.names)
        for batch in reader:
            rows += batch.num_rows
            if rows > limits.max_rows:
                raise too_many_rows(limits)
            batches.append(batch)
    return pa.Table.from_batches(batches, schema=reader.schema)


def too_many_rows(limits: DatasetLimits) -> DatasetError:
    return DatasetError("too_large", f"The file has more than {limits.max_rows:,} rows; upload a sample of at most "
                        f"{limits.max_rows:,} rows.", limit="max_rows", max_rows=limits.max_rows)


def _raise_first_ragged_line(path: Path, options: dict) -> None:
    expected = len(options["columns"])
    previous_limit = csv.field_size_limit(BLOCK_SIZES[-1])  # process-wide, hence restored below
    try:
        with _open_text(path, options) as text:
            reader = csv.reader(text, delimiter=options["delimiter"], quotechar=options.get("quotechar", '"'))
            try:
                _first_ragged(reader, expected)
            except csv.Error as exc:
                raise DatasetError("not_a_table", f"Line {reader.line_num:,} cannot be parsed as CSV ({exc}); fix "
                                   "that line and upload again.", line=reader.line_num, detail=str(exc)) from None
    finally:
        csv.field_size_limit(previous_limit)


def _first_ragged(reader, expected: int) -> None:
    next(reader, None)
    for row in reader:
        if row and len(row) != expected:
            line = reader.line_num
            raise DatasetError(
                "ragged_rows", f"Line {line:,} has {len(row)} fields but the header has {expected}; fix that "
                "line (often an unquoted delimiter inside a value) and upload again.",
                line=line, fields=len(row), expected=expected)


def _open_text(path: Path, options: dict) -> io.TextIOBase:
    raw = pa.input_stream(str(path), compression=options.get("compression"))
    return io.TextIOWrapper(raw, encoding=options["encoding"], newline="")


def read_parquet_table(path: Path, limits: DatasetLimits) -> pa.Table:
    """Limits are checked from the footer first, then again on the real sizes, row group by row
    group (a footer can lie). A file that makes Arrow fail anywhere counts as damaged."""
    try:
        parquet = pq.ParquetFile(path)
        meta, names = parquet.metadata, parquet.schema_arrow.names
        check_column_names(names, limits)
        if meta.num_rows > limits.max_rows:
            raise too_many_rows(limits)
        declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if declared > limits.max_bytes:
            raise _parquet_too_large(limits)
        groups, size = [], 0
        for i in range(meta.num_row_groups):
            groups.append(parquet.read_row_group(i))
            size += groups[-1].nbytes
            if size > limits.max_bytes:
                raise _parquet_too_large(limits)
        return pa.concat_tables(groups) if groups else parquet.schema_arrow.empty_table()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DatasetError("truncated_file", "The Parquet file is damaged or cut short and cannot be read; upload it "
                           "again.", detail=str(exc)) from None


def _parquet_too_large(limits: DatasetLimits) -> DatasetError:
    return DatasetError("too_large", f"The Parquet data decompresses to more than {human_bytes(limits.max_bytes)}; "
                        "upload a smaller extract.", limit="max_bytes", max_bytes=limits.max_bytes)


def check_column_names(names: list[str], limits: DatasetLimits) -> None:
    if len(names) > limits.max_columns:
        raise too_many_columns(len(names), limits)
    empty = [i + 1 for i, n in enumerate(names) if not str(n).strip()]
    if empty:
        raise DatasetError("empty_column_name", f"Column {empty[0]} has no name in the header; give every column a "
                           "name and upload again.", positions=empty)
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    dupes = [n for n, count in seen.items() if count > 1]
    if dupes:
        listed = ", ".join(f"'{n}'" for n in dupes)
        raise DatasetError("duplicate_columns", f"The header repeats the column name(s) {listed}; make every column "
                           "name unique and upload again.", columns=dupes)


def too_many_columns(count: int, limits: DatasetLimits) -> DatasetError:
    return DatasetError("too_large", f"The file has {count:,} columns, more than the {limits.max_columns:,} allowed; "
                        "upload fewer columns.", limit="max_columns", max_columns=limits.max_columns, columns=count)


def iter_converted(table: pa.Table, options: dict) -> Iterator[tuple[str, Converted]]:
    """Typed columns one at a time (so only one column's temporaries are alive); CSV columns follow
    ``options["column_types"]`` when present, else their types are inferred."""
    declared = options.get("column_types") or {}
    formats = options.get("datetime_formats") or {}
    decimal = options.get("decimal", ".")
    for i, name in enumerate(table.column_names):
        if options["format"] == "parquet":
            yield name, convert_arrow_column(name, table.column(i))
            continue
        try:
            yield name, convert_text_column(table.column(i), declared=declared.get(name), decimal=decimal,
                                            datetime_format=formats.get(name))
        except ValueError:
            raise DatasetError("bad_read_options", f"Column '{name}' no longer converts to {declared.get(name)}; "
                               "profile the dataset again.", column=name) from None


def to_pandas(table: pa.Table, options: dict) -> pd.DataFrame:
    """Nullable integer and boolean dtypes, so a missing value never turns an integer column into floats."""
    typed = pa.table({name: conv.values for name, conv in iter_converted(table, options)})
    mapper: Callable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
    return typed.to_pandas(types_mapper=mapper)


def pandas_dtype(conv: Converted) -> str:
    t = conv.values.type
    if t == pa.int64():
        return "Int64"
    if t == pa.bool_():
        return "boolean"
    return str(pa.table({"c": pa.array([], type=t)}).to_pandas().dtypes["c"])


def check_read_options(options: dict) -> None:
    if not isinstance(options, dict) or options.get("format") not in ("csv", "parquet"):
        raise DatasetError("bad_read_options", "The stored read options are not valid; profile the dataset again.",
                           options=options if isinstance(options, dict) else None)
    if options["format"] == "csv":
        missing = [k for k in ("delimiter", "encoding", "columns") if k not in options]
        try:
            codecs.lookup(options.get("encoding", ""))
        except LookupError:
            missing.append("encoding")
        if missing:
            raise DatasetError("bad_read_options", "The stored read options are incomplete; profile the dataset again.",
                               missing=missing)
