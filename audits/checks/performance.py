"""Performance family (catalogue 4.1): holdout metrics with bootstrap CIs, baseline gain,
train-test gap, per-class report, calibration, threshold analysis, weak slices, residuals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import _stats as st
from . import charts
from ._frame import encode, one_feature_slices, tree_slices
from .base import Outcome, RunOptions, ValidationContext, grade, not_evaluable, threshold
from .registry import ALL_TASKS, CLASSIFICATION, check

F = "performance"
ACC = "Art. 15(1)"
_WORST = {"fail": 3, "warn": 2, "pass": 1, "info": 0, "not_evaluable": 0}


# ---- shared metric computation -----------------------------------------------------------------
def metrics(ctx: ValidationContext, split: str, W: np.ndarray, only: str | None = None) -> dict[str, np.ndarray]:
    """All headline metrics of a split (or just `only`), one value per row of W."""
    p = ctx.predictions(split)
    y = ctx.y(split)
    if ctx.task == "regression":
        return st.w_regression(W, y.astype(float), p.y_pred)
    yt, yp, k = ctx.codes(y), ctx.codes(p.y_pred), len(ctx.classes)
    if only == "roc_auc" and ctx.task == "binary":
        pos = ctx.positive_index
        return {"roc_auc": st.w_auc(W, (yt == pos).astype(int), p.proba[:, pos])}
    out = st.from_confusion(st.w_confusion(W, yt, yp, k))
    if only == "accuracy":
        return out
    if p.proba is not None:
        pos = ctx.positive_index
        if ctx.task == "binary":
            yb = (yt == pos).astype(int)
            out["roc_auc"] = st.w_auc(W, yb, p.proba[:, pos])
            out["pr_auc"] = st.w_average_precision(W, yb, p.proba[:, pos])
        else:
            out["roc_auc"] = st.w_ovr(st.w_auc, W, yt, p.proba)
            out["pr_auc"] = st.w_ovr(st.w_average_precision, W, yt, p.proba)
        out["log_loss"] = st.w_log_loss(W, yt, p.proba)
        out["brier"] = st.w_brier(W, yt, p.proba, pos if ctx.task == "binary" else None)
    return out


def metric_table(ctx: ValidationContext, split: str, with_ci: bool) -> dict[str, dict]:
    """{metric: {"value", "ci"}} for scalar metrics, memoised per run."""
    key = ("metric_table", split, with_ci)
    if key not in ctx.cache:
        point = metrics(ctx, split, st.point_weights(len(ctx.frame(split))))
        boot = ctx.bootstrap(split, lambda W: metrics(ctx, split, W)) if with_ci else {}
        table = {}
        for name, arr in point.items():
            if arr.ndim == 1:
                table[name] = {
                    "value": float(arr[0]),
                    "ci": st.ci(boot[name], ctx.policy.bootstrap.level) if boot else None,
                }
        ctx.cache[key] = (table, point, boot)
    return ctx.cache[key][0]


def headline(ctx: ValidationContext) -> str:
    if ctx.task == "regression":
        return "r2"
    return "roc_auc" if ctx.has_proba else "accuracy"


# ---- PERF-01 -----------------------------------------------------------------------------------
@check(
    "PERF-01",
    F,
    "Holdout metrics",
    suites="quick",
    article=ACC,
    recommendation="Improve the model or its training data before deployment; do not rely on "
    "it for decisions where the metric is below the policy floor.",
)
def holdout_metrics(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.performance
    table = metric_table(ctx, "test", run.with_ci)
    gates = (
        [("r2", pol.min_r2)]
        if ctx.task == "regression"
        else ([("roc_auc", pol.min_auc)] if "roc_auc" in table else []) + [("accuracy", pol.min_accuracy)]
    )
    graded = [(m, t, grade(table[m]["value"], op=">=", fail=t, ci=table[m]["ci"])) for m, t in gates]
    status = max((g for _, _, g in graded), key=_WORST.get)
    main = headline(ctx)
    v, c = table[main]["value"], table[main]["ci"]
    ci_txt = f" (95% CI {c[0]:.3f}-{c[1]:.3f})" if c else ""
    floor = dict(gates).get(main)
    summary = f"Test {main} is {v:.3f}{ci_txt} on {len(ctx.test)} rows" + (
        f" (policy minimum {floor})." if floor is not None else "."
    )
    failing = [m for m, _, g in graded if g in ("fail", "warn")]
    return Outcome(
        status=status,
        summary=summary,
        value=v,
        ci=c,
        threshold=threshold(">=", floor if floor is not None else gates[0][1], gates=dict(gates)),
        details={
            "metrics": table,
            "gates": [{"metric": m, "min": t, "status": g} for m, t, g in graded],
            "n_rows": len(ctx.test),
            "bootstrap_n": ctx.policy.bootstrap.n if run.with_ci else 0,
        },
        charts=_curves(ctx, table),
        affected=failing or None,
        evidence={m: table[m] for m in failing} or None,
    )


def _curves(ctx: ValidationContext, table: dict) -> list[dict]:
    if ctx.task != "binary" or not ctx.has_proba:
        return []
    from sklearn.metrics import precision_recall_curve, roc_curve

    y = ctx.codes(ctx.y("test")) == ctx.positive_index
    s = ctx.positive_scores("test")
    fpr, tpr, _ = roc_curve(y, s)
    prec, rec, _ = precision_recall_curve(y, s)
    return [
        charts.roc_curve(fpr, tpr, table["roc_auc"]["value"]),
        charts.pr_curve(rec[::-1], prec[::-1], table["pr_auc"]["value"], float(y.mean())),
    ]


# ---- PERF-02 -----------------------------------------------------------------------------------
@check(
    "PERF-02",
    F,
    "Baseline gain",
    suites="quick",
    article=ACC,
    recommendation="A model that barely beats a constant prediction adds little; revisit the "
    "features and the modelling approach.",
)
def baseline_gain(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.performance
    ref = ctx.train if ctx.train is not None else ctx.test
    y_test = ctx.y("test")
    p = ctx.predictions("test")

    def gains(W: np.ndarray) -> np.ndarray:
        if ctx.task == "regression":
            mean = float(ref[ctx.target].astype(float).mean())
            model = st.w_mean(W, np.abs(p.y_pred - y_test.astype(float)))
            dummy = st.w_mean(W, np.abs(mean - y_test.astype(float)))
            return (dummy - model) / dummy
        majority = ref[ctx.target].value_counts().idxmax()
        model = st.w_mean(W, ctx.codes(p.y_pred) == ctx.codes(y_test))
        dummy = st.w_mean(W, y_test == majority)
        return (model - dummy) / (1 - dummy)

    gain = float(gains(st.point_weights(len(y_test)))[0])
    c = st.ci(ctx.bootstrap("test", gains), ctx.policy.bootstrap.level) if run.with_ci else None
    metric = "MAE" if ctx.task == "regression" else "accuracy"
    status = grade(gain, op=">=", fail=pol.baseline_gain_min, ci=c)
    details = {
        "metric": metric,
        "dummy": "mean" if ctx.task == "regression" else "prior (majority)",
        "dummy_fitted_on": "train" if ctx.train is not None else "test",
        "simple_model": _simple_model(ctx),
    }
    return Outcome(
        status=status,
        value=gain,
        ci=c,
        threshold=threshold(">=", pol.baseline_gain_min),
        summary=f"The model closes {gain:.1%} of the gap between a dummy baseline and a "
        f"perfect {metric} (policy minimum {pol.baseline_gain_min:.0%}).",
        details=details,
        evidence={"gain": gain, "ci": c},
    )


def _simple_model(ctx: ValidationContext) -> dict | None:
    """Reference score of a depth-3 tree on ordinally encoded features (informational)."""
    if ctx.train is None:
        return None
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    Xtr, Xte = encode(ctx.train, ctx.features), encode(ctx.test, ctx.features, ref=ctx.train)
    if ctx.task == "regression":
        m = DecisionTreeRegressor(max_depth=3, random_state=ctx.seed).fit(Xtr, ctx.y("train"))
        return {"model": "depth-3 tree", "mae": float(np.mean(np.abs(m.predict(Xte) - ctx.y("test"))))}
    m = DecisionTreeClassifier(max_depth=3, random_state=ctx.seed).fit(Xtr, ctx.y("train").astype(str))
    acc = float(np.mean(m.predict(Xte) == ctx.y("test").astype(str)))
    return {"model": "depth-3 tree", "accuracy": acc}


# ---- PERF-03 -----------------------------------------------------------------------------------
@check(
    "PERF-03",
    F,
    "Train-test gap (overfitting)",
    suites="standard",
    article=ACC,
    needs_train=True,
    recommendation="Regularise the model (depth, early stopping, fewer features) or collect "
    "more data; the test score is the one to trust.",
)
def train_test_gap(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.performance
    m = headline(ctx)
    tr = metric_table(ctx, "train", False)[m]["value"]
    te = metric_table(ctx, "test", False)[m]["value"]
    gap = (tr - te) / abs(tr) if tr else float("nan")
    c = None
    if run.with_ci:
        btr = ctx.bootstrap("train", lambda W: metrics(ctx, "train", W, only=m)[m])
        bte = ctx.bootstrap("test", lambda W: metrics(ctx, "test", W, only=m)[m])
        c = st.ci((btr - bte) / np.abs(btr), ctx.policy.bootstrap.level)
    status = grade(gap, op="<=", fail=pol.max_train_test_gap, warn=pol.warn_train_test_gap, ci=c)
    bins = _bin_gaps(ctx) if ctx.task != "regression" else []
    return Outcome(
        status=status,
        value=gap,
        ci=c,
        threshold=threshold("<=", pol.max_train_test_gap, pol.warn_train_test_gap),
        summary=f"{m} drops from {tr:.3f} on train to {te:.3f} on test, a relative "
        f"gap of {gap:.1%} (policy maximum {pol.max_train_test_gap:.0%}).",
        details={"metric": m, "train": tr, "test": te, "worst_bins": bins},
        evidence={"train": tr, "test": te, "gap": gap},
    )


def _bin_gaps(ctx: ValidationContext, top: int = 10) -> list[dict]:
    """Accuracy gap per feature bin (VM OverfitDiagnosis), bins defined on the train split."""
    min_n = ctx.policy.performance.slice_min_samples
    tr, te = ctx.train, ctx.test
    ok_tr = ctx.codes(ctx.predictions("train").y_pred) == ctx.codes(ctx.y("train"))
    ok_te = ctx.codes(ctx.predictions("test").y_pred) == ctx.codes(ctx.y("test"))
    both = pd.concat([tr[ctx.features], te[ctx.features]], ignore_index=True)
    n_tr = len(tr)
    rows = []
    for sl in one_feature_slices(both, ctx.features, min_size=2 * min_n):
        a, b = sl.mask[:n_tr], sl.mask[n_tr:]
        if a.sum() >= min_n and b.sum() >= min_n:
            g = float(ok_tr[a].mean() - ok_te[b].mean())
            rows.append(
                {
                    "slice": sl.description,
                    "train_accuracy": float(ok_tr[a].mean()),
                    "test_accuracy": float(ok_te[b].mean()),
                    "gap": g,
                    "n_test": int(b.sum()),
                }
            )
    return sorted(rows, key=lambda r: -r["gap"])[:top]


# ---- PERF-04 -----------------------------------------------------------------------------------
@check(
    "PERF-04",
    F,
    "Per-class report and confusion matrix",
    suites="quick",
    article=ACC,
    tasks=CLASSIFICATION,
    recommendation="Check whether the weak class matters for the use case; rebalance or "
    "reweight the training data, or adjust the decision threshold.",
)
def per_class_report(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.performance
    yt, yp = ctx.codes(ctx.y("test")), ctx.codes(ctx.predictions("test").y_pred)
    k = len(ctx.classes)
    C = st.w_confusion(st.point_weights(len(yt)), yt, yp, k)
    m = st.from_confusion(C)
    classes = [str(c) for c in ctx.classes]
    rows = [
        {
            "class": c,
            "precision": float(m["precision_per_class"][0, i]),
            "recall": float(m["recall_per_class"][0, i]),
            "f1": float(m["f1_per_class"][0, i]),
            "support": int(C[0, i].sum()),
        }
        for i, c in enumerate(classes)
    ]
    worst = min(rows, key=lambda r: r["f1"])
    status = grade(worst["f1"], op=">=", fail=pol.min_f1)
    return Outcome(
        status=status,
        value=worst["f1"],
        threshold=threshold(">=", pol.min_f1),
        summary=f"Lowest per-class F1 is {worst['f1']:.3f} for class {worst['class']} "
        f"(precision {worst['precision']:.3f}, recall {worst['recall']:.3f}).",
        details={
            "per_class": rows,
            "confusion_matrix": C[0].astype(int),
            "labels": classes,
            "unknown_true_labels": int((yt < 0).sum()),
        },
        charts=[charts.confusion_matrix(C[0].astype(int), classes)],
        affected=worst["class"],
        evidence=worst,
    )


# ---- PERF-05 -----------------------------------------------------------------------------------
@check(
    "PERF-05",
    F,
    "Calibration",
    suites="standard",
    article=ACC,
    tasks=CLASSIFICATION,
    needs_proba=True,
    recommendation="Recalibrate the scores (isotonic or Platt scaling on held-out data) before "
    "using them as probabilities.",
)
def calibration(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.calibration
    p = ctx.predictions("test")
    yt = ctx.codes(ctx.y("test"))
    if ctx.task == "binary":  # reliability of P(positive), the number users read
        conf, hit = p.proba[:, ctx.positive_index], (yt == ctx.positive_index).astype(float)
        kind = "positive-class probability"
    else:  # top-label calibration (Guo et al. 2017)
        conf, hit = p.proba.max(axis=1), (p.proba.argmax(axis=1) == yt).astype(float)
        kind = "top-label confidence"
    ece, curve = st.w_ece(st.point_weights(len(conf)), conf, hit, pol.n_bins)
    c = None
    if run.with_ci:
        c = st.ci(ctx.bootstrap("test", lambda W: st.w_ece(W, conf, hit, pol.n_bins)[0]), ctx.policy.bootstrap.level)
    ece = float(ece[0])
    brier = metric_table(ctx, "test", False)["brier"]["value"]
    keep = curve["count"] > 0
    status = grade(ece, op="<=", fail=pol.ece_max, warn=pol.ece_warn, ci=c)
    return Outcome(
        status=status,
        value=ece,
        ci=c,
        threshold=threshold("<=", pol.ece_max, pol.ece_warn),
        summary=f"Expected calibration error of the {kind} is {ece:.3f} "
        f"(policy maximum {pol.ece_max}); Brier score {brier:.3f}.",
        details={"kind": kind, "n_bins": pol.n_bins, "brier": brier, "curve": {k: v[keep] for k, v in curve.items()}},
        charts=[
            charts.calibration_curve(
                curve["mean_confidence"][keep], curve["observed_frequency"][keep], curve["count"][keep]
            )
        ],
        evidence={"ece": ece, "ci": c},
    )


# ---- PERF-06 -----------------------------------------------------------------------------------
@check(
    "PERF-06",
    F,
    "Threshold analysis",
    suites="standard",
    article=ACC,
    tasks=("binary",),
    needs_proba=True,
    recommendation="Choose the operating threshold from the costs of errors.",
)
def threshold_analysis(ctx: ValidationContext, run: RunOptions) -> Outcome:
    from sklearn.metrics import precision_recall_curve, roc_curve

    y = ctx.codes(ctx.y("test")) == ctx.positive_index
    s = ctx.positive_scores("test")
    prec, rec, thr = precision_recall_curve(y, s)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0)[:-1]
    best = int(np.argmax(f1)) if len(f1) else 0
    fpr, tpr, rthr = roc_curve(y, s)
    j = int(np.argmax(tpr - fpr))
    at_half = f1[np.searchsorted(thr, 0.5)] if len(thr) and thr[-1] >= 0.5 else 0.0
    grid = np.linspace(0, len(thr) - 1, min(len(thr), 200)).astype(int) if len(thr) else []
    details = {
        "best_f1_threshold": float(thr[best]) if len(thr) else None,
        "best_f1": float(f1[best]),
        "f1_at_0_5": float(at_half),
        "youden_threshold": float(rthr[j]),
        "youden_tpr": float(tpr[j]),
        "youden_fpr": float(fpr[j]),
    }
    chart = charts.lines(
        thr[grid],
        {"precision": prec[grid], "recall": rec[grid], "F1": f1[grid]},
        "Metrics by decision threshold",
        "Threshold",
        "Score",
    )
    return Outcome(
        status="info",
        value=details["best_f1_threshold"],
        details=details,
        charts=[chart],
        summary=f"Best F1 {details['best_f1']:.3f} at threshold "
        f"{details['best_f1_threshold']:.3f} (F1 at 0.5: {at_half:.3f}).",
    )


# ---- PERF-07 -----------------------------------------------------------------------------------
@check(
    "PERF-07",
    F,
    "Weak-slice search",
    suites="full",
    article=ACC,
    recommendation="Collect more training data for the weak slice, add features that explain "
    "it, or restrict the intended use to exclude it.",
)
def weak_slices(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.performance
    df = ctx.X("test")
    p = ctx.predictions("test")
    if ctx.task == "regression":
        err = np.abs(p.y_pred - ctx.y("test").astype(float))
    else:
        err = (ctx.codes(p.y_pred) != ctx.codes(ctx.y("test"))).astype(float)
    cands = one_feature_slices(df, ctx.features, min_size=pol.slice_min_samples)
    cands += tree_slices(
        df,
        ctx.features,
        err if ctx.task == "regression" else err.astype(int),
        depth=pol.slice_tree_depth,
        min_size=pol.slice_min_samples,
        seed=ctx.seed,
        regression=ctx.task == "regression",
    )
    g = err.mean()
    alpha = pol.slice_alpha / max(len(cands), 1)  # Bonferroni: many slices are tested at once
    rows = []
    for sl in cands:
        e_in, e_out = err[sl.mask], err[~sl.mask]
        if ctx.task == "regression":
            drop = (e_in.mean() - g) / g if g else 0.0
            pval = float(sps.ttest_ind(e_in, e_out, equal_var=False, alternative="greater").pvalue)
            metric = float(e_in.mean())
        else:
            drop = (e_in.mean() - g) / (1 - g) if g < 1 else 0.0  # relative accuracy drop
            pval = st.two_proportion_p(e_in.sum(), len(e_in), e_out.sum(), len(e_out))
            metric = float(1 - e_in.mean())
        rows.append(
            {
                "slice": sl.description,
                "source": "tree" if sl.feature == "tree" else "bin",
                "n": int(sl.mask.sum()),
                "metric": metric,
                "relative_drop": float(drop),
                "p_value": pval,
                "significant": bool(pval < alpha),
            }
        )
    rows.sort(key=lambda r: -r["relative_drop"])
    flagged = [r for r in rows if r["significant"] and r["relative_drop"] >= pol.slice_drop_warn]
    worst = flagged[0]["relative_drop"] if flagged else (rows[0]["relative_drop"] if rows else 0.0)
    status = "pass" if not flagged else grade(worst, op="<=", fail=pol.slice_drop_fail, warn=pol.slice_drop_warn)
    mname = "MAE" if ctx.task == "regression" else "accuracy"
    gm = float(g if ctx.task == "regression" else 1 - g)
    top = rows[:15]
    chart = charts.bars(
        [r["slice"][:60] for r in top],
        [r["metric"] for r in top],
        f"Weakest slices by {mname}",
        mname,
        "Slice",
        ref=gm,
        horizontal=True,
    )
    summary = f"{len(flagged)} of {len(rows)} slices are significantly worse than the global {mname} of {gm:.3f}" + (
        f"; worst: {flagged[0]['slice']} ({flagged[0]['metric']:.3f}, n={flagged[0]['n']})." if flagged else "."
    )
    return Outcome(
        status=status,
        value=worst,
        summary=summary,
        charts=[chart],
        threshold=threshold(
            "<=", pol.slice_drop_fail, pol.slice_drop_warn, min_samples=pol.slice_min_samples, alpha=pol.slice_alpha
        ),
        details={
            "metric": mname,
            "global": gm,
            "slices": rows[:50],
            "n_candidates": len(rows),
            "bonferroni_alpha": alpha,
        },
        severity="high" if status == "fail" else None,
        affected=[r["slice"] for r in flagged[:5]] or None,
        evidence=flagged[:5] or None,
    )


# ---- PERF-08 -----------------------------------------------------------------------------------
@check(
    "PERF-08",
    F,
    "Regression error diagnostics",
    suites="standard",
    article=ACC,
    tasks=("regression",),
    recommendation="A systematic bias in the residuals suggests a missing feature or a target "
    "shift; correct it before deployment.",
)
def residuals(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.performance
    e = ctx.predictions("test").y_pred - ctx.y("test").astype(float)
    rmse = float(np.sqrt(np.mean(e**2)))
    ratio = abs(float(e.mean())) / rmse if rmse else 0.0
    c = None
    if run.with_ci:
        c = st.ci(
            ctx.bootstrap("test", lambda W: np.abs(st.w_mean(W, e)) / np.sqrt(st.w_mean(W, e**2))),
            ctx.policy.bootstrap.level,
        )
    counts, edges = np.histogram(e, bins=40)
    kurt = float(sps.kurtosis(e))
    return Outcome(
        status=grade(ratio, op="<=", fail=pol.systematic_error_max, ci=c),
        value=ratio,
        ci=c,
        threshold=threshold("<=", pol.systematic_error_max),
        summary=f"Mean residual {e.mean():.4g} is {ratio:.1%} of the RMSE {rmse:.4g} "
        f"(policy maximum {pol.systematic_error_max:.0%}); excess kurtosis {kurt:.2f}.",
        details={"mean_error": float(e.mean()), "rmse": rmse, "kurtosis": kurt, "skew": float(sps.skew(e))},
        charts=[
            charts.bars(np.round((edges[:-1] + edges[1:]) / 2, 4), counts, "Residual distribution", "Residual", "Rows")
        ],
    )


# ---- PERF-11 -----------------------------------------------------------------------------------
@check(
    "PERF-11",
    F,
    "Metric uncertainty",
    suites="standard",
    article=ACC,
    tasks=ALL_TASKS,
    recommendation="Evaluate on a larger test set before relying on the metrics.",
)
def metric_uncertainty(ctx: ValidationContext, run: RunOptions) -> Outcome:
    pol = ctx.policy.performance
    table = metric_table(ctx, "test", True)
    widths = {
        m: r["ci"][1] - r["ci"][0]
        for m, r in table.items()
        if r["ci"] and m in ("accuracy", "balanced_accuracy", "roc_auc", "pr_auc", "f1_macro", "r2")
    }
    if not widths:
        return not_evaluable("No bootstrap CI could be computed.")
    m = headline(ctx)
    w = widths.get(m, max(widths.values()))
    status = grade(w, op="<=", fail=pol.max_ci_width)
    # Too little test data is a limit on the evidence, not a model defect: at most a warning.
    return Outcome(
        status="warn" if status == "fail" else status,
        value=w,
        threshold=threshold("<=", pol.max_ci_width),
        ci=table[m]["ci"],
        summary=f"The 95% CI of {m} is {w:.3f} wide on {len(ctx.test)} test rows "
        f"(policy maximum width {pol.max_ci_width}).",
        details={"ci_widths": widths, "bootstrap_n": ctx.policy.bootstrap.n, "metrics": table},
    )
