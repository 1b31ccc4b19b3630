"""Data review family (catalogue 4.6): schema, missing values (incl. disguised tokens),
constant columns, duplicates, conflicting labels, outliers, imbalance, leakage, contamination,
split sanity and personal data. Each check looks at every split it is given (train and test)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import charts
from ._frame import encode, is_numeric
from .base import Outcome, RunOptions, ValidationContext, grade, threshold
from .registry import CLASSIFICATION, check

F = "data_quality"
DATA = "Art. 10(3)"
BIAS = "Art. 10(2)(f)"
_WORST = {"fail": 3, "warn": 2, "pass": 1, "info": 0, "not_evaluable": 0}


def _splits(ctx: ValidationContext) -> dict[str, pd.DataFrame]:
    cols = [*ctx.features, ctx.target]
    out = {"train": ctx.train[cols]} if ctx.train is not None and set(cols) <= set(ctx.train) else {}
    out["test"] = ctx.test[cols]
    return out


def _row_hash(df: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


# ---- DATA-01 -----------------------------------------------------------------------------------
@check(
    "DATA-01",
    F,
    "Schema and mixed types",
    suites="quick",
    article=DATA,
    recommendation="Clean the column so that it holds one type; parse numbers stored as text.",
)
def schema_types(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    tokens = set(pol.missing_tokens)
    schema, mixed = {}, []
    for split, df in _splits(ctx).items():
        for c in df.columns:
            s = df[c]
            info = {"dtype": str(s.dtype), "n_unique": int(s.nunique())}
            if s.dtype == object or pd.api.types.is_string_dtype(s):
                vals = s.dropna()
                vals = vals[~vals.astype(str).str.strip().str.lower().isin(tokens)]
                if len(vals):
                    num = pd.to_numeric(vals, errors="coerce").notna().to_numpy()
                    shares = {"number": float(num.mean()), "string": float(1 - num.mean())}
                    info["type_shares"] = shares
                    rare = min(shares.values())
                    if pol.rare_type_min <= rare <= pol.rare_type_max:
                        mixed.append(
                            {
                                "split": split,
                                "column": c,
                                **shares,
                                "examples": vals[num if shares["number"] < 0.5 else ~num]
                                .astype(str)
                                .unique()[:5]
                                .tolist(),
                            }
                        )
            schema.setdefault(split, {})[c] = info
    status = "fail" if mixed else "pass"
    return Outcome(
        status=status,
        value=len(mixed),
        threshold=threshold("<=", 0, rare_type_between=[pol.rare_type_min, pol.rare_type_max]),
        summary=(
            f"{len(mixed)} column(s) mix numbers and text: {', '.join(m['column'] for m in mixed)}."
            if mixed
            else "Every column holds a single value type."
        ),
        details={"schema": schema, "mixed_type_columns": mixed},
        affected=[m["column"] for m in mixed] or None,
        evidence=mixed or None,
    )


# ---- DATA-02 -----------------------------------------------------------------------------------
@check(
    "DATA-02",
    F,
    "Missing values and disguised missing tokens",
    suites="quick",
    article=DATA,
    recommendation="Convert disguised tokens ('?', 'NA', -999 ...) to real missing values and "
    "decide explicitly how the model should treat them.",
)
def missing_values(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    rows, possible = [], []
    for split, df in _splits(ctx).items():
        for c in df.columns:
            s = df[c]
            na = s.isna().to_numpy()
            kinds: dict[str, int] = {"NaN": int(na.sum())} if na.any() else {}
            if is_numeric(s):
                vals = s[~na]
                for v in pol.sentinel_values:  # only a sentinel if it sits at the edge of the range
                    n = int((vals == v).sum())
                    if n and v in (vals.min(), vals.max()):
                        kinds[str(v)] = n
            elif len(s):
                norm = s[~na].astype(str).str.strip()
                low = norm.str.lower()
                hits = norm[low.isin(pol.missing_tokens)]
                kinds.update({repr(k): int(n) for k, n in hits.value_counts().items()})
                maybe = norm[low.isin(pol.ambiguous_tokens)].value_counts()
                possible += [{"split": split, "column": c, "token": k, "count": int(n)} for k, n in maybe.items()]
            if kinds:
                total = sum(kinds.values())
                rows.append(
                    {
                        "split": split,
                        "column": c,
                        "share": total / max(len(s), 1),
                        "null_types": kinds,
                        "disguised": sum(v for k, v in kinds.items() if k != "NaN"),
                    }
                )
    worst = max((r["share"] for r in rows), default=0.0)
    disguised = [r for r in rows if r["disguised"]]
    status = grade(worst, op="<=", fail=pol.max_missing_share_fail, warn=pol.max_missing_share_warn)
    if status == "pass" and (disguised or any(len(r["null_types"]) > 1 for r in rows)):
        status = "warn"
    severity = None
    if status == "pass" and possible:
        status, severity = "warn", "low"
    tokens = sorted({k for r in disguised for k in r["null_types"] if k != "NaN"})
    summary = (
        f"Highest missing share is {worst:.1%}"
        + (
            f"; disguised missing tokens {', '.join(tokens)} found in "
            f"{', '.join(sorted({r['column'] for r in disguised}))}"
            if disguised
            else ""
        )
        + (
            f"; values that may mean 'missing' (or be a real category): "
            f"{', '.join(sorted({repr(p['token']) + ' in ' + p['column'] for p in possible}))}"
            if possible
            else ""
        )
        + "."
    )
    return Outcome(
        status=status,
        value=worst,
        summary=summary,
        severity=severity,
        threshold=threshold("<=", pol.max_missing_share_fail, pol.max_missing_share_warn),
        details={
            "columns": rows,
            "possible_tokens": possible,
            "tokens_searched": list(pol.missing_tokens),
            "sentinels_searched": list(pol.sentinel_values),
        },
        charts=[
            charts.bars(
                [f"{r['column']} ({r['split']})" for r in rows],
                [r["share"] for r in rows],
                "Missing share by column",
                "Column",
                "Share",
            )
        ]
        if rows
        else [],
        affected=sorted({r["column"] for r in rows if r["share"] > pol.max_missing_share_warn or r["disguised"]})
        or None,
        evidence=disguised or rows[:10],
    )


# ---- DATA-03 -----------------------------------------------------------------------------------
@check(
    "DATA-03",
    F,
    "Constant and near-constant columns",
    suites="quick",
    article=DATA,
    recommendation="Drop constant columns; check near-constant ones for data collection errors.",
)
def constant_columns(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    rows = []
    for split, df in _splits(ctx).items():
        for c in df.columns:
            if not len(df):
                continue
            top = df[c].value_counts(dropna=False, normalize=True)
            if len(top) == 1 or top.iloc[0] >= pol.near_constant_share:
                rows.append(
                    {
                        "split": split,
                        "column": c,
                        "kind": "constant" if len(top) == 1 else "near-constant",
                        "top_value": top.index[0],
                        "top_share": float(top.iloc[0]),
                    }
                )
    cols = sorted({r["column"] for r in rows})
    return Outcome(
        status="warn" if rows else "pass",
        value=len(cols),
        threshold=threshold("<=", 0, near_constant_share=pol.near_constant_share),
        summary=f"{len(cols)} constant or near-constant column(s)" + (f": {', '.join(cols)}." if cols else "."),
        details={"columns": rows},
        affected=cols or None,
        evidence=rows or None,
    )


# ---- DATA-04 -----------------------------------------------------------------------------------
@check(
    "DATA-04",
    F,
    "Duplicate rows and columns",
    suites="quick",
    article=DATA,
    recommendation="Remove duplicates or document why repeated records are expected.",
)
def duplicates(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    per, dup_cols = {}, []
    for split, df in _splits(ctx).items():
        h = _row_hash(df)
        dup = pd.Series(h).duplicated().to_numpy()
        per[split] = {
            "rows": len(df),
            "duplicate_rows": int(dup.sum()),
            "share": float(dup.mean()) if len(df) else 0.0,
            "examples": df[dup].head(5).to_dict("records"),
        }
        col_hash = {c: pd.util.hash_pandas_object(df[c], index=False).to_numpy().tobytes() for c in df.columns}
        seen: dict[bytes, str] = {}
        for c, hv in col_hash.items():
            if hv in seen:
                dup_cols.append({"split": split, "column": c, "same_as": seen[hv]})
            seen.setdefault(hv, c)
    worst = max(p["share"] for p in per.values())
    status = grade(worst, op="<=", fail=pol.duplicate_share_max, warn=0.0)
    if status == "pass" and dup_cols:
        status = "warn"
    return Outcome(
        status=status,
        value=worst,
        threshold=threshold("<=", pol.duplicate_share_max, 0.0),
        summary=f"{sum(p['duplicate_rows'] for p in per.values())} duplicate rows "
        f"(worst split {worst:.1%}) and {len(dup_cols)} duplicated column(s).",
        details={"by_split": per, "duplicated_columns": dup_cols},
        affected=[d["column"] for d in dup_cols] or None,
        evidence={s: p for s, p in per.items() if p["duplicate_rows"]} or dup_cols,
    )


# ---- DATA-05 -----------------------------------------------------------------------------------
@check(
    "DATA-05",
    F,
    "Conflicting labels",
    suites="quick",
    article=DATA,
    recommendation="Identical inputs with different labels point to label noise or a missing "
    "feature; review those records with the data owner.",
)
def conflicting_labels(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    per, examples = {}, []
    for split, df in _splits(ctx).items():
        key = pd.Series(_row_hash(df[ctx.features]), index=df.index)
        n_labels = df[ctx.target].astype(str).groupby(key).transform("nunique")
        bad = (n_labels > 1).to_numpy()
        per[split] = {
            "rows_in_conflict": int(bad.sum()),
            "share": float(bad.mean()) if len(df) else 0.0,
            "groups": int(key[bad].nunique()),
        }
        for _, grp in df[bad].groupby(key[bad], sort=False):
            if len(examples) >= 5:
                break
            examples.append(
                {
                    "split": split,
                    "features": grp[ctx.features].iloc[0].to_dict(),
                    "labels": grp[ctx.target].astype(str).value_counts().to_dict(),
                }
            )
    worst = max(p["share"] for p in per.values())
    return Outcome(
        status=grade(worst, op="<=", fail=pol.conflicting_share_max),
        value=worst,
        threshold=threshold("<=", pol.conflicting_share_max),
        summary=f"{sum(p['rows_in_conflict'] for p in per.values())} rows share identical "
        f"features with a different label (worst split {worst:.2%}).",
        details={"by_split": per, "examples": examples},
        evidence=examples or None,
    )


# ---- DATA-07 -----------------------------------------------------------------------------------
@check(
    "DATA-07",
    F,
    "Outliers (IQR)",
    suites="standard",
    article=DATA,
    recommendation="Check the flagged values for entry errors.",
)
def outliers(ctx: ValidationContext, run: RunOptions) -> Outcome:
    k = ctx.policy.data_quality.outlier_iqr_k
    rows = []
    for split, df in _splits(ctx).items():
        for c in [c for c in ctx.features if is_numeric(df[c])]:
            s = df[c].dropna()
            q1, q3 = s.quantile([0.25, 0.75])
            lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
            share = float(((s < lo) | (s > hi)).mean()) if len(s) else 0.0
            rows.append(
                {
                    "split": split,
                    "column": c,
                    "share": share,
                    "low": lo,
                    "high": hi,
                    "min": s.min() if len(s) else None,
                    "max": s.max() if len(s) else None,
                }
            )
    rows.sort(key=lambda r: -r["share"])
    top = rows[0] if rows else None
    return Outcome(
        status="info",
        value=top["share"] if top else 0.0,
        details={"columns": rows, "iqr_k": k},
        summary=(
            f"Highest outlier share is {top['share']:.1%} in {top['column']} ({top['split']})."
            if top
            else "No numeric features."
        ),
    )


# ---- DATA-08 -----------------------------------------------------------------------------------
@check(
    "DATA-08",
    F,
    "Class imbalance",
    suites="quick",
    article=BIAS,
    tasks=CLASSIFICATION,
    recommendation="Rebalance or reweight the training data and report per-class metrics.",
)
def class_imbalance(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    split, df = next(iter(_splits(ctx).items()))
    shares = df[ctx.target].astype(str).value_counts(normalize=True)
    v = float(shares.min())
    return Outcome(
        status=grade(v, op=">=", fail=0.0, warn=pol.min_class_share) if v > 0 else "fail",
        value=v,
        threshold=threshold(">=", 0.0, pol.min_class_share),
        summary=f"Smallest class {shares.idxmin()!r} is {v:.1%} of the {split} data "
        f"(policy minimum {pol.min_class_share:.0%}).",
        details={"split": split, "class_shares": shares.to_dict()},
        charts=[charts.bars(shares.index, shares.values, "Class shares", "Class", "Share")],
        affected=str(shares.idxmin()),
    )


# ---- DATA-10 -----------------------------------------------------------------------------------
@check(
    "DATA-10",
    F,
    "Target leakage (single-feature power)",
    suites="standard",
    article=DATA,
    recommendation="Remove the leaking feature: it will not be available, or not mean the "
    "same thing, at prediction time.",
)
def target_leakage(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    split = "train" if ctx.train is not None else "test"
    df = ctx.frame(split)
    idx = ctx.sample_index(split, pol.leakage_sample, "DATA-10")
    df = df.iloc[idx]
    power = {c: _single_feature_power(ctx, df, c) for c in ctx.features}
    ranked = sorted(power.items(), key=lambda kv: -kv[1])
    leaks = [c for c, p in ranked if p > pol.leakage_power_max]
    top = ranked[0] if ranked else ("-", 0.0)
    ids = [
        c
        for c in ctx.features
        if df[c].nunique() == len(df) and not is_numeric(df[c]) or re.search(r"(^|_)id$", str(c).lower())
    ]
    return Outcome(
        status="fail" if leaks else "pass",
        value=top[1],
        severity="critical" if leaks else None,
        threshold=threshold("<=", pol.leakage_power_max),
        summary=(
            f"Feature(s) {', '.join(leaks)} alone predict the target almost perfectly "
            f"(power {top[1]:.3f} > {pol.leakage_power_max})."
            if leaks
            else f"Strongest single feature is {top[0]} with power {top[1]:.3f}."
        ),
        details={
            "power": dict(ranked),
            "split": split,
            "sample_size": len(df),
            "identifier_like_columns": ids,
            "method": "depth-4 tree on one feature, 2-fold CV; power = 2*AUC-1 "
            "(classification) or R^2 (regression), floored at 0",
        },
        charts=[
            charts.bars(
                [c for c, _ in ranked[:20]],
                [p for _, p in ranked[:20]],
                "Single-feature predictive power",
                "Feature",
                "Power",
                ref=pol.leakage_power_max,
            )
        ],
        affected=leaks or None,
        evidence={c: power[c] for c in leaks} or None,
    )


def _single_feature_power(ctx: ValidationContext, df: pd.DataFrame, col: str) -> float:
    from sklearn.metrics import r2_score, roc_auc_score
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X = encode(df, [col])
    y = df[ctx.target]
    cv = KFold(2, shuffle=True, random_state=ctx.seed)
    if ctx.task == "regression":
        pred = cross_val_predict(
            DecisionTreeRegressor(max_depth=4, min_samples_leaf=10, random_state=ctx.seed), X, y.astype(float), cv=cv
        )
        return max(0.0, float(r2_score(y.astype(float), pred)))
    y = y.astype(str).to_numpy()
    if len(np.unique(y)) < 2:
        return 0.0
    proba = cross_val_predict(
        DecisionTreeClassifier(max_depth=4, min_samples_leaf=10, random_state=ctx.seed),
        X,
        y,
        cv=cv,
        method="predict_proba",
    )
    labels = np.unique(y)
    auc = (
        roc_auc_score(y == labels[1], proba[:, 1])
        if len(labels) == 2
        else roc_auc_score(y, proba, multi_class="ovr", labels=labels)
    )
    return max(0.0, 2 * float(auc) - 1)


# ---- DATA-11 -----------------------------------------------------------------------------------
@check(
    "DATA-11",
    F,
    "Train/test contamination",
    suites="standard",
    article=DATA,
    needs_train=True,
    recommendation="Deduplicate across splits (group-aware splitting) and re-evaluate.",
)
def contamination(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    train_h = set(_row_hash(ctx.train[ctx.features]).tolist())
    test_h = _row_hash(ctx.test[ctx.features])
    inside = np.fromiter((h in train_h for h in test_h.tolist()), bool, len(test_h))
    share = float(inside.mean()) if len(inside) else 0.0
    return Outcome(
        status=grade(share, op="<=", fail=pol.contamination_share_max, warn=0.0),
        value=share,
        threshold=threshold("<=", pol.contamination_share_max, 0.0),
        summary=f"{int(inside.sum())} test rows ({share:.2%}) also appear in the training data (identical features).",
        details={
            "test_rows_in_train": int(inside.sum()),
            "examples": ctx.test[ctx.features][inside].head(5).to_dict("records"),
        },
        evidence={"share": share, "rows": int(inside.sum())},
    )


# ---- DATA-12 -----------------------------------------------------------------------------------
@check(
    "DATA-12",
    F,
    "Split sanity",
    suites="standard",
    article=DATA,
    needs_train=True,
    recommendation="Make sure the test data come from the same population and encoding as the training data.",
)
def split_sanity(ctx: ValidationContext, run: RunOptions) -> Outcome:
    tr, te = ctx.train, ctx.test
    ratio = len(te) / max(len(tr), 1)
    new_labels = (
        [] if ctx.task == "regression" else sorted(set(te[ctx.target].astype(str)) - set(tr[ctx.target].astype(str)))
    )
    new_cats, dtype_diff = {}, {}
    for c in ctx.features:
        if str(tr[c].dtype) != str(te[c].dtype):
            dtype_diff[c] = [str(tr[c].dtype), str(te[c].dtype)]
        if not is_numeric(te[c]):
            unseen = ~te[c].dropna().astype(str).isin(set(tr[c].dropna().astype(str)))
            if unseen.any():
                new_cats[c] = {
                    "share": float(unseen.mean()),
                    "values": te[c].dropna().astype(str)[unseen].unique()[:10].tolist(),
                }
    status = "fail" if new_labels or ratio < 0.01 else ("warn" if new_cats or dtype_diff else "pass")
    return Outcome(
        status=status,
        value=ratio,
        threshold=threshold(">=", 0.01),
        summary=f"Test/train size ratio {ratio:.2f}; {len(new_labels)} new label(s), "
        f"{len(new_cats)} column(s) with new categories, {len(dtype_diff)} dtype "
        f"mismatch(es).",
        details={
            "size_ratio": ratio,
            "new_labels": new_labels,
            "new_categories": new_cats,
            "dtype_mismatch": dtype_diff,
        },
        affected=sorted(new_cats) or new_labels or None,
        evidence={"new_labels": new_labels, "new_categories": new_cats} if status != "pass" else None,
    )


# ---- DATA-14 -----------------------------------------------------------------------------------
PII_PATTERNS = {
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "phone": re.compile(r"(?:(?:\+|00)\d{1,3}[\s.-]?)?(?:\(?\d{2,4}\)?[\s.-]?){2,4}\d{3,4}"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"),
    "us_ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "ip_address": re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
}
PII_COLUMN_NAME = re.compile(
    r"(^|_)((first|last|full|sur|given|family|maiden)_?name|name|e_?mail|phone|mobile|telephone|"
    r"address|street|ssn|passport|iban|national_?id|date_?of_?birth|dob|birth_?date|zip|postcode)($|_)",
    re.IGNORECASE,
)


@check(
    "DATA-14",
    F,
    "Personal data in columns",
    suites="quick",
    article="Art. 10(5)",
    recommendation="Remove, pseudonymise or hash the personal data unless it is strictly "
    "necessary (GDPR data minimisation).",
)
def personal_data(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.data_quality
    hits, name_hits = [], []
    for split, df in _splits(ctx).items():
        for c in df.columns:
            if split == "test" and PII_COLUMN_NAME.search(str(c)):
                name_hits.append(str(c))
            if is_numeric(df[c]):
                continue
            vals = df[c].dropna().astype(str)
            vals = vals.sample(min(len(vals), pol.pii_sample), random_state=ctx.seed) if len(vals) else vals
            for kind, rx in PII_PATTERNS.items():
                if kind == "phone":  # whole value, 9+ digits: dates and amounts are not phones
                    m = vals.str.fullmatch(rx.pattern) & (vals.str.count(r"\d") >= 9)
                else:
                    m = vals.str.contains(rx.pattern)
                share = float(m.mean()) if len(vals) else 0.0
                if share >= pol.pii_min_share:
                    hits.append(
                        {"split": split, "column": c, "kind": kind, "share": share, "example": _mask(vals[m].iloc[0])}
                    )
    cols = sorted({h["column"] for h in hits})
    status = "fail" if hits else ("warn" if name_hits else "pass")
    return Outcome(
        status=status,
        value=len(cols) + len(set(name_hits) - set(cols)),
        severity="high" if hits else None,
        threshold=threshold("<=", 0),
        summary=(
            f"Personal data patterns found in {', '.join(cols)}"
            if hits
            else "No personal data patterns found in the values"
        )
        + (f"; column names suggesting personal data: {', '.join(name_hits)}." if name_hits else "."),
        details={"value_hits": hits, "name_hits": name_hits, "sample_per_column": pol.pii_sample},
        affected=cols + [n for n in name_hits if n not in cols] or None,
        evidence=hits or name_hits or None,
    )


def _mask(value: str) -> str:
    """Evidence must not copy the personal data it reports."""
    return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:] if len(value) > 4 else "****"
