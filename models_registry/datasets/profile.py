"""``profile_dataset``: read an upload once, validate it, and describe every column."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .convert import Converted
from .errors import DatasetError, DatasetLimits
from .pii import detect_pii, mask
from .reader import check_column_names, iter_converted, pandas_dtype, read_csv_text, read_parquet_table
from .sniff import detect_container, expected_format, scan_text, sniff_dialect


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
        table = read_parquet_table(path, limits)
        options: dict[str, Any] = {"format": "parquet"}
    else:
        options, table = _read_csv(path, original_name, compression, limits, roles)
    if table.num_rows == 0:
        raise DatasetError("no_rows", "The file has a header but no data rows; upload a file with at least one row.",
                           columns=table.column_names)
    _check_roles_exist(table.column_names, roles)
    columns, types, formats = [], {}, {}
    for name, conv in iter_converted(table, options):
        types[name] = conv.type
        if conv.datetime_format:
            formats[name] = conv.datetime_format
        if name == score:
            _check_score(score, conv)
        columns.append(_describe(name, conv, table.num_rows, limits))
    if file_format == "csv":
        options["column_types"], options["datetime_formats"] = types, formats
    return DatasetProfile(
        original_name=original_name, file_format=file_format, read_options=options, row_count=table.num_rows,
        column_count=table.num_columns, columns=tuple(columns),
        pii_columns=tuple(c["name"] for c in columns if c["pii_kind"]),
        warnings=tuple(_warnings(columns, target, score)), target=target, prediction=prediction, score=score,
        sensitive=sensitive)


def _read_csv(path, original_name, compression, limits, roles) -> tuple[dict[str, Any], pa.Table]:
    info = scan_text(path, compression, limits)
    default = "\t" if ".tsv" in original_name.lower() else ","
    delimiter, header = sniff_dialect(info.sample, default)
    check_column_names(header, limits)
    _check_roles_exist(header, roles)  # before the full read: a typo costs nothing on a big file
    options = {"format": "csv", "delimiter": delimiter, "encoding": info.encoding, "compression": compression,
               "header": 0, "quotechar": '"', "columns": header, "decimal": "," if delimiter == ";" else "."}
    return options, read_csv_text(path, options, limits)


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


def _check_score(score: str, conv: Converted) -> None:
    if conv.type not in ("integer", "float"):
        raise DatasetError("bad_score_column", f"The score column '{score}' is not numeric ({conv.type}); a score must "
                           "be a probability between 0 and 1.", column=score, type=conv.type)
    bounds = pc.min_max(conv.values).as_py()
    lo, hi = bounds["min"], bounds["max"]
    if lo is None or (isinstance(lo, float) and (math.isnan(lo) or math.isnan(hi))):
        raise DatasetError("bad_score_column", f"The score column '{score}' has no usable values; a score must be a "
                           "probability between 0 and 1.", column=score)
    if lo < 0 or hi > 1:
        raise DatasetError("bad_score_column", f"The score column '{score}' ranges from {lo} to {hi}, outside [0, 1]; "
                           "upload probabilities, not labels or raw scores.", column=score, min=lo, max=hi)


def _describe(name: str, conv: Converted, rows: int, limits: DatasetLimits) -> dict[str, Any]:
    values = conv.values
    missing = values.null_count
    if pa.types.is_dictionary(values.type):
        missing += sum(conv.disguised.values())  # Parquet categoricals keep their tokens as values
        values = conv.text  # decoded, tokens nulled: count_distinct has no dictionary kernel
    elif not _has_kernels(values.type):
        values = pc.cast(values, pa.string()) if values.type != pa.null() else pa.chunked_array([], pa.string())
    distinct = pc.count_distinct(values, mode="only_valid").as_py()
    pii_kind, evidence = detect_pii(name, conv.text, conv.type, limits.pii_sample_size)
    uniques = pc.unique(values.drop_null().slice(0, 10_000))
    examples = [str(_json_value(v)) for v in uniques.slice(0, limits.examples).to_pylist()]
    info: dict[str, Any] = {
        "name": name, "type": _display_type(conv, distinct, rows - missing), "pandas_dtype": pandas_dtype(conv),
        "missing": int(missing), "missing_share": round(missing / rows, 6) if rows else 0.0,
        "disguised_missing": dict(conv.disguised), "distinct": int(distinct),
        "examples": [mask(v) for v in examples] if pii_kind else examples,
        "min": None, "max": None, "mean": None, "pii_kind": pii_kind, "pii_evidence": evidence,
    }
    if conv.type in ("integer", "float", "datetime") and distinct:
        bounds = pc.min_max(values).as_py()
        info["min"], info["max"] = _json_value(bounds["min"]), _json_value(bounds["max"])
        if conv.type != "datetime":
            info["mean"] = _json_value(pc.mean(values).as_py())
    return info


def _has_kernels(t: pa.DataType) -> bool:
    """Types Arrow can count and sort directly; the rest (null, time, duration...) are profiled as text."""
    return any(check(t) for check in (pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating,
                                      pa.types.is_decimal, pa.types.is_timestamp, pa.types.is_date,
                                      pa.types.is_string, pa.types.is_large_string, pa.types.is_binary))


def _display_type(conv: Converted, distinct: int, present: int) -> str:
    if conv.type != "string":
        return conv.type
    if pa.types.is_dictionary(conv.values.type) or (0 < distinct <= 100 and distinct <= present / 2):
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
