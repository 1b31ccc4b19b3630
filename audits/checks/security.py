"""Security and privacy family (catalogue 4.8): black-box membership inference.

A loss/confidence threshold attack: training rows (members) tend to get a higher probability on
their true label than unseen test rows (non-members). The attack score is that probability (or
minus the absolute residual for regression); its ROC-AUC against membership measures leakage
(0.5 = nothing to learn), and TPR at 1 % and 0.1 % FPR measures whether *some* records are
confidently exposed. Uses only cached predictions: no extra model calls.
"""

from __future__ import annotations

import numpy as np

from . import _stats as st
from . import charts
from .base import Outcome, RunOptions, ValidationContext, grade, threshold
from .registry import check

F = "security"


def _attack_score(ctx: ValidationContext, split: str, idx: np.ndarray) -> np.ndarray:
    p = ctx.predictions(split)
    y = ctx.y(split)[idx]
    if ctx.task == "regression":
        return -np.abs(p.y_pred[idx] - y.astype(float))
    yt = ctx.codes(y)
    if p.proba is None:  # label-only attack: members are more often classified correctly
        return (ctx.codes(p.y_pred[idx]) == yt).astype(float)
    proba = p.proba[idx]
    return np.where(yt >= 0, proba[np.arange(len(idx)), np.clip(yt, 0, None)], 0.0)


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    ok = fpr <= target
    return float(tpr[ok].max()) if ok.any() else 0.0


@check(
    "SEC-05",
    F,
    "Membership inference (confidence attack)",
    suites="full",
    article="Art. 15(5)",
    needs_train=True,
    recommendation="The model reveals which records it was trained on: regularise it, reduce "
    "overfitting, return labels or rounded scores only, or train with "
    "differential privacy; then re-run this check.",
)
def membership_inference(ctx: ValidationContext, run: RunOptions) -> Outcome:
    from sklearn.metrics import roc_curve

    pol = ctx.policy.security
    m = min(len(ctx.train), len(ctx.test), pol.mia_sample)
    tr_idx = ctx.sample_index("train", m, "SEC-05:train")[:m]
    te_idx = ctx.sample_index("test", m, "SEC-05:test")[:m]
    score = np.concatenate([_attack_score(ctx, "train", tr_idx), _attack_score(ctx, "test", te_idx)])
    member = np.r_[np.ones(len(tr_idx), int), np.zeros(len(te_idx), int)]
    auc = float(st.w_auc(st.point_weights(len(score)), member, score)[0])
    c = None
    if run.with_ci:
        W = st.bootstrap_weights(len(score), ctx.policy.bootstrap.n, ctx.rng("SEC-05"))
        c = st.ci(st.w_auc(W, member, score), ctx.policy.bootstrap.level)
    fpr, tpr, _ = roc_curve(member, score)
    t1, t01 = tpr_at_fpr(fpr, tpr, 0.01), tpr_at_fpr(fpr, tpr, 0.001)
    advantage = float(np.max(tpr - fpr))
    status = grade(auc, op="<=", fail=pol.mia_auc_max, warn=pol.mia_auc_warn, ci=c)
    chart = charts.roc_curve(fpr, tpr, auc)
    chart["layout"]["title"] = {"text": "Membership inference attack ROC"}
    chart["layout"]["xaxis"]["type"] = "log"
    return Outcome(
        status=status,
        value=auc,
        ci=c,
        threshold=threshold("<=", pol.mia_auc_max, pol.mia_auc_warn),
        severity="high" if status == "fail" else None,
        summary=f"A confidence-threshold attack separates {m} training rows from {m} test rows "
        f"with AUC {auc:.3f}; TPR at 1% FPR {t1:.1%}, at 0.1% FPR {t01:.1%}; membership "
        f"advantage {advantage:.3f}.",
        details={
            "attack": "loss/confidence threshold" if ctx.has_proba or ctx.task == "regression" else "label-only",
            "members": m,
            "non_members": m,
            "auc": auc,
            "tpr_at_1pct_fpr": t1,
            "tpr_at_0_1pct_fpr": t01,
            "membership_advantage": advantage,
            "note": None if m >= 1000 else "fewer than 1000 non-members: TPR at 0.1% FPR is not resolvable",
        },
        charts=[chart],
        evidence={"auc": auc, "ci": c, "tpr_at_1pct_fpr": t1, "tpr_at_0_1pct_fpr": t01},
    )
