"""Explainability family (catalogue 4.4): SHAP global importance, local explanations of flagged
rows, and reliance on sensitive attributes and their proxies.

Explainer choice: TreeExplainer for tree models (also the last step of a sklearn Pipeline: the
preprocessing steps transform the data, the final estimator is explained and the transformed
columns are mapped back to the original ones), LinearExplainer for linear models, otherwise a
permutation explainer on a small sample. SHAP values of one original column are the sum over
its transformed columns (SHAP values are additive), so one-hot groups aggregate exactly.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from . import charts
from ._frame import cramers_v, encode, group_labels, is_numeric
from .base import Outcome, RunOptions, ValidationContext, not_evaluable, threshold
from .registry import check

F = "explainability"
XAI = "Art. 13(3)(b)"


# ---- explainer construction --------------------------------------------------------------------
def _split_pipeline(model):
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model[:-1], model[-1]
    return None, model


def _column_map(pre, names_t: list[str], features: list[str]) -> list[str | None]:
    """Original column behind each transformed column (None when it cannot be told)."""
    from sklearn.compose import ColumnTransformer

    steps = [s for _, s in pre.steps] if hasattr(pre, "steps") else [pre]
    ct = next((s for s in steps if isinstance(s, ColumnTransformer)), None)
    if ct is None:
        return list(features) if len(names_t) == len(features) else [None] * len(names_t)
    out: list[str | None] = [None] * len(names_t)
    inputs = list(getattr(ct, "feature_names_in_", features))
    for name, trans, cols in ct.transformers_:
        if trans == "drop" or name not in ct.output_indices_:
            continue
        cols = [inputs[c] if isinstance(c, (int, np.integer)) else c for c in np.atleast_1d(cols)]
        sl = ct.output_indices_[name]
        for j in range(sl.start, min(sl.stop, len(names_t))):
            short = names_t[j].split("__", 1)[1] if names_t[j].startswith(f"{name}__") else names_t[j]
            match = [c for c in cols if short == str(c) or short.startswith(f"{c}_")]
            out[j] = max(match, key=lambda c: len(str(c))) if match else (cols[0] if len(cols) == 1 else None)
    if sum(sl.stop - sl.start for sl in ct.output_indices_.values()) != len(names_t):
        return [None] * len(names_t)  # a later step changed the width: the map would lie
    return out


def _dense(X) -> np.ndarray:
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.asarray(X, dtype=float)


def _class_axis(sv, ctx: ValidationContext) -> np.ndarray:
    """SHAP output as (n, f) for binary/regression (positive class) or (n, f, k) for multiclass."""
    if isinstance(sv, list):
        sv = np.stack(sv, axis=-1)
    sv = np.asarray(sv, dtype=float)
    if sv.ndim == 3 and ctx.task == "binary":
        sv = sv[:, :, ctx.positive_index if sv.shape[2] > ctx.positive_index else -1]
    return sv


def explainer_bundle(ctx: ValidationContext) -> dict:
    """Memoised: explain function, kind and SHAP values of a sample mapped to original columns.

    The sample fits the policy's time budget: a pilot times the explainer on the actual model (a
    one-row warm-up, then ``pilot_rows`` rows), the sample is as many rows as the rest of the budget
    allows (at most ``shap_sample`` / ``agnostic_sample``), and the bundle says which sample was used
    and why. Exact TreeSHAP that cannot reach ``min_sample`` rows falls back to the approximate tree
    path attributions over the sample; when nothing fits, ``over_budget`` holds the reason and the
    checks that need SHAP values are not evaluable.
    """
    if "shap" in ctx.cache:
        return ctx.cache["shap"]
    pol = ctx.policy.explainability
    started = _clock()
    pre, est = _split_pipeline(ctx.model)
    bundle, reason = None, None
    try:
        bundle = _tree_or_linear(ctx, pre, est)
    except Exception as exc:  # unsupported model type: fall back to the model-agnostic explainer
        reason = f"{type(exc).__name__}: {str(exc)[:200]}"
    if bundle is None:
        bundle = _agnostic(ctx)
    bundle["fallback_reason"] = reason
    agnostic = bundle["kind"] == "permutation"
    n_rows = len(ctx.frame("test"))
    target = min(pol.agnostic_sample if agnostic else pol.shap_sample, n_rows)
    minimum = min(pol.agnostic_min_sample if agnostic else pol.min_sample, target)
    paths = [("exact", bundle["explain"], minimum)]
    if "explain_approximate" in bundle:
        paths.append(("approximate", bundle["explain_approximate"], min(pol.min_sample, target)))
    pilot_X = ctx.X("test").iloc[ctx.sample_index("test", max(pol.pilot_rows, 1), "XAI:pilot")]
    timings: dict[str, float] = {}
    warm_up = 0.0  # one-off costs of the explainer (shap compiles on first use), not counted

    def spent() -> float:
        return _clock() - started - warm_up

    for path, explain, least in paths:
        try:
            per_row, warm = _pilot_cost(explain, pilot_X, pol.time_budget_s - spent())
        except Exception:
            if path == "exact":
                raise
            continue  # this tree type has no approximate path in shap
        warm_up += warm
        timings[path] = per_row
        n = plan_sample(per_row_s=per_row, spent_s=spent(), budget_s=pol.time_budget_s, target=target, minimum=least)
        if n is None:
            continue
        idx = ctx.sample_index("test", n, "XAI-01")
        X = ctx.X("test").iloc[idx]
        bundle.update(
            explain=explain,
            path=path,
            idx=idx,
            X=X,
            values=explain(X),
            over_budget=None,
            budget={
                "time_budget_s": pol.time_budget_s,
                "sample_target": target,
                "sample_used": n,
                "reduced_by_budget": n < target,
            },
            timing={"seconds_per_row": timings, "seconds_used": round(spent(), 3), "warm_up_s": round(warm_up, 3)},
        )
        ctx.cache["shap"] = bundle
        return bundle
    cheapest = min(timings.values())
    need = cheapest * minimum
    bundle.update(
        idx=np.arange(0),
        X=ctx.X("test").iloc[:0],
        values=None,
        path=None,
        over_budget=(
            f"Not evaluable: over budget. The {bundle['kind']} explainer needs about {cheapest:.3g} s "
            f"a row on this model, so even the minimum sample of {minimum} rows (about {need:.0f} s) does not fit "
            f"the explainability budget of {pol.time_budget_s:g} s (policy explainability.time_budget_s)."
        ),
        budget={
            "time_budget_s": pol.time_budget_s,
            "sample_target": target,
            "sample_used": 0,
            "reduced_by_budget": True,
        },
        timing={"seconds_per_row": timings, "seconds_used": round(spent(), 3), "warm_up_s": round(warm_up, 3)},
    )
    ctx.cache["shap"] = bundle
    return bundle


_clock = time.perf_counter  # a module attribute so that a test can give the budget logic its own clock


def _pilot_cost(explain, X: pd.DataFrame, budget_left_s: float) -> tuple[float, float]:
    """Seconds per row of ``explain`` on this model. A one-row warm-up pays the one-off costs (shap
    compiles some explainers on first use), a second row measures the warm cost, and when the pilot
    rows fit easily in what is left they are timed together for a steadier figure. A warm-up that
    alone eats the budget is the estimate. Returns the cost per row and the warm-up seconds that the
    budget does not count (a one-off cost of the process, not of the sample)."""
    t0 = _clock()
    explain(X.iloc[:1])
    warm_up = _clock() - t0
    if warm_up >= budget_left_s:
        return max(warm_up, 1e-9), 0.0
    t0 = _clock()
    explain(X.iloc[:1])
    one = max(_clock() - t0, 1e-9)
    left = budget_left_s - one
    if len(X) <= 1 or one * len(X) > 0.25 * left:
        return one, warm_up
    t0 = _clock()
    explain(X)
    return max((_clock() - t0) / len(X), 1e-9), warm_up


def plan_sample(*, per_row_s: float, spent_s: float, budget_s: float, target: int, minimum: int) -> int | None:
    """Rows to explain: as many as fit in what is left of the budget (with a 10 % margin), at most
    ``target``; None when fewer than ``minimum`` fit."""
    left = budget_s - spent_s
    fit = int(0.9 * left / per_row_s) if left > 0 else 0
    n = min(target, fit)
    return n if n >= max(minimum, 1) else None


def sampling_error(values: np.ndarray, top_k: int, resamples: int, seed: int) -> dict:
    """Sampling error of the mean |SHAP| of each feature over the explained rows: the standard error
    (std / sqrt(n)) and how often the top-k features stay the same set in bootstrap resamples of the
    rows (1.0: the ranking does not depend on which rows were drawn)."""
    a = np.abs(values)
    per_row = a.mean(axis=2) if a.ndim == 3 else a  # (n, f)
    n = per_row.shape[0]
    imp = per_row.mean(axis=0)
    se = per_row.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(per_row.shape[1], np.nan)
    k = min(top_k, per_row.shape[1])
    top = np.argsort(-imp, kind="stable")[:k].tolist()
    rng = np.random.default_rng(seed)
    same = 0
    for _ in range(resamples):
        boot = per_row[rng.integers(0, n, n)].mean(axis=0)
        same += np.argsort(-boot, kind="stable")[:k].tolist() == top
    return {"se": se, "top_k": k, "top_k_stability": same / resamples if resamples else None}


def _tree_or_linear(ctx: ValidationContext, pre, est) -> dict | None:
    import shap

    if pre is not None:
        try:
            names_t = [str(n) for n in pre.get_feature_names_out()]
        except Exception:
            names_t = None
    else:
        names_t = list(ctx.features)
    transform = (lambda X: _dense(pre.transform(X))) if pre is not None else (lambda X: _dense(X))
    if hasattr(est, "coef_"):
        bg = transform(
            ctx.X("test").iloc[ctx.sample_index("test", ctx.policy.explainability.background_size, "XAI:bg")]
        )
        explainer, kind = shap.LinearExplainer(est, bg), "linear"
    else:
        explainer, kind = shap.TreeExplainer(est), "tree"
    width = len(names_t) if names_t else transform(ctx.X("test").iloc[:1]).shape[1]
    names_t = names_t if names_t and len(names_t) == width else [f"x{i}" for i in range(width)]
    cmap = _column_map(pre, names_t, ctx.features) if pre is not None else list(ctx.features)
    groups = [c if c is not None else names_t[j] for j, c in enumerate(cmap)]
    out_names = list(dict.fromkeys(groups))
    M = np.zeros((width, len(out_names)))
    M[np.arange(width), [out_names.index(g) for g in groups]] = 1.0

    def explain(X: pd.DataFrame, approximate: bool = False) -> np.ndarray:
        raw = (
            explainer.shap_values(transform(X), approximate=True)
            if approximate
            else explainer.shap_values(transform(X))
        )
        sv = _class_axis(raw, ctx)
        return np.einsum("nfk,fg->ngk", sv, M) if sv.ndim == 3 else sv @ M

    out = {
        "kind": kind,
        "explain": explain,
        "names": out_names,
        "transformed_features": len(names_t),
        "mapped": all(c is not None for c in cmap),
    }
    if kind == "tree":  # Saabas path attributions: one pass per tree, a fallback when exact TreeSHAP is too slow
        out["explain_approximate"] = lambda X: explain(X, approximate=True)
    return out


def _agnostic(ctx: ValidationContext) -> dict:
    import shap

    pol = ctx.policy.explainability
    feats = list(ctx.features)
    ref = ctx.X("test")
    cats = {c: pd.unique(ref[c].dropna().astype(str)) for c in feats if not is_numeric(ref[c])}

    def decode(Z: np.ndarray) -> pd.DataFrame:
        cols = {}
        for j, c in enumerate(feats):
            if c in cats:
                codes = np.nan_to_num(Z[:, j], nan=-1).astype(int)
                cols[c] = pd.Series(np.where(codes >= 0, cats[c][np.clip(codes, 0, None)], None), dtype=object)
            else:
                cols[c] = Z[:, j]
        return pd.DataFrame(cols)

    def f(Z: np.ndarray) -> np.ndarray:
        X = decode(Z)
        if ctx.task == "regression":
            return ctx.call("predict", X).astype(float)
        proba = ctx.call("predict_proba", X).astype(float) if ctx.has_proba else None
        if proba is None:
            return (ctx.codes(ctx.call("predict", X)) == ctx.positive_index).astype(float)
        return proba[:, ctx.positive_index] if ctx.task == "binary" else proba

    bg_idx = ctx.sample_index("test", pol.background_size, "XAI:bg")
    masker = shap.maskers.Independent(encode(ref.iloc[bg_idx], feats, ref=ref), max_samples=pol.background_size)
    explainer = shap.PermutationExplainer(f, masker, seed=ctx.seed)

    def explain(X: pd.DataFrame) -> np.ndarray:
        e = explainer(encode(X, feats, ref=ref), max_evals=2 * (2 * len(feats) + 1), silent=True)
        return np.asarray(e.values, dtype=float)

    return {
        "kind": "permutation",
        "explain": explain,
        "names": feats,
        "transformed_features": len(feats),
        "mapped": True,
    }


def _importance(b: dict) -> np.ndarray:
    v = np.abs(b["values"])
    return v.mean(axis=(0, 2)) if v.ndim == 3 else v.mean(axis=0)


# ---- XAI-01 ------------------------------------------------------------------------------------
@check(
    "XAI-01",
    F,
    "Global feature importance (SHAP)",
    suites="full",
    article=XAI,
    needs_model=True,
    recommendation="Check that the most important features make sense for the intended purpose.",
)
def global_importance(ctx: ValidationContext, run: RunOptions) -> Outcome:
    b = explainer_bundle(ctx)
    if b["over_budget"]:
        return not_evaluable(b["over_budget"], explainer=b["kind"], budget=b["budget"], timing=b["timing"])
    imp = _importance(b)
    pol = ctx.policy.explainability
    err = sampling_error(b["values"], pol.top_k, pol.stability_resamples, ctx.seed)
    order = np.argsort(-imp)
    names = [b["names"][i] for i in order]
    top = order[:10]
    vals = b["values"] if b["values"].ndim == 2 else b["values"].mean(axis=2)
    fv = [encode(b["X"], [b["names"][i]])[:, 0] if b["names"][i] in b["X"] else np.zeros(len(vals)) for i in top]
    budget = b["budget"]
    how = f"{b['kind'].capitalize()} SHAP" + (
        " (approximate tree path attributions)" if b["path"] == "approximate" else ""
    )
    cut = (
        f" (of {budget['sample_target']} wanted: the {budget['time_budget_s']:g} s budget allows "
        f"{len(b['idx'])} at {min(b['timing']['seconds_per_row'].values()):.2g} s a row)"
        if budget["reduced_by_budget"]
        else ""
    )
    stable = err["top_k_stability"]
    return Outcome(
        status="info",
        value=float(imp[order[0]]) if len(imp) else None,
        summary=f"{how} on {len(b['idx'])} rows{cut}: the top features are {', '.join(names[:5])}"
        + (
            f"; the top-{err['top_k']} ranking is the same in {stable:.0%} of bootstrap resamples of the rows."
            if stable is not None
            else "."
        ),
        details={
            "explainer": b["kind"],
            "path": b["path"],
            "sample_size": len(b["idx"]),
            "budget": budget,
            "timing": b["timing"],
            "importance": dict(zip(names, imp[order])),
            "importance_se": dict(zip(names, err["se"][order])),
            "top_k": err["top_k"],
            "top_k_stability": stable,
            "transformed_features": b["transformed_features"],
            "mapped_to_original_columns": b["mapped"],
            "fallback_reason": b["fallback_reason"],
        },
        charts=[
            charts.bars(
                names[:20], imp[order][:20], "Mean |SHAP| by feature", "Mean |SHAP|", "Feature", horizontal=True
            ),
            charts.strip([b["names"][i] for i in top], [vals[:, i] for i in top], fv),
        ],
    )


# ---- XAI-02 ------------------------------------------------------------------------------------
@check(
    "XAI-02",
    F,
    "Local explanations of flagged rows",
    suites="full",
    article=XAI,
    needs_model=True,
    recommendation="Review the flagged rows with a domain expert.",
)
def local_explanations(ctx: ValidationContext, run: RunOptions) -> Outcome:
    b = explainer_bundle(ctx)
    if b["over_budget"]:
        return not_evaluable(b["over_budget"], explainer=b["kind"], budget=b["budget"], timing=b["timing"])
    k = ctx.policy.explainability.local_rows
    p = ctx.predictions("test")
    if ctx.task == "regression":
        score, why = np.abs(p.y_pred - ctx.y("test").astype(float)), "rows with the largest absolute error"
    else:
        wrong = ctx.codes(p.y_pred) != ctx.codes(ctx.y("test"))
        conf = p.proba.max(axis=1) if p.proba is not None else np.ones(len(wrong))
        score, why = np.where(wrong, conf, -1.0), "most confident errors"
    rows = [int(i) for i in np.argsort(-score, kind="stable")[:k] if score[i] >= 0]
    if not rows:
        return Outcome(status="info", summary="No misclassified rows to explain.", value=0)
    sv = b["explain"](ctx.X("test").iloc[rows])
    if sv.ndim == 3:  # multiclass: explain the predicted class
        sv = np.stack([sv[i, :, max(ctx.codes(p.y_pred[[r]])[0], 0)] for i, r in enumerate(rows)])
    explained, chart_list = [], []
    for i, r in enumerate(rows):
        order = np.argsort(-np.abs(sv[i]))[:10]
        contrib = {b["names"][j]: float(sv[i, j]) for j in order}
        explained.append(
            {
                "row": r,
                "prediction": p.y_pred[r],
                "actual": ctx.y("test")[r],
                "confidence": float(score[r]),
                "contributions": contrib,
                "values": {c: ctx.test[c].iloc[r] for c in contrib if c in ctx.test},
            }
        )
        chart_list.append(
            charts.bars(
                list(contrib),
                list(contrib.values()),
                f"Row {r}: predicted {p.y_pred[r]}, actual {ctx.y('test')[r]}",
                "SHAP value",
                "Feature",
                horizontal=True,
            )
        )
    return Outcome(
        status="info",
        value=len(rows),
        details={"selection": why, "rows": explained},
        charts=chart_list,
        summary=f"Explained the {len(rows)} {why}; top driver of the "
        f"first: {next(iter(explained[0]['contributions']))}.",
    )


# ---- XAI-08 ------------------------------------------------------------------------------------
@check(
    "XAI-08",
    F,
    "Reliance on sensitive attributes and proxies",
    suites="full",
    article="Art. 10(2)(f)",
    needs_model=True,
    needs_sensitive=True,
    recommendation="The model leans on a protected attribute or a close proxy; justify it or "
    "remove it and re-run the fairness checks.",
)
def sensitive_reliance(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.explainability
    b = explainer_bundle(ctx)
    if b["over_budget"]:
        return not_evaluable(b["over_budget"], explainer=b["kind"], budget=b["budget"], timing=b["timing"])
    imp = _importance(b)
    total = imp.sum() or 1.0
    share = dict(zip(b["names"], imp / total))
    rank = {n: i + 1 for i, n in enumerate(sorted(share, key=share.get, reverse=True))}
    proxies = _proxies(ctx)
    direct = {s: share[s] for s in ctx.sensitive if s in share}
    proxy_share = {f: share[f] for f in proxies if f in share}
    in_top = [f for f in [*direct, *proxy_share] if rank[f] <= pol.top_k]
    v = float(sum(direct.values()) + sum(proxy_share.values()))
    status = "warn" if in_top or sum(direct.values()) > pol.sensitive_share_max else "pass"
    return Outcome(
        status=status,
        value=v,
        threshold=threshold("<=", pol.sensitive_share_max, top_k=pol.top_k),
        summary=f"Sensitive attributes carry {sum(direct.values()):.1%} and their proxies "
        f"{sum(proxy_share.values()):.1%} of total |SHAP|"
        + (f"; in the top {pol.top_k}: {', '.join(in_top)}." if in_top else "."),
        details={
            "direct_share": direct,
            "proxy_share": proxy_share,
            "proxies": proxies,
            "rank": {f: rank[f] for f in [*direct, *proxy_share]},
            "proxy_measure": "bias-corrected Cramer's V (numeric columns binned)",
            "proxy_threshold": pol.proxy_assoc_min,
        },
        affected=in_top or list(direct) or None,
        evidence={f: {"share": share[f], "rank": rank[f]} for f in in_top} or None,
    )


def _proxies(ctx: ValidationContext) -> dict[str, dict]:
    """Features strongly associated with a sensitive attribute (Cramer's V >= policy)."""
    pol = ctx.policy.explainability
    df = ctx.test.iloc[ctx.sample_index("test", 5000, "XAI-08")]
    out = {}
    for s in ctx.sensitive:
        gs = group_labels(df[s], 10)
        for f in ctx.features:
            if f in ctx.sensitive:
                continue
            v = cramers_v(gs, group_labels(df[f], 10))
            if v >= pol.proxy_assoc_min and v > out.get(f, {}).get("cramers_v", 0):
                out[f] = {"sensitive": s, "cramers_v": v}
    return out
