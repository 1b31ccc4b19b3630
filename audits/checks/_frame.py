"""Data helpers shared by the families: column kinds, ordinal encoding, binning and slices."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd


def is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def numeric_columns(df: pd.DataFrame, cols: list[str]) -> list[str]:
    return [c for c in cols if is_numeric(df[c])]


def categorical_columns(df: pd.DataFrame, cols: list[str]) -> list[str]:
    return [c for c in cols if not is_numeric(df[c])]


def encode(df: pd.DataFrame, cols: list[str], ref: pd.DataFrame | None = None) -> np.ndarray:
    """Float matrix: numeric columns as is, others as codes of `ref`'s categories (NaN stays NaN,
    unseen categories become -1). Good enough for trees, which only need an order."""
    ref = df if ref is None else ref
    out = np.empty((len(df), len(cols)))
    for j, c in enumerate(cols):
        if is_numeric(df[c]):
            out[:, j] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        else:
            cats = pd.Index(pd.unique(ref[c].dropna().astype(str)))
            vals = df[c]
            codes = cats.get_indexer(vals.astype(str)).astype(float)
            codes[vals.isna().to_numpy()] = np.nan
            out[:, j] = codes
    return out


def group_labels(s: pd.Series, n_bins: int) -> pd.Series:
    """Group label per row: numeric columns with many values cut in quantile bins, others as str.

    A bin is labelled as people read it, from the values it holds: "17–28", "29–37", ..., "≥ 60"
    (the last bin is open-ended), not pandas' interval "(16.999, 28.0]"."""
    if is_numeric(s) and s.nunique() > max(n_bins, 10):
        binned = pd.qcut(s, q=n_bins, duplicates="drop")
        codes = pd.Series(binned.cat.codes, index=s.index)
        present = codes[codes >= 0]
        lows, highs = s.groupby(present).min(), s.groupby(present).max()
        integral = bool(np.all(np.mod(s.dropna().to_numpy(dtype=float), 1) == 0))
        last = int(present.max()) if len(present) else -1
        names = {
            int(c): (
                f"≥ {_number(lows[c], integral)}"
                if c == last and len(lows) > 1
                else _number(lows[c], integral)
                if lows[c] == highs[c]
                else f"{_number(lows[c], integral)}–{_number(highs[c], integral)}"
            )
            for c in lows.index
        }
        return codes.map(names).where(s.notna(), "missing").astype(str)
    return s.astype(str).where(s.notna(), "missing")


def _number(v: float, integral: bool) -> str:
    return f"{int(v):,}" if integral else f"{float(v):.4g}"


def natural_key(label: object) -> tuple:
    """Sort key that puts "5–9" before "10–20" and "≥ 60" after them."""
    text = str(label)
    head = text.lstrip("≥ ").replace(",", "")
    match = re.match(r"-?\d+(\.\d+)?", head)
    if match is None:
        return (1, 0.0, text)
    return (0, float(match.group(0)) + (0.5 if text.startswith("≥") else 0.0), text)


@dataclass(frozen=True)
class Slice:
    description: str
    feature: str
    mask: np.ndarray


def one_feature_slices(
    df: pd.DataFrame, cols: list[str], *, min_size: int, n_bins: int = 5, max_categories: int = 20
) -> list[Slice]:
    """Candidate slices: quantile bins of numeric features and frequent categories."""
    slices: list[Slice] = []
    for c in cols:
        s = df[c]
        if is_numeric(s) and s.nunique() > n_bins:
            labels = pd.qcut(s, q=n_bins, duplicates="drop")
            for interval in labels.cat.categories:
                mask = (labels == interval).to_numpy()
                if mask.sum() >= min_size:
                    slices.append(Slice(f"{c} in {interval}", c, mask))
        else:
            counts = s.astype(str).value_counts()
            for value in counts.index[:max_categories]:
                mask = (s.astype(str) == value).to_numpy()
                if mask.sum() >= min_size:
                    slices.append(Slice(f"{c} == {value!r}", c, mask))
        if s.isna().sum() >= min_size:
            slices.append(Slice(f"{c} is missing", c, s.isna().to_numpy()))
    return slices


def tree_slices(
    df: pd.DataFrame, cols: list[str], target: np.ndarray, *, depth: int, min_size: int, seed: int, regression: bool
) -> list[Slice]:
    """Leaves of a shallow tree fitted on the per-row error: data-driven multi-feature slices."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X = encode(df, cols)
    cls = DecisionTreeRegressor if regression else DecisionTreeClassifier
    tree = cls(max_depth=depth, min_samples_leaf=min_size, random_state=seed).fit(X, target)
    leaves = tree.apply(X)
    t = tree.tree_
    out = []
    for leaf in np.unique(leaves):
        out.append(Slice(_leaf_rule(t, leaf, df, cols), "tree", leaves == leaf))
    return out


def _leaf_rule(t, leaf: int, df: pd.DataFrame, cols: list[str]) -> str:
    parent = {}
    for node in range(t.node_count):
        for child, side in ((t.children_left[node], "le"), (t.children_right[node], "gt")):
            if child >= 0:
                parent[child] = (node, side)
    bounds: dict[int, list[float]] = {}
    node = leaf
    while node in parent:
        node, side = parent[node]
        f, thr = t.feature[node], t.threshold[node]
        lo, hi = bounds.setdefault(f, [-np.inf, np.inf])
        bounds[f] = [lo, min(hi, thr)] if side == "le" else [max(lo, thr), hi]
    parts = []
    for f, (lo, hi) in sorted(bounds.items()):
        c = cols[f]
        if is_numeric(df[c]):
            parts.append(
                " and ".join(
                    p
                    for p in (
                        f"{c} > {lo:.4g}" if np.isfinite(lo) else "",
                        f"{c} <= {hi:.4g}" if np.isfinite(hi) else "",
                    )
                    if p
                )
            )
        else:
            cats = list(pd.unique(df[c].dropna().astype(str)))
            chosen = [cat for i, cat in enumerate(cats) if lo < i <= hi]
            parts.append(f"{c} in {chosen[:8]}{'...' if len(chosen) > 8 else ''}")
    return " and ".join(parts) or "all rows"


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Bias-corrected Cramer's V between two categorical series (0 = independent, 1 = identical)."""
    table = pd.crosstab(a, b).to_numpy(dtype=float)
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum()
    r, k = table.shape
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / max(n - 1, 1))
    r_c = r - (r - 1) ** 2 / max(n - 1, 1)
    k_c = k - (k - 1) ** 2 / max(n - 1, 1)
    denom = min(k_c - 1, r_c - 1)
    return float(np.sqrt(phi2 / denom)) if denom > 0 else 0.0
