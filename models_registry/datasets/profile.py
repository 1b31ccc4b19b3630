"""``profile_dataset``: read an upload, validate it, and describe every column, in two streaming
passes so memory stays bounded whatever the file's size.

The first pass counts rows, infers each CSV column's type (``convert.TypeInference``: the same
answer as inferring on the whole column) and counts the values the personal-data sample is drawn
from; the second converts each block to those types and feeds ``stats`` (the same statistics as
describing the whole column at once). Between the two only a summary per column is kept: counts,
token counts, at most ``examples`` examples, ``pii_sample_size`` sampled values, the distinct-value
hashes (bounded by ``distinct_budget``) and, for numbers, minimum, maximum and sum.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .convert import Converted, TypeInference, arrow_kind, clean_text, convert_arrow_column, convert_text_column
from .errors import DatasetError, DatasetLimits
from .pii import detect_pii_in_sample, mask, sample_positions
from .reader import CsvParse, check_column_names, csv_stream, pandas_dtype, parquet_schema, parquet_stream
from .sniff import detect_container, expected_format, scan_text, sniff_dialect
from .stats import DistinctCounter, Examples, Extremes, PiiSample

@dataclass(frozen=True)
class DatasetProfile:
    """What the portal shows and stores about an uploaded dataset. ``to_dict()`` is JSON-safe."""

    original_name: str
    file_format: str
    read_options: dict[str, Any]
    row_count: int
    column_count: int
    columns: tuple[dict[str, Any], ...]
    pii_columns: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    target: str | None = None
    prediction: str | None = None
    score: str | None = None
    sensitive: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> dict[str, Any]:
        return next(c for c in self.columns if c["name"] == name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("columns", "pii_columns", "warnings", "sensitive"):
            data[key] = list(data[key])
        return data


def profile_dataset(path: Path, original_name: str, *, target: str | None = None, prediction: str | None = None,
                    score: str | None = None, sensitive: Sequence[str] = (),
                    limits: DatasetLimits | None = None) -> DatasetProfile:
    """Reads ``path`` (uploaded as ``original_name``) and returns its profile, or raises DatasetError."""
    limits = limits or DatasetLimits()
    path = Path(path)
    sensitive = (sensitive,) if isinstance(sensitive, str) else tuple(sensitive)  # one name, not its letters
    roles = _roles(target, prediction, score, sensitive)
    file_format, compression = detect_container(path, expected_format(original_name))
    if file_format == "parquet":
        source: _Source = _ParquetSource(path, limits)
    else:
        source = _CsvSource(path, _csv_options(path, original_name, compression, limits, roles), limits)
    survey = source.survey()
    if survey.rows == 0:
        raise DatasetError("no_rows", "The file has a header but no data rows; upload a file with at least one row.",
                           columns=source.names)
    _check_roles_exist(source.names, roles)
    if score:
        _check_score_type(score, survey.kinds[source.names.index(score)])
    summaries = source.describe(survey)
    if score:
        _check_score_range(score, summaries[source.names.index(score)])
    columns = [summary.to_dict() for summary in summaries]
    options = source.options
    if file_format == "csv":
        options["column_types"] = dict(zip(source.names, survey.kinds))
        options["datetime_formats"] = {n: f for n, f in zip(source.names, survey.formats) if f}
    return DatasetProfile(
        original_name=original_name, file_format=file_format, read_options=options, row_count=survey.rows,
        column_count=len(source.names), columns=tuple(columns),
        pii_columns=tuple(c["name"] for c in columns if c["pii_kind"]),
        warnings=tuple(_warnings(columns, target, score)), target=target, prediction=prediction, score=score,
        sensitive=sensitive)


def _csv_options(path, original_name, compression, limits, roles) -> dict[str, Any]:
    info = scan_text(path, compression, limits)
    default = "\t" if ".tsv" in original_name.lower() else ","
    delimiter, header = sniff_dialect(info.sample, default)
    check_column_names(header, limits)
    _check_roles_exist(header, roles)  # before the full read: a typo costs nothing on a big file
    return {"format": "csv", "delimiter": delimiter, "encoding": info.encoding, "compression": compression,
            "header": 0, "quotechar": '"', "columns": header, "decimal": "," if delimiter == ";" else "."}


# --- the two passes ------------------------------------------------------------------------------

@dataclass
class _Survey:
    """The first pass: rows, each column's type, and how many values its PII sample is drawn from."""

    rows: int
    kinds: list[str]
    formats: list[str | None]
    text_counts: list[int]


class _Source:
    names: list[str]
    options: dict[str, Any]
    limits: DatasetLimits

    def survey(self) -> _Survey:
        raise NotImplementedError

    def describe(self, survey: _Survey) -> list[_ColumnSummary]:
        raise NotImplementedError

    def _summaries(self, survey: _Survey) -> list[_ColumnSummary]:
        cap = max(10_000, self.limits.distinct_budget // max(1, len(self.names)))
        return [_ColumnSummary(name, kind, text_count, self.limits, cap)
                for name, kind, text_count in zip(self.names, survey.kinds, survey.text_counts)]


class _CsvSource(_Source):
    def __init__(self, path: Path, options: dict[str, Any], limits: DatasetLimits) -> None:
        self.path, self.options, self.limits = path, options, limits
        self.names = list(options["columns"])
        self.parse: CsvParse | None = None

    def survey(self) -> _Survey:
        state: dict[str, Any] = {}

        def start() -> Callable[[pa.RecordBatch], None]:  # again from scratch if the parser retries
            state["rows"] = 0
            state["inference"] = [TypeInference(self.options["decimal"]) for _ in self.names]
            state["texts"] = [0] * len(self.names)

            def sink(batch: pa.RecordBatch) -> None:
                state["rows"] += batch.num_rows
                for i, inference in enumerate(state["inference"]):
                    _, _, clean = clean_text(pa.chunked_array([batch.column(i)]))
                    inference.add(clean)
                    state["texts"][i] += len(clean) - clean.null_count
            return sink

        self.parse = csv_stream(self.path, self.options, self.limits, start)
        results = [inference.result() for inference in state["inference"]]
        return _Survey(rows=state["rows"], kinds=[k for k, _ in results], formats=[f for _, f in results],
                       text_counts=state["texts"])

    def describe(self, survey: _Survey) -> list[_ColumnSummary]:
        summaries = self._summaries(survey)
        decimal = self.options["decimal"]

        def sink(batch: pa.RecordBatch) -> None:
            for i, summary in enumerate(summaries):
                summary.add(convert_text_column(pa.chunked_array([batch.column(i)]), declared=survey.kinds[i],
                                                datetime_format=survey.formats[i], decimal=decimal))

        csv_stream(self.path, self.options, self.limits, lambda: sink, parse=self.parse)
        return summaries


class _ParquetSource(_Source):
    def __init__(self, path: Path, limits: DatasetLimits) -> None:
        self.path, self.limits = path, limits
        self.options = {"format": "parquet"}
        self.names = list(parquet_schema(path, limits).names)

    def survey(self) -> _Survey:
        rows, texts = 0, [0] * len(self.names)
        kinds = [arrow_kind(t) for t in parquet_schema(self.path, self.limits).types]

        def sink(batch: pa.RecordBatch) -> None:
            nonlocal rows
            rows += batch.num_rows
            for i, name in enumerate(self.names):
                conv = convert_arrow_column(name, pa.chunked_array([batch.column(i)]))
                kinds[i] = conv.type
                if conv.text is not None:
                    texts[i] += len(conv.text) - conv.text.null_count

        parquet_stream(self.path, self.limits, sink)
        return _Survey(rows=rows, kinds=kinds, formats=[None] * len(self.names), text_counts=texts)

    def describe(self, survey: _Survey) -> list[_ColumnSummary]:
        summaries = self._summaries(survey)

        def sink(batch: pa.RecordBatch) -> None:
            for i, (name, summary) in enumerate(zip(self.names, summaries)):
                summary.add(convert_arrow_column(name, pa.chunked_array([batch.column(i)])))

        parquet_stream(self.path, self.limits, sink)
        return summaries


class _ColumnSummary:
    """One column's description, built block by block (what ``_describe`` computed on a whole column)."""

    def __init__(self, name: str, kind: str, text_count: int, limits: DatasetLimits, distinct_cap: int) -> None:
        self.name, self.kind, self.limits = name, kind, limits
        self.rows = self.missing = 0
        self.disguised: dict[str, int] = {}
        self.distinct = DistinctCounter(distinct_cap)
        self.examples = Examples(limits.examples)
        self.extremes = Extremes(kind) if kind in ("integer", "float", "datetime") else None
        self.pii = PiiSample(sample_positions(text_count, limits.pii_sample_size)) \
            if kind in ("string", "integer") else None
        self.dtype: str | None = None
        self.dictionary = False

    def add(self, conv: Converted) -> None:
        values = conv.values
        if self.dtype is None:
            self.dtype, self.dictionary = pandas_dtype(conv), pa.types.is_dictionary(values.type)
        self.rows += len(values)
        missing = values.null_count
        if pa.types.is_dictionary(values.type):
            missing += sum(conv.disguised.values())  # Parquet categoricals keep their tokens as values
            values = conv.text  # decoded, tokens nulled: count_distinct has no dictionary kernel
        elif not _has_kernels(values.type):
            values = pc.cast(values, pa.string()) if values.type != pa.null() else pa.chunked_array([], pa.string())
        self.missing += missing
        for token, count in conv.disguised.items():
            self.disguised[token] = self.disguised.get(token, 0) + count
        self.distinct.add(values)
        self.examples.add(values)
        if self.extremes is not None:
            self.extremes.add(values)
        if self.pii is not None:
            self.pii.add(conv.text)

    def to_dict(self) -> dict[str, Any]:
        distinct, estimated = self.distinct.count()
        pii_kind, evidence = (detect_pii_in_sample(self.name, self.pii.values, self.kind, self.limits.pii_sample_size)
                              if self.pii is not None else (None, None))
        examples = [str(_json_value(v)) for v in self.examples.to_list()]
        rows, missing = self.rows, self.missing
        info: dict[str, Any] = {
            "name": self.name, "type": _display_type(self.kind, self.dictionary, distinct, rows - missing),
            "pandas_dtype": self.dtype, "missing": int(missing), "missing_share": round(missing / rows, 6) if rows else 0.0,
            "disguised_missing": dict(self.disguised), "distinct": int(distinct),
            "examples": [mask(v) for v in examples] if pii_kind else examples,
            "min": None, "max": None, "mean": None, "pii_kind": pii_kind, "pii_evidence": evidence,
        }
        if self.extremes is not None and distinct:
            low, high = self.extremes.bounds()
            info["min"], info["max"] = _json_value(low), _json_value(high)
            if self.kind != "datetime":
                info["mean"] = _json_value(self.extremes.mean())
        if estimated:
            info["distinct_estimated"] = True
        return info


def _roles(target, prediction, score, sensitive) -> list[tuple[str, str]]:
    pairs = [("target", target), ("prediction", prediction), ("score", score)]
    pairs += [("sensitive", s) for s in sensitive]
    return [(role, name) for role, name in pairs if name]


def _check_roles_exist(names: list[str], roles: list[tuple[str, str]]) -> None:
    missing = []
    for role, name in roles:
        if name not in names:
            lower = {n.lower(): n for n in names}
            close = ([lower[name.lower()]] if name.lower() in lower else []) + [
                m for m in difflib.get_close_matches(name, names, n=3, cutoff=0.6) if m.lower() != name.lower()]
            missing.append({"column": name, "role": role, "suggestions": close})
    if missing:
        first = missing[0]
        hint = f" Did you mean {' or '.join(repr(s) for s in first['suggestions'])}?" if first["suggestions"] else ""
        raise DatasetError("missing_column", f"The {first['role']} column '{first['column']}' is not in the file; "
                           f"pick one of its columns.{hint}", column=first["column"], role=first["role"],
                           suggestions=first["suggestions"], missing=missing, available=list(names))


def _check_score_type(score: str, kind: str) -> None:
    if kind not in ("integer", "float"):
        raise DatasetError("bad_score_column", f"The score column '{score}' is not numeric ({kind}); a score must "
                           "be a probability between 0 and 1.", column=score, type=kind)


def _check_score_range(score: str, summary: _ColumnSummary) -> None:
    lo, hi = summary.extremes.bounds() if summary.extremes is not None else (None, None)
    if lo is None or (isinstance(lo, float) and (math.isnan(lo) or math.isnan(hi))):
        raise DatasetError("bad_score_column", f"The score column '{score}' has no usable values; a score must be a "
                           "probability between 0 and 1.", column=score)
    if lo < 0 or hi > 1:
        raise DatasetError("bad_score_column", f"The score column '{score}' ranges from {lo} to {hi}, outside [0, 1]; "
                           "upload probabilities, not labels or raw scores.", column=score, min=lo, max=hi)


def _has_kernels(t: pa.DataType) -> bool:
    """Types Arrow can count and sort directly; the rest (null, time, duration...) are profiled as text."""
    return any(check(t) for check in (pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating,
                                      pa.types.is_decimal, pa.types.is_timestamp, pa.types.is_date,
                                      pa.types.is_string, pa.types.is_large_string, pa.types.is_binary))


def _display_type(kind: str, dictionary: bool, distinct: int, present: int) -> str:
    if kind != "string":
        return kind
    if dictionary or (0 < distinct <= 100 and distinct <= present / 2):
        return "categorical"
    return "string"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _json_value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _warnings(columns: list[dict[str, Any]], target: str | None, score: str | None) -> list[str]:
    out = []
    for c in columns:
        name = c["name"]
        if c["disguised_missing"]:
            tokens = ", ".join(f"'{t}' ({n:,})" for t, n in c["disguised_missing"].items())
            out.append(f"Column '{name}' writes missing values as {tokens}; they are counted as missing.")
        if c["distinct"] == 0:
            out.append(f"Column '{name}' is empty in every row.")
        elif c["distinct"] == 1 and name != target:
            out.append(f"Column '{name}' holds a single value in every row, so it carries no information.")
        if c["pii_kind"]:
            out.append(f"Column '{name}' looks like personal data ({c['pii_kind']}); check that it is needed and lawful "
                       "to process.")
    if all(_is_number(c["name"]) for c in columns):
        out.append("Every column name is a number, so the first row may be data rather than a header; add a header "
                   "row if so.")
    by_name = {c["name"]: c for c in columns}
    if target and target in by_name:
        t = by_name[target]
        if t["distinct"] <= 1:
            out.append(f"The target '{target}' has a single class, so a classifier cannot be evaluated on it.")
        if t["missing"]:
            out.append(f"The target '{target}' is missing in {t['missing']:,} rows; those rows cannot be scored.")
    if score and by_name[score]["type"] == "integer":
        out.append(f"The score '{score}' holds only whole numbers (0/1); a score should be a probability, is it a label?")
    return out
