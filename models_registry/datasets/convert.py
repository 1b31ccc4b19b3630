"""From raw strings to typed Arrow columns, identically at upload (inference) and at re-read.

Inference is ours, not pyarrow's: pyarrow infers CSV types from the first block only, so a
numeric column with a ``?`` on line 40,000 would fail late. We read every column as text, then:
missing tokens become null, and the first of integer, float, boolean, datetime, string that
converts *every* remaining value wins. The chosen types are recorded in ``read_options`` so the
worker's re-read applies the same conversion without guessing again.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .errors import DatasetError

# Compared after trimming, case-sensitively: "None" (a Python repr) is missing, but "none" is a real
# category in German Credit's other_debtors. Close to pandas' default na_values, plus "?" and "-".
# "" is the CSV's own empty field; the others are reported as disguised missing values.
MISSING_TOKENS = ("", "?", "-", "NA", "N/A", "n/a", "#N/A", "<NA>", "null", "NULL", "Null", "None", "NaN", "nan", "NAN")
TRUE_TOKENS = ("true", "yes", "t", "y")
BOOL_TOKENS = TRUE_TOKENS + ("false", "no", "f", "n")
# "iso" is Arrow's ISO-8601 cast; day-first is tried before month-first (a European portal).
DATETIME_FORMATS = ("iso", "iso_utc", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%Y %H:%M",
                    "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S")
DATE_PATTERN = r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"  # a value that may be a date: try the formats
TYPES = ("integer", "float", "boolean", "datetime", "string")


@dataclass(frozen=True)
class Converted:
    values: pa.ChunkedArray       # typed, nulls where missing
    type: str                     # one of TYPES
    datetime_format: str | None
    disguised: dict[str, int]     # token as written -> count
    text: pa.ChunkedArray | None  # trimmed text with missing as null, for the PII scan


def convert_text_column(raw: pa.ChunkedArray, *, declared: str | None = None, datetime_format: str | None = None,
                        decimal: str = ".") -> Converted:
    """``raw`` is a CSV column read as strings (never null). ``declared`` skips inference."""
    trimmed, missing, clean = clean_text(raw)
    disguised = _token_counts(trimmed, pc.and_(missing, pc.not_equal(raw, "")))
    if declared is None:
        kind, fmt, values = _infer(clean, decimal)
    else:
        kind, fmt = declared, datetime_format
        values = _convert(clean, kind, fmt or "iso", decimal)
        if values is None:
            raise ValueError(f"cannot convert column to {declared}")
    if kind == "string":
        # Strings keep their original spelling (spaces included); only missing tokens become null.
        values = pc.if_else(missing, pa.scalar(None, pa.string()), raw)
    return Converted(values, kind, fmt, disguised, clean)


def clean_text(raw: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray, pa.ChunkedArray]:
    """(trimmed, missing mask, clean): the text inference and the PII scan look at, with missing as null."""
    trimmed = pc.utf8_trim_whitespace(raw)
    missing = pc.is_in(trimmed, value_set=pa.array(MISSING_TOKENS))
    return trimmed, missing, pc.if_else(missing, pa.scalar(None, pa.string()), trimmed)


def convert_arrow_column(name: str, col: pa.ChunkedArray) -> Converted:
    """A Parquet column: the file declares the type; string columns still get missing tokens nulled."""
    if pa.types.is_nested(col.type) or pa.types.is_map(col.type):
        raise DatasetError("not_a_table", f"Column '{name}' holds nested data ({col.type}); flatten it into plain "
                           "columns and upload again.", column=name, arrow_type=str(col.type))
    kind = arrow_kind(col.type)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        text, disguised = None, {}
        if pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type):
            # Categorical columns are reported, not rewritten: their dictionary is the author's.
            text = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
            mask = _missing_mask(text)
            disguised = _token_counts(text, mask)
            text = pc.if_else(mask, pa.scalar(None, pa.string()), text)
        elif kind == "integer":
            text = pc.cast(col, pa.string())  # for the card-number and id rules of the PII scan
        return Converted(col, kind, None, disguised, text)
    col = pc.cast(col, pa.string())
    trimmed = pc.utf8_trim_whitespace(col)
    missing = _missing_mask(col)
    disguised = _token_counts(trimmed, missing)  # in Parquet even "" is a disguised missing value
    values = pc.if_else(missing, pa.scalar(None, pa.string()), col)
    clean = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed)
    return Converted(values, "string", None, disguised, clean)


def arrow_kind(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    return "string"


def _missing_mask(text: pa.ChunkedArray) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(text)
    return pc.fill_null(pc.is_in(trimmed, value_set=pa.array(MISSING_TOKENS)), False)


def _token_counts(trimmed: pa.ChunkedArray, mask: pa.ChunkedArray) -> dict[str, int]:
    picked = pc.filter(trimmed, mask)
    if len(picked) == 0:
        return {}
    counts = pc.value_counts(picked)
    return {v["values"].as_py(): v["counts"].as_py() for v in counts}


def _infer(clean: pa.ChunkedArray, decimal: str) -> tuple[str, str | None, pa.ChunkedArray]:
    if clean.null_count == len(clean):
        return "string", None, clean
    identifier_like = _has_leading_zero(clean)
    if not identifier_like:  # "01234" is a code (zip, account), not the number 1234
        for kind in ("integer", "float"):
            values = _try_cast(clean, kind, decimal)
            if values is not None:
                return kind, None, values
    distinct = pc.unique(pc.utf8_lower(clean.drop_null()))
    if len(distinct) <= len(BOOL_TOKENS) and all(v in BOOL_TOKENS for v in distinct.to_pylist()):
        return "boolean", None, _to_bool(clean)
    if pc.any(pc.match_substring_regex(clean, DATE_PATTERN)).as_py():
        for fmt in DATETIME_FORMATS:
            values = _try_datetime(clean, fmt)
            if values is not None:
                return "datetime", fmt, values
    return "string", None, clean


PROBE = 256  # values a candidate type is tried on before a whole chunk: most candidates fail at once


class TypeInference:
    """``_infer`` over a column that arrives in chunks: feed every chunk's ``clean`` text to
    ``add``, then ``result()`` is what ``_infer`` gives on the whole column. Each candidate type is
    a conjunction over the chunks (a cast works on the column iff it works on every chunk), so a
    candidate that fails once is never tested again; only surviving candidates cost a pass."""

    def __init__(self, decimal: str = ".") -> None:
        self.decimal = decimal
        self.all_null = True
        self.leading_zero = False
        self.integer = self.float_direct = True
        self.float_replaced = decimal == ","
        self.boolean = True
        self.date_pattern = False
        self.formats = dict.fromkeys(DATETIME_FORMATS, True)

    def add(self, clean: pa.ChunkedArray | pa.Array) -> None:
        if clean.null_count == len(clean):
            return  # every test passes on nulls alone: nothing to learn
        self.all_null = False
        if self._numeric_alive() and _has_leading_zero(clean):
            self.leading_zero = True
        if self._numeric_alive():
            self._add_numeric(clean)
        if self.boolean:
            self.boolean = _all_bool_tokens(clean)
        if any(self.formats.values()):
            if not self.date_pattern:
                self.date_pattern = bool(pc.any(pc.match_substring_regex(clean, DATE_PATTERN)).as_py())
            for fmt, alive in self.formats.items():
                # Parsing fails on the first bad value only after a whole pass, so probe a few first.
                if alive and (_try_datetime(clean.slice(0, PROBE), fmt) is None or _try_datetime(clean, fmt) is None):
                    self.formats[fmt] = False

    def _numeric_alive(self) -> bool:
        return not self.leading_zero and (self.integer or self.float_direct or self.float_replaced)

    def _add_numeric(self, clean) -> None:
        head = clean.slice(0, PROBE)
        if self.integer and (_try_cast(head, "integer", ".") is None or _try_cast(clean, "integer", ".") is None):
            self.integer = False
        if (self.float_direct or self.float_replaced) and _try_cast(clean, "float", ".") is None:
            self.float_direct = False
            if self.float_replaced:  # a chunk that casts directly has no comma: replacing is a no-op there
                self.float_replaced = _try_cast(clean, "float", ",") is not None

    def result(self) -> tuple[str, str | None]:
        if self.all_null:
            return "string", None
        if not self.leading_zero:
            if self.integer:
                return "integer", None
            if self.float_direct or self.float_replaced:
                return "float", None
        if self.boolean:
            return "boolean", None
        if self.date_pattern:
            for fmt, alive in self.formats.items():
                if alive:
                    return "datetime", fmt
        return "string", None


def _all_bool_tokens(clean) -> bool:
    tokens = pa.array(BOOL_TOKENS)
    probe = pc.is_in(pc.utf8_lower(clean.slice(0, PROBE).drop_null()), value_set=tokens)
    if not pc.all(probe).as_py():
        return False
    distinct = pc.unique(pc.utf8_lower(clean.drop_null()))
    return all(v in BOOL_TOKENS for v in distinct.to_pylist())


def _has_leading_zero(clean: pa.ChunkedArray) -> bool:
    # Regex only on the few values starting with 0 or a sign: a full-column regex is slow at 1M rows.
    candidates = pc.filter(clean, _starts_with_any(clean, ("0", "-0", "+0")))
    return len(candidates) > 0 and bool(pc.any(pc.match_substring_regex(candidates, r"^[+-]?0\d")).as_py())


def _starts_with_any(clean: pa.ChunkedArray, prefixes: tuple[str, ...]) -> pa.ChunkedArray:
    mask = pc.starts_with(clean, prefixes[0])
    for prefix in prefixes[1:]:
        mask = pc.or_(mask, pc.starts_with(clean, prefix))
    return mask


def _convert(clean: pa.ChunkedArray, kind: str, fmt: str, decimal: str) -> pa.ChunkedArray | None:
    if kind in ("integer", "float"):
        return _try_cast(clean, kind, decimal)
    if kind == "boolean":
        return _to_bool(clean)
    if kind == "datetime":
        return _try_datetime(clean, fmt)
    return clean


def _try_cast(clean: pa.ChunkedArray, kind: str, decimal: str) -> pa.ChunkedArray | None:
    target = pa.int64() if kind == "integer" else pa.float64()
    try:
        return pc.cast(clean, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if kind == "float" and decimal == ",":
        try:
            return pc.cast(pc.replace_substring(clean, ",", "."), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return None


def _to_bool(clean: pa.ChunkedArray) -> pa.ChunkedArray:
    truth = pc.is_in(pc.utf8_lower(clean), value_set=pa.array(TRUE_TOKENS))
    return pc.if_else(pc.is_null(clean), pa.scalar(None, pa.bool_()), truth)


def _try_datetime(clean: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray | None:
    try:
        if fmt == "iso":
            return pc.cast(clean, pa.timestamp("us"))
        if fmt == "iso_utc":
            return pc.cast(clean, pa.timestamp("us", tz="UTC"))
        return pc.strptime(clean, format=fmt, unit="us", error_is_null=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
