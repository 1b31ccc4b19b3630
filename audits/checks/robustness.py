"""Robustness family (catalogue 4.2): small perturbations, noise sweep, categorical swaps,
determinism, batch-vs-single consistency, over- and underconfident slices.

All perturbed copies of a sample are scored in one concatenated model call per check."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _stats as st
from . import charts
from ._frame import categorical_columns, numeric_columns, one_feature_slices
from .base import Outcome, Predictions, RunOptions, ValidationContext, grade, not_evaluable, threshold
from .registry import CLASSIFICATION, check

F = "robustness"
ROB = "Art. 15(4)"


def _sample(ctx: ValidationContext, check_id: str, n: int | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    idx = ctx.sample_index("test", n or ctx.policy.robustness.sample_size, check_id)
    return idx, ctx.X("test").iloc[idx].reset_index(drop=True)


def _score_copies(ctx: ValidationContext, frames: list[pd.DataFrame], *, proba: bool = True) -> list[Predictions]:
    """Score several same-shaped frames in one call and split the output back."""
    pred = ctx.score(pd.concat(frames, ignore_index=True), proba=proba)
    n = len(frames[0])
    return [
        Predictions(
            pred.y_pred[i * n : (i + 1) * n],
            None if pred.proba is None else pred.proba[i * n : (i + 1) * n],
            pred.classes,
        )
        for i in range(len(frames))
    ]


def _changed(ctx: ValidationContext, base: Predictions, p: Predictions) -> np.ndarray:
    if ctx.task == "regression":
        a, b = base.y_pred.astype(float), p.y_pred.astype(float)
        return np.abs(b - a) > ctx.policy.robustness.regression_rel_change * np.maximum(np.abs(a), 1e-12)
    return base.y_pred != p.y_pred


# ---- ROB-01 ------------------------------------------------------------------------------------
@check(
    "ROB-01",
    F,
    "Small numeric perturbations",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Predictions flip under changes far below measurement precision: smooth the "
    "model (regularisation, monotonic constraints, fewer thresholds near common values).",
)
def small_perturbations(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.robustness
    _, X = _sample(ctx, "ROB-01")
    nums = numeric_columns(X, ctx.features)
    if not nums:
        return not_evaluable("The model has no numeric features.")
    rng = ctx.rng("ROB-01")
    frames, names = [X], []
    for c in nums:
        x = X[c].astype(float)
        std = float(np.nanstd(x)) or 1.0
        for label, vals in (
            ("x1.01", x * 1.01),
            ("x0.99", x * 0.99),
            ("+N(0, 0.01 std)", x + rng.normal(0, 0.01 * std, len(x))),
        ):
            frames.append(X.assign(**{c: vals}))
            names.append((c, label))
    preds = _score_copies(ctx, frames, proba=False)
    rows = [
        {"feature": c, "perturbation": label, "changed_rate": float(_changed(ctx, preds[0], p).mean())}
        for (c, label), p in zip(names, preds[1:])
    ]
    worst = max(rows, key=lambda r: r["changed_rate"])
    v = worst["changed_rate"]
    per_feature = pd.DataFrame(rows).groupby("feature").changed_rate.max().sort_values(ascending=False)
    status = grade(v, op="<=", fail=pol.perturbation_fail_rate)
    return Outcome(
        status=status,
        value=v,
        threshold=threshold("<=", pol.perturbation_fail_rate, major=pol.perturbation_major_rate),
        severity=("high" if v >= pol.perturbation_major_rate else "medium") if status == "fail" else None,
        summary=f"Worst small perturbation ({worst['feature']} {worst['perturbation']}) "
        f"changes {v:.1%} of {len(X)} predictions (policy maximum "
        f"{pol.perturbation_fail_rate:.0%}).",
        details={"perturbations": rows, "sample_size": len(X)},
        charts=[
            charts.bars(
                per_feature.index,
                per_feature.values,
                "Changed-prediction rate under small perturbations",
                "Feature",
                "Rate",
                ref=pol.perturbation_fail_rate,
            )
        ],
        affected=worst["feature"],
        evidence=[r for r in rows if r["changed_rate"] > pol.perturbation_fail_rate],
    )


# ---- ROB-02 ------------------------------------------------------------------------------------
def _score_metric(ctx: ValidationContext, y: np.ndarray, p: Predictions) -> tuple[str, float]:
    W = st.point_weights(len(y))
    if ctx.task == "regression":
        return "rmse", float(st.w_regression(W, y.astype(float), p.y_pred)["rmse"][0])
    yt = ctx.codes(y)
    if ctx.task == "binary" and p.proba is not None:
        return "roc_auc", float(st.w_auc(W, (yt == ctx.positive_index).astype(int), p.proba[:, ctx.positive_index])[0])
    return "accuracy", float(np.mean(ctx.codes(p.y_pred) == yt))


@check(
    "ROB-02",
    F,
    "Noise sweep decay",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Performance collapses under modest input noise; test the model on noisier "
    "data and consider noise augmentation during training.",
)
def noise_sweep(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.robustness
    idx, X = _sample(ctx, "ROB-02")
    nums = numeric_columns(X, ctx.features)
    if not nums:
        return not_evaluable("The model has no numeric features.")
    rng = ctx.rng("ROB-02")
    std = X[nums].astype(float).std().fillna(0).replace(0, 1.0).to_numpy()
    noise = rng.standard_normal((len(X), len(nums)))  # same draw scaled per level: a smooth curve
    frames = [X] + [
        X.assign(**dict(zip(nums, (X[nums].astype(float).to_numpy() + lvl * std * noise).T)))
        for lvl in pol.noise_levels
    ]
    preds = _score_copies(ctx, frames, proba=ctx.task == "binary")
    y = ctx.y("test")[idx]
    metric, base = _score_metric(ctx, y, preds[0])
    values = [_score_metric(ctx, y, p)[1] for p in preds[1:]]
    sign = -1 if metric == "rmse" else 1  # decay is "how much worse", whatever the direction
    decay = [sign * (base - v) / abs(base) if base else 0.0 for v in values]
    gate_i = int(np.argmin(np.abs(np.asarray(pol.noise_levels) - pol.noise_gate_level)))
    v = decay[gate_i]
    curve = [{"noise_std": lvl, metric: m, "decay": d} for lvl, m, d in zip(pol.noise_levels, values, decay)]
    return Outcome(
        status=grade(v, op="<=", fail=pol.noise_decay_max),
        value=v,
        threshold=threshold("<=", pol.noise_decay_max, at_noise_std=pol.noise_levels[gate_i]),
        summary=f"With Gaussian noise of {pol.noise_levels[gate_i]} x std on all numeric "
        f"features {metric} moves from {base:.3f} to {values[gate_i]:.3f} "
        f"({v:.1%} decay; policy maximum {pol.noise_decay_max:.0%}); at "
        f"{pol.noise_levels[-1]} x std the decay is {decay[-1]:.1%}.",
        details={"metric": metric, "baseline": base, "curve": curve, "features": nums, "sample_size": len(X)},
        charts=[
            charts.lines(
                [0.0, *pol.noise_levels],
                {metric: [base, *values]},
                "Robustness decay under Gaussian noise",
                "Noise (x feature std)",
                metric,
            )
        ],
        evidence=curve,
    )


# ---- ROB-03 ------------------------------------------------------------------------------------
@check(
    "ROB-03",
    F,
    "Categorical swaps",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Review whether the sensitivity to this category is intended.",
)
def categorical_swaps(ctx: ValidationContext, run: RunOptions) -> Outcome:
    _, X = _sample(ctx, "ROB-03")
    cats = [c for c in categorical_columns(X, ctx.features) if X[c].nunique() > 1]
    if not cats:
        return not_evaluable("The model has no categorical features with two or more values.")
    frames = [X]
    for c in cats:  # swap to the most frequent other category
        top = X[c].value_counts().index[:2]
        frames.append(X.assign(**{c: np.where(X[c] == top[0], top[1], top[0])}))
    preds = _score_copies(ctx, frames, proba=False)
    rates = {c: float(_changed(ctx, preds[0], p).mean()) for c, p in zip(cats, preds[1:])}
    worst = max(rates, key=rates.get)
    return Outcome(
        status="info",
        value=rates[worst],
        details={"changed_rate": rates, "sample_size": len(X)},
        summary=f"Swapping {worst} to its most frequent other value changes {rates[worst]:.1%} of predictions.",
        charts=[
            charts.bars(
                list(rates), list(rates.values()), "Changed-prediction rate under categorical swaps", "Feature", "Rate"
            )
        ],
    )


# ---- ROB-06 ------------------------------------------------------------------------------------
@check(
    "ROB-06",
    F,
    "Determinism",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="Make inference deterministic (fix random seeds, disable dropout at "
    "inference) so that results can be reproduced and audited.",
)
def determinism(ctx: ValidationContext, run: RunOptions) -> Outcome:
    idx, X = _sample(ctx, "ROB-06", ctx.policy.robustness.determinism_rows)
    a, b = ctx.score(X), ctx.score(X)
    cached = ctx.predictions("test")
    diff = _differs(a, b)
    diff_cache = _differs(
        a, Predictions(cached.y_pred[idx], None if cached.proba is None else cached.proba[idx], cached.classes)
    )
    v = float(max(diff.mean(), diff_cache.mean()))
    return Outcome(
        status="fail" if v > 0 else "pass",
        value=v,
        threshold=threshold("<=", 0.0),
        summary=(
            f"Scoring the same {len(X)} rows twice gave different outputs for "
            f"{diff.mean():.1%} of rows ({diff_cache.mean():.1%} vs the first full "
            f"scoring)."
            if v > 0
            else f"Scoring the same {len(X)} rows twice gave identical outputs."
        ),
        details={
            "rows": len(X),
            "differs_repeat": float(diff.mean()),
            "differs_vs_full_batch": float(diff_cache.mean()),
        },
        evidence={"differing_rows": int(max(diff.sum(), diff_cache.sum()))},
    )


def _differs(a: Predictions, b: Predictions) -> np.ndarray:
    d = a.y_pred != b.y_pred
    if a.proba is not None and b.proba is not None:
        d |= (a.proba != b.proba).any(axis=1)
    return d


# ---- ROB-07 ------------------------------------------------------------------------------------
@check(
    "ROB-07",
    F,
    "Batch-vs-single consistency",
    suites="standard",
    article=ROB,
    needs_model=True,
    recommendation="A row's output must not depend on the other rows in its batch; look for "
    "batch-level normalisation or state in the serving code.",
)
def batch_vs_single(ctx: ValidationContext, run: RunOptions) -> Outcome:
    _, X = _sample(ctx, "ROB-07", ctx.policy.robustness.single_rows)
    batch = ctx.score(X)
    # Row by row on purpose: that is the behaviour under test (and only ~20 calls).
    singles = [ctx.score(X.iloc[[i]]) for i in range(len(X))]
    bad = []
    for i, s in enumerate(singles):
        same = s.y_pred[0] == batch.y_pred[i]
        if same and s.proba is not None:
            same = bool(np.allclose(s.proba[0], batch.proba[i], rtol=0, atol=1e-9))
        if not same:
            bad.append(i)
    v = len(bad) / max(len(X), 1)
    return Outcome(
        status="fail" if bad else "pass",
        value=v,
        threshold=threshold("<=", 0.0),
        summary=f"{len(bad)} of {len(X)} rows scored alone differ from the same rows scored in a batch.",
        details={"rows": len(X), "mismatched_rows": bad},
        evidence=bad or None,
    )


# ---- ROB-08 / ROB-09 ---------------------------------------------------------------------------
def _flag_slices(ctx: ValidationContext, flag: np.ndarray, what: str, check_id: str) -> Outcome:
    pol = ctx.policy.robustness
    X = ctx.X("test")
    g = float(flag.mean())
    slices = one_feature_slices(X, ctx.features, min_size=ctx.policy.performance.slice_min_samples)
    alpha = ctx.policy.performance.slice_alpha / max(len(slices), 1)
    rows = []
    for sl in slices:
        k, n = flag[sl.mask].sum(), sl.mask.sum()
        rate = k / n
        p = st.two_proportion_p(k, n, flag[~sl.mask].sum(), (~sl.mask).sum())
        if rate > g * pol.slice_rate_factor and p < alpha:
            rows.append(
                {
                    "slice": sl.description,
                    "n": int(n),
                    "rate": float(rate),
                    "ratio_to_global": float(rate / g) if g else None,
                    "p_value": p,
                }
            )
    rows.sort(key=lambda r: -r["rate"])
    top = rows[:15]
    return Outcome(
        status="warn" if rows else "pass",
        value=top[0]["ratio_to_global"] if rows else None,
        threshold=threshold("<=", pol.slice_rate_factor, unit="slice rate / global rate"),
        summary=f"{g:.1%} of test rows are {what}; {len(rows)} slices are significantly "
        f"above {pol.slice_rate_factor} x that rate"
        + (f", worst {top[0]['slice']} ({top[0]['rate']:.1%}, n={top[0]['n']})." if rows else "."),
        details={"global_rate": g, "slices": rows[:50], "n_candidates": len(slices)},
        charts=[
            charts.bars(
                [r["slice"][:60] for r in top],
                [r["rate"] for r in top],
                f"Slices with many {what} predictions",
                "Rate",
                "Slice",
                ref=g,
                horizontal=True,
            )
        ]
        if top
        else [],
        affected=[r["slice"] for r in top[:5]] or None,
        evidence=top[:5] or None,
    )


@check(
    "ROB-08",
    F,
    "Overconfidence slices",
    suites="standard",
    article=ROB,
    tasks=CLASSIFICATION,
    needs_proba=True,
    recommendation="The model is confidently wrong in these slices; recalibrate, add training "
    "data for them, or route them to human review.",
)
def overconfidence(ctx: ValidationContext, run: RunOptions) -> Outcome:
    p = ctx.predictions("test")
    yt, yp = ctx.codes(ctx.y("test")), ctx.codes(p.y_pred)
    rows = np.arange(len(yt))
    p_true = np.where(yt >= 0, p.proba[rows, np.clip(yt, 0, None)], 0.0)
    p_pred = p.proba[rows, np.clip(yp, 0, None)]
    flag = (yt != yp) & (p_pred - p_true > ctx.policy.robustness.overconfidence_gap)
    return _flag_slices(ctx, flag, "overconfident errors", "ROB-08")


@check(
    "ROB-09",
    F,
    "Underconfidence slices",
    suites="standard",
    article=ROB,
    tasks=CLASSIFICATION,
    needs_proba=True,
    recommendation="The model hesitates between classes in these slices; consider abstaining or human review there.",
)
def underconfidence(ctx: ValidationContext, run: RunOptions) -> Outcome:
    proba = np.sort(ctx.predictions("test").proba, axis=1)
    ratio = proba[:, -2] / np.maximum(proba[:, -1], 1e-12)
    return _flag_slices(ctx, ratio > ctx.policy.robustness.underconfidence_ratio, "near-tie", "ROB-09")
