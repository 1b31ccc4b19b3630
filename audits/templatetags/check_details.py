"""A check's `details` in words: small tables and definition lists instead of raw JSON.

For the fairness checks (FAIR-*) and any check whose details are a flat dict or a list of dicts.
Keys become words ("fpr" → "False positive rate", the same words the checks' charts use,
`audits.checks.fairness.METRIC_WORDS`); parallel lists (FAIR-02/04: groups, rates, sizes, ratio to
the reference group) become one table row per group. What does not fit (nested deeper than an
attribute's table) gives None, and the page keeps the raw JSON for experts either way.

Kept free of `audits.checks` on purpose: importing that package loads pandas and scikit-learn into
the web process. tests/audits/test_check_details.py keeps KEY_WORDS in step with METRIC_WORDS.
"""

from __future__ import annotations

from django import template

from audits.templatetags.validation_tags import _number, status_label

register = template.Library()

# The fairness metrics, as audits.checks.fairness.METRIC_WORDS names them.
METRIC_KEY_WORDS = {
    "selection_rate": "Selection rate",
    "tpr": "True positive rate",
    "fpr": "False positive rate",
    "fnr": "False negative rate",
    "precision": "Precision (positive predictive value)",
    "accuracy": "Accuracy",
    "count": "Rows",
}
KEY_WORDS = {
    **METRIC_KEY_WORDS,
    "group": "Group",
    "evaluable": "Evaluable",
    "n": "Rows",
    "sizes": "Rows",
    "positives": "Actual positives",
    "negatives": "Actual negatives",
    "rates": "Rate",
    "overall": "All rows",
    "by_attribute": "By attribute",
    "min_group_size": "Minimum group size",
    "intersection_min_group_size": "Minimum group size of an intersection",
    "not_evaluable_groups": "Groups too small to evaluate",
    "ratio": "Lowest to highest ratio",
    "diff": "Largest difference",
    "ratio_ci": "Ratio, 95 % confidence interval",
    "diff_ci": "Difference, 95 % confidence interval",
    "reference_group": "Reference group (the largest)",
    "ratio_to_reference": "Ratio to the reference group",
    "lowest": "Lowest group",
    "highest": "Highest group",
    "status": "Status",
    "equalized_odds_difference": "Equalised odds difference",
    "equalized_odds_difference_ci": "Equalised odds difference, 95 % confidence interval",
    "tpr_difference": "True positive rate difference",
    "tpr_difference_ci": "True positive rate difference, 95 % confidence interval",
    "fpr_difference": "False positive rate difference",
    "equal_opportunity_ratio": "Equal opportunity ratio",
    "sample_size": "Rows sampled",
    "fit_rows": "Rows used to fit",
    "eval_rows": "Rows used to evaluate",
}
# Words for the parts of a key no entry above names ("fpr_gap" → "False positive rate gap").
TOKEN_WORDS = {
    "tpr": "true positive rate",
    "fpr": "false positive rate",
    "fnr": "false negative rate",
    "tnr": "true negative rate",
    "ppv": "positive predictive value",
    "ci": "confidence interval",
    "diff": "difference",
    "dp": "demographic parity",
    "eo": "equalised odds",
    "min": "minimum",
    "max": "maximum",
    "pct": "%",
    "n": "number of",
    "auc": "AUC",
    "pr": "PR",
    "roc": "ROC",
    "ks": "KS",
    "psi": "PSI",
    "id": "id",
}
# What "rate" is in each check's parallel lists.
RATE_WORDS = {"FAIR-02": "Selection rate", "FAIR-04": "Precision (positive predictive value)"}
# Keys whose dict is keyed by data (attribute names, group names), not by field names.
DATA_KEYED = {"by_attribute", "not_evaluable_groups"}
SKIP = {"metric_names", "not_evaluable"}  # the words themselves; the "Evaluable" column says it
PARALLEL_KEY = "groups"
PARALLEL_COLUMNS = ("rates", "sizes", "ratio_to_reference")
MAX_ROWS, MAX_COLUMNS = 300, 16


def key_words(key: str) -> str:
    """A key in words: from KEY_WORDS, else its parts ("fpr_gap" → "False positive rate gap")."""
    key = str(key)
    if key in KEY_WORDS:
        return KEY_WORDS[key]
    text = " ".join(TOKEN_WORDS.get(part, part) for part in key.split("_") if part)
    return text[:1].upper() + text[1:] if text else key


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _scalars(value) -> bool:
    return isinstance(value, list) and all(_scalar(v) for v in value)


def _flat(value) -> bool:
    return isinstance(value, dict) and all(_scalar(v) or _scalars(v) for v in value.values())


def _rows_of_dicts(value) -> bool:
    return isinstance(value, list) and bool(value) and all(_flat(v) for v in value)


def cell(value, key: str = "") -> str:
    """A value as the page shows it: numbers rounded, a confidence interval as [low, high]."""
    if key == "status" and isinstance(value, str):
        return str(status_label(value))
    if isinstance(value, list):
        if key.endswith("_ci") and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            return f"[{_number(value[0])}, {_number(value[1])}]"
        return ", ".join(cell(v) for v in value) if value else "none"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # counts come out of pandas as floats: 500.0 rows are 500 rows
    return _number(value)


def _sub(title: str | None, key: str) -> str:
    words = key_words(key)
    return f"{title} · {words[:1].lower()}{words[1:]}" if title else words


def _table(rows: list[dict], title: str | None) -> dict | None:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys and k not in SKIP]
    if len(rows) > MAX_ROWS or len(keys) > MAX_COLUMNS:
        return None
    return {
        "kind": "table",
        "title": title,
        "columns": [key_words(k) for k in keys],
        "rows": [[cell(row.get(k), k) for k in keys] for row in rows],
    }


def _parallel(value: dict, title: str | None, rate_words: str | None) -> tuple[dict | None, set[str]]:
    """FAIR-02/04 keep a group's numbers in lists beside "groups": one table row per group."""
    groups = value.get(PARALLEL_KEY)
    if not _scalars(groups) or not groups:
        return None, set()
    keys = [k for k in PARALLEL_COLUMNS if _scalars(value.get(k)) and len(value[k]) == len(groups)]
    if not keys:
        return None, set()
    rows = [{"group": g, **{k: value[k][i] for k in keys}} for i, g in enumerate(groups)]
    table = _table(rows, _sub(title, PARALLEL_KEY))
    if table is not None and rate_words and "rates" in keys:
        table["columns"][1 + keys.index("rates")] = rate_words
    return table, {PARALLEL_KEY, *keys}


def _blocks(value, title: str | None, depth: int, rate_words: str | None) -> list[dict] | None:
    if _rows_of_dicts(value):
        table = _table(value, title)
        return [table] if table else None
    if not isinstance(value, dict):
        return None
    parallel, used = _parallel(value, title, rate_words)
    pairs: list[tuple[str, str]] = []
    nested: list[dict] = [parallel] if parallel else []
    for key, item in value.items():
        if key in SKIP or key in used:
            continue
        if _scalar(item) or _scalars(item):
            pairs.append((key_words(key), cell(item, key)))
        elif _rows_of_dicts(item):
            table = _table(item, _sub(title, key))
            if table is None:
                return None
            nested.append(table)
        elif isinstance(item, dict) and depth < 2:
            by_data = key in DATA_KEYED
            if by_data and all(_scalar(v) or _scalars(v) for v in item.values()):
                data_pairs = [(str(k), cell(v)) for k, v in item.items()]
                nested.append({"kind": "pairs", "title": _sub(title, key), "pairs": data_pairs})
                continue
            if by_data:
                parts = [_blocks(v, f"{key_words(key)}: {k}", depth + 1, rate_words) for k, v in item.items()]
            else:
                parts = [_blocks(item, _sub(title, key), depth + 1, rate_words)]
            if any(part is None for part in parts):
                return None
            nested += [block for part in parts for block in part or []]
        else:
            return None
    head = [{"kind": "pairs", "title": title, "pairs": pairs}] if pairs else []
    return head + nested


def readable_details(check_id: str, details) -> list[dict] | None:
    """Blocks to render ({"kind": "pairs", "title", "pairs"} or {"kind": "table", "title",
    "columns", "rows"}), or None when the details are left to the raw JSON."""
    if not details:
        return None
    if not (str(check_id).startswith("FAIR-") or _flat(details) or _rows_of_dicts(details)):
        return None
    return _blocks(details, None, 0, RATE_WORDS.get(str(check_id))) or None


@register.simple_tag
def check_details_blocks(record):
    """{% check_details_blocks r as blocks %}: `readable_details` of a check result record."""
    return readable_details(record.check_id, record.details)


@register.simple_tag
def report_details_blocks(record):
    """The PDF report prints the details in words of the fairness checks that warned or failed
    (the ones a reader must follow); the rest, and the raw JSON, stay on the results page."""
    if not str(record.check_id).startswith("FAIR-") or record.status not in ("warn", "fail"):
        return None
    return readable_details(record.check_id, record.details)
