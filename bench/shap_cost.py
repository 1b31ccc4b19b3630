"""What SHAP global importance (XAI-01) costs against a bare explainer call on the same rows.

The bare call is `shap.TreeExplainer(final_estimator)(X)` (for a linear final step
`shap.LinearExplainer(final_estimator, background)(X)`, as XAI-01 uses), on exactly the rows XAI-01
explains (the sample its time budget allows, `explainer_bundle(ctx)["X"]`), already transformed by the
pipeline's preprocessing (dense floats): the bare call gets the transform for free, XAI-01 pays for it,
and for building the explainer, mapping one-hot columns back to features, and its two charts.

Two ratios:
* in the run: XAI-01's `duration_s` from the worker run over the fastest bare call. The run's child
  imports shap before its first check (`audits.engine.preload`), so like the bare call XAI-01 does not
  pay `import shap` (1-2 s);
* paired: XAI-01 run again in this process, warm, interleaved with the bare call, fastest of each
  (the wrapper's own overhead, insensitive to other load on the machine).
"""

from __future__ import annotations

import time

from bench.cases import DATASETS


def shap_overhead(prep, xai01_run_s: float | None, *, repeats: int = 3) -> dict:
    import joblib
    import shap

    from audits.checks import ValidationContext
    from audits.checks.base import RunOptions
    from audits.checks.explainability import explainer_bundle
    from audits.checks.registry import REGISTRY
    from models_registry.datasets import read_dataset

    case = DATASETS[prep.dataset]
    model = joblib.load(prep.model_path)
    test = read_dataset(prep.test_path, prep.test_options)

    def context() -> ValidationContext:
        return ValidationContext(
            task="binary", model=model, test=test, target=case.target, sensitive=list(case.sensitive), seed=0
        )

    ctx = context()
    pol = ctx.policy.explainability
    pre, est = model[:-1], model[-1]
    X_t = _dense(pre.transform(explainer_bundle(context())["X"]))  # the rows XAI-01 explains in its budget
    if hasattr(est, "coef_"):
        kind = "LinearExplainer"
        bg = _dense(pre.transform(ctx.X("test").iloc[ctx.sample_index("test", pol.background_size, "XAI:bg")]))
        bare = lambda: shap.LinearExplainer(est, bg)(X_t)  # noqa: E731
    else:
        kind = "TreeExplainer"
        bare = lambda: shap.TreeExplainer(est)(X_t)  # noqa: E731
    xai01 = lambda: REGISTRY["XAI-01"].func(context(), RunOptions(suite="full"))  # noqa: E731
    bare(), xai01()  # warm both up (first plotly figure, lazy imports)
    bare_runs, xai_runs = [], []
    for _ in range(repeats):
        bare_runs.append(_timed(bare))
        xai_runs.append(_timed(xai01))
    bare_s, xai_s = min(bare_runs), min(xai_runs)
    return {
        "explainer": kind,
        "rows": int(X_t.shape[0]),
        "transformed_features": int(X_t.shape[1]),
        "bare_s": round(bare_s, 3),
        "bare_runs_s": _r(bare_runs),
        "xai01_warm_s": round(xai_s, 3),
        "xai01_warm_runs_s": _r(xai_runs),
        "xai01_run_s": xai01_run_s,
        "ratio_run": round(xai01_run_s / bare_s, 2) if xai01_run_s and bare_s > 0 else None,
        "ratio_paired": round(xai_s / bare_s, 2) if bare_s > 0 else None,
    }


def _dense(X):
    import numpy as np

    return np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=float)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _r(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]
