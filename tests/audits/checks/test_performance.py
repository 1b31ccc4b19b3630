import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from audits.checks import Policy, ValidationContext
from audits.checks import _stats as st

from ._helpers import FAST, run_one, split, tabular, tree_pipeline


def scored(n: int, seed: int = 0, power: float = 1.0) -> pd.DataFrame:
    """Labels drawn from the score itself: the score is perfectly calibrated when power == 1."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    y = (rng.uniform(size=n) < p).astype(int)
    s = p**power
    return pd.DataFrame({"f": rng.normal(size=n), "y": y, "score": s, "pred": (s >= 0.5).astype(int)})


def pred_ctx(df, task="binary", overrides=None, **kw):
    return ValidationContext(
        task=task,
        test=df,
        target="y",
        prediction_column="pred",
        score_column=kw.pop("score_column", "score"),
        features=["f"],
        policy=Policy.from_overrides({**FAST, **(overrides or {})}),
        **kw,
    )


def test_vectorised_metrics_match_sklearn_including_ties():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.uniform(size=500), 1)  # many ties
    W = st.point_weights(500)
    assert st.w_auc(W, y, s)[0] == pytest.approx(skm.roc_auc_score(y, s))
    assert st.w_average_precision(W, y, s)[0] == pytest.approx(skm.average_precision_score(y, s))
    yp = (s > 0.5).astype(int)
    m = st.from_confusion(st.w_confusion(W, y, yp, 2))
    assert m["balanced_accuracy"][0] == pytest.approx(skm.balanced_accuracy_score(y, yp))
    assert m["f1_macro"][0] == pytest.approx(skm.f1_score(y, yp, average="macro"))
    assert m["f1_weighted"][0] == pytest.approx(skm.f1_score(y, yp, average="weighted"))
    proba = np.column_stack([1 - s, s]).clip(1e-6, 1 - 1e-6)
    assert st.w_log_loss(W, y, proba)[0] == pytest.approx(skm.log_loss(y, proba))
    assert st.w_brier(W, y, proba, 1)[0] == pytest.approx(skm.brier_score_loss(y, proba[:, 1]))


def test_weighted_metrics_equal_metrics_on_the_resampled_rows():
    rng = np.random.default_rng(4)
    y, s = rng.integers(0, 2, 300), rng.uniform(size=300)
    W = st.bootstrap_weights(300, 3, rng)
    idx = np.repeat(np.arange(300), W[1].astype(int))
    assert st.w_auc(W, y, s)[1] == pytest.approx(skm.roc_auc_score(y[idx], s[idx]))
    reg = st.w_regression(W, s, s + y)
    assert reg["r2"][1] == pytest.approx(skm.r2_score(s[idx], (s + y)[idx]))
    assert reg["mae"][1] == pytest.approx(skm.mean_absolute_error(s[idx], (s + y)[idx]))


def test_bootstrap_ci_contains_the_point_estimate_for_every_metric():
    r = run_one(pred_ctx(scored(1000)), "PERF-01")
    assert r.ci[0] <= r.value <= r.ci[1]
    for name, m in r.details["metrics"].items():
        assert m["ci"][0] - 1e-12 <= m["value"] <= m["ci"][1] + 1e-12, name


def test_quick_suite_reports_metrics_without_cis():
    r = run_one(pred_ctx(scored(500)), "PERF-01", suite="quick")
    assert r.ci is None and r.details["bootstrap_n"] == 0


def test_a_perfectly_calibrated_model_passes_calibration():
    r = run_one(pred_ctx(scored(5000)), "PERF-05")
    assert r.status == "pass" and r.value < 0.03
    assert r.charts[0]["layout"]["title"]["text"] == "Reliability curve"


def test_a_miscalibrated_model_fails_calibration():
    r = run_one(pred_ctx(scored(5000, power=3.0)), "PERF-05")
    assert r.status == "fail" and r.value > 0.1
    assert r.finding["eu_ai_act_article"] == "Art. 15(1)"


def test_policy_override_raises_the_auc_floor_to_a_fail():
    df = scored(3000)
    assert run_one(pred_ctx(df), "PERF-01").status == "pass"
    r = run_one(pred_ctx(df, overrides={"performance.min_auc": 0.95}), "PERF-01")
    assert r.status == "fail" and r.threshold["value"] == 0.95


def test_baseline_gain_is_zero_for_a_constant_predictor():
    df = scored(600).assign(pred=0, score=0.3)
    r = run_one(pred_ctx(df), "PERF-02")
    majority_is_zero = (df.y == 0).mean() >= 0.5
    assert r.status == "fail" and (r.value == pytest.approx(0.0) or not majority_is_zero)


def test_an_overfit_model_shows_a_train_test_gap():
    from sklearn.tree import DecisionTreeClassifier

    train, test = split(tabular(800))
    feats = ["x1", "x2", "noise"]
    deep = DecisionTreeClassifier(random_state=0).fit(train[feats], train.y)
    ctx = ValidationContext(
        task="binary",
        model=deep,
        train=train,
        test=test,
        target="y",
        features=feats,
        policy=Policy.from_overrides(FAST),
    )
    r = run_one(ctx, "PERF-03")
    assert r.status == "fail" and r.details["train"] == 1.0 and r.value > 0.1
    assert r.ci[0] <= r.value <= r.ci[1]


def test_per_class_report_and_confusion_matrix_for_multiclass():
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b", "c"], 600)
    pred = np.where(rng.uniform(size=600) < 0.8, y, "a")
    df = pd.DataFrame({"f": rng.normal(size=600), "y": y, "pred": pred})
    ctx = ValidationContext(
        task="multiclass", test=df, target="y", prediction_column="pred", policy=Policy.from_overrides(FAST)
    )
    r = run_one(ctx, "PERF-04")
    cm = np.array(r.details["confusion_matrix"])
    assert cm.sum() == 600 and cm[1, 0] > 0 and cm[0, 1] == 0
    per = {row["class"]: row for row in r.details["per_class"]}
    assert per["a"]["recall"] == 1.0
    assert run_one(ctx, "PERF-01").details["metrics"]["accuracy"]["value"] == pytest.approx((y == pred).mean())


def test_weak_slice_search_finds_a_planted_bad_segment():
    rng = np.random.default_rng(0)
    n = 3000
    region = rng.choice(["north", "south", "east", "west"], n)
    y = rng.integers(0, 2, n)
    wrong = np.where(region == "north", rng.uniform(size=n) < 0.5, rng.uniform(size=n) < 0.05)
    df = pd.DataFrame({"region": region, "f": rng.normal(size=n), "y": y, "pred": np.where(wrong, 1 - y, y)})
    ctx = ValidationContext(
        task="binary", test=df, target="y", prediction_column="pred", policy=Policy.from_overrides(FAST)
    )
    r = run_one(ctx, "PERF-07")
    assert r.status == "fail"
    assert "north" in r.finding["affected"][0]


def test_regression_metrics_and_residual_bias():
    rng = np.random.default_rng(0)
    y = rng.normal(10, 2, 800)
    df = pd.DataFrame({"f": rng.normal(size=800), "y": y, "pred": y + 1.0 + rng.normal(0, 0.5, 800)})
    ctx = ValidationContext(
        task="regression", test=df, target="y", prediction_column="pred", policy=Policy.from_overrides(FAST)
    )
    m = run_one(ctx, "PERF-01").details["metrics"]
    assert m["mae"]["value"] == pytest.approx(skm.mean_absolute_error(df.y, df.pred))
    assert m["rmse"]["value"] == pytest.approx(np.sqrt(skm.mean_squared_error(df.y, df.pred)))
    assert m["r2"]["value"] == pytest.approx(skm.r2_score(df.y, df.pred))
    assert m["max_error"]["value"] == pytest.approx(skm.max_error(df.y, df.pred))
    assert m["mean_error"]["value"] == pytest.approx(1.0, abs=0.1)
    r = run_one(ctx, "PERF-08")
    assert r.status == "fail" and r.value > 0.8


def test_a_real_pipeline_gets_roc_and_pr_curves():
    train, test = split(tabular(600))
    feats = ["x1", "x2", "colour"]
    ctx = ValidationContext(
        task="binary",
        model=tree_pipeline(train, feats),
        train=train,
        test=test,
        target="y",
        features=feats,
        policy=Policy.from_overrides(FAST),
    )
    r = run_one(ctx, "PERF-01")
    titles = [c["layout"]["title"]["text"] for c in r.charts]
    assert titles == ["ROC curve", "Precision-recall curve"]


def test_bootstrap_auc_and_ap_equal_sklearn_on_every_resample_of_random_tied_data():
    # A seeded property test (no hypothesis: its example cache would be written into the repo).
    rng = np.random.default_rng(11)
    for _ in range(40):
        n = int(rng.integers(4, 60))
        y = rng.integers(0, 2, n)
        s = rng.integers(0, 6, n) / 5  # coarse scores: many ties
        W = st.bootstrap_weights(n, 5, rng)
        auc, ap = st.w_auc(W, y, s), st.w_average_precision(W, y, s)
        for b in range(5):
            idx = np.repeat(np.arange(n), W[b].astype(int))
            if len(set(y[idx])) == 2:
                assert auc[b] == pytest.approx(skm.roc_auc_score(y[idx], s[idx]))
                assert ap[b] == pytest.approx(skm.average_precision_score(y[idx], s[idx]))
            else:
                assert np.isnan(auc[b])
