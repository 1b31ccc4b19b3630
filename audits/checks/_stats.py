"""Vectorised metrics over bootstrap weight matrices.

Every metric takes `W`, a (B, n) matrix of per-row weights: `W = ones((1, n))` gives the point
estimate, and `bootstrap_weights` gives B resamples as row counts (indices sampled once, then
every metric is a few matrix products instead of B Python loops).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-15


def point_weights(n: int) -> np.ndarray:
    return np.ones((1, n))


def bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) row counts of n_boot resamples with replacement."""
    idx = rng.integers(0, n, size=(n_boot, n))
    flat = idx + (np.arange(n_boot)[:, None] * n)
    return np.bincount(flat.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def ci(samples: np.ndarray, level: float = 0.95) -> list[float] | None:
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if s.size < 10:
        return None
    a = (1 - level) / 2
    return [float(np.quantile(s, a)), float(np.quantile(s, 1 - a))]


def w_mean(W: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (W @ np.asarray(x, dtype=float)) / W.sum(axis=1)


def w_sum(W: np.ndarray, x: np.ndarray) -> np.ndarray:
    return W @ np.asarray(x, dtype=float)


# ---- classification ----------------------------------------------------------------------------
def w_confusion(W: np.ndarray, yt: np.ndarray, yp: np.ndarray, k: int) -> np.ndarray:
    """(B, k, k) weighted confusion counts, rows = true class, columns = predicted class."""
    cell = np.where((yt >= 0) & (yp >= 0), yt * k + yp, k * k)
    onehot = np.zeros((len(cell), k * k + 1))
    onehot[np.arange(len(cell)), cell] = 1.0
    return (W @ onehot)[:, : k * k].reshape(-1, k, k)


def from_confusion(C: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy, per-class and averaged P/R/F1 from (B, k, k) counts."""
    tp = np.diagonal(C, axis1=1, axis2=2)
    support = C.sum(axis=2)
    predicted = C.sum(axis=1)
    total = C.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        share = support / total[:, None]
    present = support > 0
    out = {
        "accuracy": tp.sum(axis=1) / total,
        "balanced_accuracy": (recall * present).sum(axis=1) / present.sum(axis=1),
        "precision_per_class": precision,
        "recall_per_class": recall,
        "f1_per_class": f1,
    }
    for name, arr in (("precision", precision), ("recall", recall), ("f1", f1)):
        out[f"{name}_macro"] = arr.mean(axis=1)
        out[f"{name}_weighted"] = (arr * share).sum(axis=1)
    return out


def _tie_groups(score: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-score if descending else score, kind="mergesort")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return order, starts


def w_auc(W: np.ndarray, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Weighted ROC-AUC (Mann-Whitney with ties counted half) for binary y in {0, 1}."""
    order, starts = _tie_groups(score, descending=False)
    yo = y[order].astype(bool)
    Wo = W[:, order]
    pos = np.add.reduceat(Wo * yo, starts, axis=1)
    neg = np.add.reduceat(Wo * ~yo, starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)


def w_average_precision(W: np.ndarray, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Weighted average precision (area under the PR curve as in sklearn) for binary y."""
    order, starts = _tie_groups(score, descending=True)
    yo = y[order].astype(bool)
    Wo = W[:, order]
    tp = np.cumsum(np.add.reduceat(Wo * yo, starts, axis=1), axis=1)
    fp = np.cumsum(np.add.reduceat(Wo * ~yo, starts, axis=1), axis=1)
    n_pos = tp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)
        recall = tp / n_pos
    d_recall = np.diff(np.concatenate([np.zeros((len(W), 1)), recall], axis=1), axis=1)
    return np.nansum(d_recall * precision, axis=1)


def w_ovr(fn, W: np.ndarray, yt: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Macro one-vs-rest average of a binary ranking metric."""
    k = proba.shape[1]
    vals = [fn(W, (yt == j).astype(int), proba[:, j]) for j in range(k) if (yt == j).any()]
    return np.nanmean(np.vstack(vals), axis=0)


def w_log_loss(W: np.ndarray, yt: np.ndarray, proba: np.ndarray) -> np.ndarray:
    p = np.clip(proba[np.arange(len(yt)), np.clip(yt, 0, None)], EPS, 1.0)
    p = np.where(yt >= 0, p, EPS)
    return w_mean(W, -np.log(p))


def w_brier(W: np.ndarray, yt: np.ndarray, proba: np.ndarray, pos: int | None) -> np.ndarray:
    """Binary: mean (p_pos - y)^2 (sklearn convention); multiclass: mean sum_k (p_k - y_k)^2."""
    onehot = np.zeros_like(proba)
    ok = yt >= 0
    onehot[np.flatnonzero(ok), yt[ok]] = 1.0
    if pos is not None and proba.shape[1] == 2:
        return w_mean(W, (proba[:, pos] - onehot[:, pos]) ** 2)
    return w_mean(W, ((proba - onehot) ** 2).sum(axis=1))


def w_ece(W: np.ndarray, conf: np.ndarray, hit: np.ndarray, n_bins: int):
    """Expected calibration error with equal-width bins; also returns the per-bin curve."""
    bins = np.clip((conf * n_bins).astype(int), 0, n_bins - 1)
    onehot = np.zeros((len(conf), n_bins))
    onehot[np.arange(len(conf)), bins] = 1.0
    cnt = W @ onehot
    sum_conf = W @ (onehot * conf[:, None])
    sum_hit = W @ (onehot * hit[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(sum_conf - sum_hit)
    ece = gap.sum(axis=1) / cnt.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = {"count": cnt[0], "mean_confidence": sum_conf[0] / cnt[0], "observed_frequency": sum_hit[0] / cnt[0]}
    return ece, curve


# ---- regression --------------------------------------------------------------------------------
def w_regression(W: np.ndarray, y: np.ndarray, yhat: np.ndarray) -> dict[str, np.ndarray]:
    y = np.asarray(y, dtype=float)
    e = np.asarray(yhat, dtype=float) - y
    n = W.sum(axis=1)
    sse = W @ (e**2)
    sst = W @ (y**2) - (W @ y) ** 2 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1 - sse / sst
    ape = np.abs(e) / np.maximum(np.abs(y), np.finfo(float).eps)
    present = W > 0
    return {
        "mae": w_mean(W, np.abs(e)),
        "rmse": np.sqrt(sse / n),
        "mape": w_mean(W, ape),
        "r2": r2,
        "max_error": np.where(present, np.abs(e), 0).max(axis=1),
        "mean_error": w_mean(W, e),
    }


def two_proportion_p(k1: float, n1: float, k0: float, n0: float) -> float:
    """One-sided p-value that rate k1/n1 exceeds k0/n0 (normal approximation)."""
    from scipy.stats import norm

    if n1 <= 0 or n0 <= 0:
        return 1.0
    p = (k1 + k0) / (n1 + n0)
    se = np.sqrt(max(p * (1 - p), 1e-12) * (1 / n1 + 1 / n0))
    return float(norm.sf((k1 / n1 - k0 / n0) / se))
