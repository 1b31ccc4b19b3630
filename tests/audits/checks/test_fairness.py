import numpy as np
import pandas as pd
import pytest

from audits.checks import Policy, ValidationContext

from ._helpers import FAST, ToyModel, run_one


def planted_bias(n_per_group: int = 500, tiny_group: int = 5) -> pd.DataFrame:
    """Group A is selected 90 % of the time, group B 30 %; group C is too small to evaluate."""
    rng = np.random.default_rng(1)
    rows = []
    for group, n, rate in (("A", n_per_group, 0.9), ("B", n_per_group, 0.3), ("C", tiny_group, 0.0)):
        pred = (np.arange(n) < round(rate * n)).astype(int)
        y = np.where(rng.uniform(size=n) < 0.8, pred, 1 - pred)
        rows.append(
            pd.DataFrame(
                {
                    "group": group,
                    "x": rng.normal(size=n),
                    "pred": pred,
                    "y": y,
                    "score": np.clip(pred * 0.6 + 0.2 + rng.normal(0, 0.05, n), 0, 1),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def bias_ctx(df, overrides=None, **kw):
    return ValidationContext(
        task="binary",
        test=df,
        target="y",
        prediction_column="pred",
        score_column="score",
        features=["x", "group"],
        sensitive=["group"],
        policy=Policy.from_overrides({**FAST, **(overrides or {})}),
        **kw,
    )


def test_planted_bias_fails_demographic_parity_with_the_pandas_ratio():
    df = planted_bias()
    r = run_one(bias_ctx(df), "FAIR-02")
    rates = df[df.group != "C"].groupby("group").pred.mean()
    assert r.status == "fail"
    assert r.value == pytest.approx(rates.min() / rates.max(), abs=1e-12)
    assert r.value == pytest.approx(0.3 / 0.9)
    assert r.ci[0] <= r.value <= r.ci[1]
    assert r.finding["eu_ai_act_article"] == "Art. 10(2)(f)"
    assert r.finding["affected"] == {"attribute": "group", "group": "B"}


def test_demographic_parity_ratio_matches_fairlearn_when_all_groups_are_large():
    from fairlearn.metrics import demographic_parity_difference, demographic_parity_ratio

    df = planted_bias(tiny_group=0)
    df = df[df.group != "C"]
    d = run_one(bias_ctx(df), "FAIR-02").details["by_attribute"]["group"]
    assert d["ratio"] == pytest.approx(demographic_parity_ratio(df.y, df.pred, sensitive_features=df.group))
    assert d["diff"] == pytest.approx(demographic_parity_difference(df.y, df.pred, sensitive_features=df.group))


def test_policy_override_changes_the_demographic_parity_status():
    overrides = {"fairness.dp_ratio_min": 0.2, "fairness.dp_ratio_warn": 0.2, "fairness.dp_diff_max": 0.9}
    r = run_one(bias_ctx(planted_bias(), overrides), "FAIR-02")
    assert r.status == "pass"
    assert r.threshold["value"] == 0.2


def test_small_groups_are_marked_not_evaluable_instead_of_producing_noise():
    r = run_one(bias_ctx(planted_bias()), "FAIR-01")
    assert r.details["not_evaluable_groups"]["group"] == ["C"]
    rows = {g["group"]: g for g in r.details["by_attribute"]["group"]["groups"]}
    assert rows["C"]["evaluable"] is False and rows["A"]["evaluable"] is True
    assert rows["A"]["selection_rate"] == pytest.approx(0.9)
    dp = run_one(bias_ctx(planted_bias()), "FAIR-02").details["by_attribute"]["group"]
    assert dp["groups"] == ["A", "B"]


def test_equalised_odds_matches_fairlearn():
    from fairlearn.metrics import equalized_odds_difference

    df = planted_bias(tiny_group=0)
    df = df[df.group != "C"]
    r = run_one(bias_ctx(df), "FAIR-03")
    assert r.value == pytest.approx(equalized_odds_difference(df.y, df.pred, sensitive_features=df.group))


def test_intersections_of_sensitive_attributes_are_evaluated():
    df = planted_bias(tiny_group=0)
    df["sex"] = np.where(np.arange(len(df)) % 2 == 0, "F", "M")
    ctx = ValidationContext(
        task="binary",
        test=df,
        target="y",
        prediction_column="pred",
        score_column="score",
        features=["x"],
        sensitive=["group", "sex"],
        policy=Policy.from_overrides(FAST),
    )
    d = run_one(ctx, "FAIR-02").details["by_attribute"]
    assert "group & sex" in d and "A & F" in d["group & sex"]["groups"]


def test_attribute_flip_catches_a_model_that_reads_the_sensitive_attribute():
    df = planted_bias(tiny_group=0)
    biased = ToyModel(lambda X: np.where(X["group"] == "A", 0.9, 0.1), classes=(0, 1))
    fair = ToyModel(lambda X: 1 / (1 + np.exp(-X["x"].to_numpy())), classes=(0, 1))
    ctx = lambda m: ValidationContext(  # noqa: E731
        task="binary",
        model=m,
        test=df,
        target="y",
        features=["x", "group"],
        sensitive=["group"],
        policy=Policy.from_overrides(FAST),
    )
    r_biased, r_fair = run_one(ctx(biased), "FAIR-10"), run_one(ctx(fair), "FAIR-10")
    assert r_biased.status == "fail" and r_biased.value == pytest.approx(1.0)
    assert r_fair.status == "pass" and r_fair.value == 0.0


def test_mitigation_suggestion_reports_the_tradeoff_before_and_after():
    r = run_one(bias_ctx(planted_bias()), "FAIR-11")
    d = r.details["by_attribute"]["group"]
    assert r.status == "info"
    assert d["after"]["dp_ratio"] > d["before"]["dp_ratio"]
    assert 0 <= d["after"]["accuracy"] <= 1 and r.charts


def test_metric_frame_numbers_match_fairlearn_and_sklearn_metrics():
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    df = planted_bias(tiny_group=0)
    df = df[df.group != "C"]
    ref = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "fnr": false_negative_rate,
            "precision": precision_score,
            "accuracy": accuracy_score,
        },
        y_true=df.y,
        y_pred=df.pred,
        sensitive_features=df.group,
    ).by_group
    rows = run_one(bias_ctx(df), "FAIR-01").details["by_attribute"]["group"]["groups"]
    for row in rows:
        for metric in ref.columns:
            assert row[metric] == pytest.approx(ref.loc[row["group"], metric]), (row["group"], metric)
        assert row["count"] == (df.group == row["group"]).sum()


def test_equalised_odds_difference_has_a_bootstrap_ci():
    r = run_one(bias_ctx(planted_bias()), "FAIR-03")
    assert r.ci[0] <= r.value <= r.ci[1]
