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
    assert r.details["not_evaluable_groups"]["group"] == ["C (n = 5)"]
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


def _skewed_error_rates() -> pd.DataFrame:
    """Four groups; group D has many positives but too few negatives, group E the reverse, so the
    groups with an evaluable TPR differ from those with an evaluable FPR."""
    rng = np.random.default_rng(7)
    parts = []
    for group, n_pos, n_neg, p_tp, p_fp in (
        ("A", 200, 200, 0.9, 0.1),
        ("B", 200, 200, 0.6, 0.4),
        ("D", 200, 5, 0.5, 0.2),
        ("E", 5, 200, 0.8, 0.3),
    ):
        y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
        pred = np.r_[rng.uniform(size=n_pos) < p_tp, rng.uniform(size=n_neg) < p_fp].astype(int)
        parts.append(pd.DataFrame({"group": group, "x": rng.normal(size=len(y)), "y": y, "pred": pred}))
    df = pd.concat(parts, ignore_index=True)
    df["score"] = np.clip(df.pred * 0.6 + 0.2, 0, 1)
    return df


def test_each_groups_false_positive_rate_is_reported_beside_that_group_and_no_other():
    df = _skewed_error_rates()
    rows = run_one(bias_ctx(df), "FAIR-03").details["by_attribute"]["group"]["groups"]
    by_group = {r["group"]: r for r in rows}
    assert set(by_group) == {"A", "B", "D", "E"}
    for g, part in df.groupby("group"):
        negatives, positives = part[part.y == 0], part[part.y == 1]
        row = by_group[g]
        assert row["n"] == len(part) and row["negatives"] == len(negatives) and row["positives"] == len(positives)
        if len(negatives) >= 30:
            assert row["fpr"] == pytest.approx(negatives.pred.mean())
        else:
            assert row["fpr"] is None
        if len(positives) >= 30:
            assert row["tpr"] == pytest.approx(positives.pred.mean())
        else:
            assert row["tpr"] is None


def test_the_demographic_parity_headline_names_both_groups_their_rates_and_the_reference_group():
    df = planted_bias()
    df.loc[df.group == "A", "x"] = 0.0  # make A the largest group with a few more rows
    extra = df[df.group == "A"].head(50)
    df = pd.concat([df, extra], ignore_index=True)
    summary = run_one(bias_ctx(df), "FAIR-02").summary
    rates = df[df.group != "C"].groupby("group").pred.mean()
    assert f"Selection rate {rates['A']:.2f} for A vs {rates['B']:.2f} for B" in summary
    assert f"{rates['A'] / rates['B']:.1f}×" in summary
    assert "reference group A" in summary


def test_the_equalised_odds_headline_names_the_rate_with_the_wider_gap_in_words():
    df = _skewed_error_rates()
    r = run_one(bias_ctx(df), "FAIR-03")
    pos = df[(df.y == 1) & df.group.isin(["A", "B", "D"])].groupby("group").pred.mean()
    neg = df[(df.y == 0) & df.group.isin(["A", "B", "E"])].groupby("group").pred.mean()
    if neg.max() - neg.min() > pos.max() - pos.min():
        assert r.summary.startswith(f"False positive rate {neg.max():.2f} for {neg.idxmax()}")
    else:
        assert r.summary.startswith(f"True positive rate {pos.max():.2f} for {pos.idxmax()}")
    assert "tpr" not in r.summary.lower().split() and "TPR gap" not in r.summary


def test_an_intersection_of_small_groups_is_not_evaluable_and_never_headlines():
    """Sex x group: every single attribute is fair, but 'B & F' has 40 rows and none selected."""
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame({"group": np.where(np.arange(n) < 1000, "A", "B"), "x": rng.normal(size=n)})
    df["sex"] = np.where(np.arange(n) % 2 == 0, "M", "F")
    df.loc[(df.group == "B") & (df.sex == "F"), "sex"] = "M"
    df.loc[df.index[(df.group == "B")][:40], "sex"] = "F"
    df["pred"] = (rng.uniform(size=n) < 0.5).astype(int)
    df.loc[(df.group == "B") & (df.sex == "F"), "pred"] = 0
    df["y"] = df.pred
    df["score"] = 0.5
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
    dp = run_one(ctx, "FAIR-02")
    inter = dp.details["by_attribute"]["group & sex"]
    assert "B & F" not in inter["groups"] and "B & F" in inter["not_evaluable_groups"]
    assert dp.value > 0.5 and "B & F" not in dp.summary
    frame = run_one(ctx, "FAIR-01").details
    assert "B & F (n = 40)" in frame["not_evaluable_groups"]["group & sex"]
    row = next(r for r in frame["by_attribute"]["group & sex"]["groups"] if r["group"] == "B & F")
    assert row["evaluable"] is False and row["not_evaluable"] == "not evaluable (n = 40)"


def test_fairness_charts_show_group_sizes_and_metric_names_in_words():
    df = planted_bias()
    chart = run_one(bias_ctx(df), "FAIR-01").charts[0]
    names = {trace["name"] for trace in chart["data"]}
    assert names == {
        "Selection rate",
        "True positive rate",
        "False positive rate",
        "Precision (positive predictive value)",
    }
    assert f"A (n = {(df.group == 'A').sum():,})" in chart["data"][0]["x"]


def test_a_numeric_sensitive_attribute_is_binned_into_ranges_people_read():
    from audits.checks._frame import group_labels

    ages = pd.Series(np.arange(17, 91))
    labels = group_labels(ages, 4)
    assert labels.iloc[0] == "17–35" and labels.iloc[-1].startswith("≥ ")
    assert not any("(" in v or "]" in v for v in labels.unique())
    for label in labels.unique():
        members = ages[labels == label]
        if label.startswith("≥ "):
            assert members.min() == int(label[2:])
        else:
            lo, hi = label.split("–")
            assert (members.min(), members.max()) == (int(lo), int(hi))


def test_the_group_metric_table_equals_fairlearns_metric_frame_for_every_group():
    from fairlearn.metrics import MetricFrame

    from audits.checks.fairness import GROUP_METRICS, group_metric_table

    rng = np.random.default_rng(11)
    n = 3000
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    labels = rng.choice(["a", "b", "c & d", "rare"], n, p=[0.5, 0.3, 0.199, 0.001]).astype(object)
    labels[labels == "rare"] = "only negatives"
    y[labels == "only negatives"] = 0  # a group whose TPR and FNR have no denominator
    ours = group_metric_table(y, p, labels)
    theirs = MetricFrame(metrics=GROUP_METRICS, y_true=y, y_pred=p, sensitive_features=labels).by_group
    assert set(ours.index) == set(theirs.index)
    for group in theirs.index:
        for metric in GROUP_METRICS:
            a, b = float(ours.loc[group, metric]), float(theirs.loc[group, metric])
            assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b), (group, metric)
