"""Reading the bytes into Arrow: pyarrow's streaming CSV reader (every column as text), Python's
csv module only to name the first ragged line, pyarrow.parquet for Parquet.

Both formats stream: ``csv_stream``/``parquet_stream`` hand one batch at a time to a sink, so the
profiler holds a block, never the file. ``read_csv_text``/``read_parquet_table`` collect the
batches into a table for the worker's re-read, which needs the whole frame anyway."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .convert import Converted, convert_arrow_column, convert_text_column
from .errors import DatasetError, DatasetLimits, human_bytes

# pyarrow needs a whole row inside one block; the default block fails on a giant text cell, so
# such files get one retry with big blocks (memory per block, not per file).
BIG_BLOCK = 64 << 20
BLOCK_SIZES = (1 << 20, BIG_BLOCK)

Sink = Callable[[pa.RecordBatch], None]


@dataclass(frozen=True)
class CsvParse:
    """Parser settings that read a file: a second pass with the same settings sees the same batches."""

    newlines_in_values: bool
    block_size: int


class _ParseFailed(Exception):
    """pyarrow could not parse the bytes (kept apart from errors the sink raises)."""

    def __init__(self, exc: Exception):
        super().__init__(str(exc))
        self.exc = exc


def read_csv_text(path: Path, options: dict, limits: DatasetLimits) -> pa.Table:
    """The CSV as a table of non-null strings, streamed batch by batch so ``max_rows`` stops early."""
    batches: list[pa.RecordBatch] = []
    names = options["columns"]

    def start() -> Sink:
        batches.clear()
        return batches.append

    csv_stream(path, options, limits, start)
    schema = pa.schema([(n, pa.string()) for n in names])
    return pa.Table.from_batches(batches, schema=schema)


def csv_stream(path: Path, options: dict, limits: DatasetLimits, start: Callable[[], Sink],
               parse: CsvParse | None = None) -> CsvParse:
    """Feeds every batch of the CSV to the sink ``start()`` returns. Parser settings are found as
    the file needs them (a block too small for a row, a quoted value spanning lines); each retry
    calls ``start()`` again, so the sink begins afresh. Returns the settings that read the file;
    pass them back as ``parse`` for a second pass that sees exactly the same batches."""
    if parse is not None:
        try:
            _feed(path, options, limits, parse, start())
        except _ParseFailed as failed:
            raise _unreadable(failed.exc) from None
        return parse
    try:
        return _feed_blocks(path, options, limits, start, newlines_in_values=False)
    except _ParseFailed as failed:
        if "CSV parse error" not in str(failed.exc):
            raise _unreadable(failed.exc) from None
    except (OSError, UnicodeDecodeError) as exc:  # profiling proved both; only a changed file gets here
        raise DatasetError("truncated_file", "The file can no longer be decompressed or decoded as recorded; upload "
                           "it again.", detail=str(exc)) from None
    _raise_first_ragged_line(path, options)
    # No ragged line for the csv module: a quoted field spans lines, which needs the slower parser mode.
    try:
        return _feed_blocks(path, options, limits, start, newlines_in_values=True)
    except _ParseFailed as failed:
        raise _unreadable(failed.exc) from None


def _feed_blocks(path: Path, options: dict, limits: DatasetLimits, start: Callable[[], Sink], *,
                 newlines_in_values: bool) -> CsvParse:
    sizes = (limits.csv_block_bytes, BIG_BLOCK) if limits.csv_block_bytes < BIG_BLOCK else (limits.csv_block_bytes,)
    for block_size in sizes:
        parse = CsvParse(newlines_in_values=newlines_in_values, block_size=block_size)
        try:
            _feed(path, options, limits, parse, start())
            return parse
        except _ParseFailed as failed:
            if "straddl" not in str(failed.exc) or block_size == sizes[-1]:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _unreadable(exc: Exception) -> DatasetError:
    if "straddl" in str(exc):
        return DatasetError("too_large", f"A single row is larger than {BIG_BLOCK >> 20} MiB; split very long "
                            "text values or upload a smaller extract.", limit="row_bytes", detail=str(exc))
    return DatasetError("not_a_table", "The file could not be read as a CSV table; check that it is a delimited text "
                        "file with consistent quoting.", detail=str(exc))


def _feed(path: Path, options: dict, limits: DatasetLimits, parse: CsvParse, sink: Sink) -> None:
    names = options["columns"]
    encoding = options["encoding"]
    read = pacsv.ReadOptions(encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
                             block_size=parse.block_size)
    parse_options = pacsv.ParseOptions(delimiter=options["delimiter"], quote_char=options.get("quotechar", '"'),
                                       newlines_in_values=parse.newlines_in_values)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[],
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    rows = 0
    with pa.input_stream(str(path), compression=options.get("compression")) as stream:
        try:
            reader = pacsv.open_csv(stream, read_options=read, parse_options=parse_options, convert_options=convert)
        except pa.ArrowInvalid as exc:
            raise _ParseFailed(exc) from None
        if reader.schema.names != names:
            raise DatasetError("not_a_table", "The header could not be read consistently; check the file's quoting.",
                               header=reader.schema.names)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise _ParseFailed(exc) from None
            rows += batch.num_rows
            if rows > limits.max_rows:
                raise too_many_rows(limits)
            sink(batch)  # outside the try: the sink's own errors are not parse errors


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
    """The whole Parquet file as a table (the worker's re-read), with the limits of ``parquet_stream``."""
    batches: list[pa.RecordBatch] = []
    schema = parquet_stream(path, limits, batches.append)
    return pa.Table.from_batches(batches) if batches else schema.empty_table()


def parquet_schema(path: Path, limits: DatasetLimits) -> pa.Schema:
    """The file's Arrow schema, after the footer's limits (a footer can lie: ``parquet_stream``
    checks the real sizes again)."""
    try:
        parquet = pq.ParquetFile(path)
        meta, schema = parquet.metadata, parquet.schema_arrow
        check_column_names(schema.names, limits)
        if meta.num_rows > limits.max_rows:
            raise too_many_rows(limits)
        declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if declared > limits.max_bytes:
            raise _parquet_too_large(limits)
        return schema
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _damaged_parquet(exc) from None


def parquet_stream(path: Path, limits: DatasetLimits, sink: Sink) -> pa.Schema:
    """Feeds the file to ``sink`` in batches of ``limits.parquet_batch_rows`` rows, counting real rows
    and decoded bytes against the limits. A file that makes Arrow fail anywhere counts as damaged."""
    schema = parquet_schema(path, limits)
    rows = size = 0
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=limits.parquet_batch_rows, use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _damaged_parquet(exc) from None
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return schema
        except MemoryError:
            raise
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _damaged_parquet(exc) from None
        rows += batch.num_rows
        size += batch.nbytes
        if rows > limits.max_rows:
            raise too_many_rows(limits)
        if size > limits.max_bytes:
            raise _parquet_too_large(limits)
        sink(batch)  # outside the try: the sink's own errors are not damage


def _damaged_parquet(exc: Exception) -> DatasetError:
    return DatasetError("truncated_file", "The Parquet file is damaged or cut short and cannot be read; upload it "
                        "again.", detail=str(exc))


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
