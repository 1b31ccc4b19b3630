import numpy as np
import pandas as pd
import pytest

from audits.checks import Policy, ValidationContext

from ._helpers import FAST, NaNCrasher, RandomModel, ToyModel, logistic_score, run_one, split, tabular

FEATS = ["x1", "x2", "colour", "sex"]


def ctx_with(model, n=400, **kw):
    train, test = split(tabular(n))
    return ValidationContext(
        task="binary",
        model=model,
        train=train,
        test=test,
        target="y",
        features=FEATS,
        policy=Policy.from_overrides({**FAST, **kw}),
    )


def test_missing_value_crash_is_a_fail_with_the_exception_as_evidence():
    r = run_one(ctx_with(NaNCrasher()), "EDGE-01")
    assert r.status == "fail" and r.severity == "high"
    assert r.finding["evidence"][0]["exception"] == "ValueError: Input X contains NaN."
    assert len(r.finding["affected"]) == len(FEATS) + 1  # every feature alone, and all at once


def test_a_model_that_copes_with_missing_values_passes_and_reports_the_shift():
    model = ToyModel(lambda X: logistic_score(X.fillna(0)))
    r = run_one(ctx_with(model), "EDGE-01")
    assert r.status == "pass" and 0 < r.value <= 1


def test_infinite_values_rejected_loudly_are_a_warning_not_a_failure():
    class RejectsInf(ToyModel):
        def predict_proba(self, X):
            if np.isinf(X.select_dtypes("number").to_numpy()).any():
                raise ValueError("Input contains infinity")
            return super().predict_proba(X)

    r = run_one(ctx_with(RejectsInf(logistic_score)), "EDGE-03")
    assert r.status == "warn" and r.severity == "low"
    assert all("inf" in name for name in r.finding["affected"])


def test_a_model_that_reads_columns_by_position_is_silently_wrong_on_shuffled_columns():
    positional = ToyModel(lambda X: 1 / (1 + np.exp(-X.iloc[:, 0].astype(float).to_numpy())))
    train, test = split(tabular(400))
    ctx = ValidationContext(
        task="binary",
        model=positional,
        train=train,
        test=test,
        target="y",
        features=["x1", "x2"],
        policy=Policy.from_overrides(FAST),
    )
    r = run_one(ctx, "EDGE-04")
    assert r.status == "fail"
    assert "shuffled column order" in r.finding["affected"]


def test_a_model_that_validates_names_passes_schema_robustness():
    def strict(X):
        if list(X.columns) != FEATS:
            raise KeyError(f"unexpected columns {list(X.columns)}")
        return logistic_score(X)

    r = run_one(ctx_with(ToyModel(strict)), "EDGE-04")
    assert r.status == "pass"
    outcomes = {p["probe"]: p["outcome"] for p in r.details["probes"]}
    assert outcomes["shuffled column order"] == "raised" and outcomes["x2 as text"] == "invariant"
    assert "silently different" not in outcomes.values()


def test_broken_probabilities_violate_the_output_contract():
    class Broken(ToyModel):
        def predict_proba(self, X):
            return super().predict_proba(X) * 1.5

    r = run_one(ctx_with(Broken(logistic_score)), "EDGE-06")
    assert r.status == "fail"
    assert any("sum to 1" in p for p in r.details["problems"])


def test_degenerate_batches_one_row_and_duplicates_are_consistent():
    r = run_one(ctx_with(ToyModel(logistic_score)), "EDGE-05")
    assert r.status == "pass"


def test_a_deterministic_model_passes_and_a_random_model_fails_determinism():
    assert run_one(ctx_with(ToyModel(logistic_score)), "ROB-06").status == "pass"
    r = run_one(ctx_with(RandomModel()), "ROB-06")
    assert r.status == "fail" and r.value > 0.5


def test_a_knife_edge_threshold_fails_small_perturbations():
    n = 400
    df = pd.DataFrame({"x": np.where(np.arange(n) % 2 == 0, 1.0, 3.0), "y": np.arange(n) % 2})
    model = ToyModel(lambda X: (X["x"] >= 1.0).astype(float) * 0.8 + 0.1, classes=(0, 1))
    ctx = ValidationContext(
        task="binary", model=model, test=df, target="y", features=["x"], policy=Policy.from_overrides(FAST)
    )
    r = run_one(ctx, "ROB-01")
    assert r.status == "fail" and r.severity == "high"
    assert r.value == pytest.approx(0.5)  # x * 0.99 flips exactly the rows sitting at 1.0
    assert r.finding["affected"] == "x"


def test_noise_sweep_decay_curve_is_reported_and_gated():
    r = run_one(ctx_with(ToyModel(logistic_score), n=1000), "ROB-02")
    curve = r.details["curve"]
    assert [c["noise_std"] for c in curve] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert curve[-1]["decay"] > curve[0]["decay"]
    assert r.charts[0]["layout"]["title"]["text"] == "Robustness decay under Gaussian noise"


def test_batch_and_single_row_scoring_agree_for_a_row_wise_model():
    assert run_one(ctx_with(ToyModel(logistic_score)), "ROB-07").status == "pass"

    def batch_normalised(X):  # output depends on the rest of the batch
        z = X["x1"].astype(float)
        return 1 / (1 + np.exp(-(z - z.mean())))

    assert run_one(ctx_with(ToyModel(batch_normalised)), "ROB-07").status == "fail"


def test_overconfident_errors_concentrated_in_one_slice_are_flagged():
    rng = np.random.default_rng(0)
    n = 2000
    region = rng.choice(["a", "b", "c", "d"], n)
    y = rng.integers(0, 2, n)
    confident_wrong = (region == "a") & (rng.uniform(size=n) < 0.4)
    score = np.where(confident_wrong, 1 - y * 0.95 - 0.02, np.where(y == 1, 0.7, 0.3))
    df = pd.DataFrame({"region": region, "y": y, "score": score, "pred": (score >= 0.5).astype(int)})
    ctx = ValidationContext(
        task="binary",
        test=df,
        target="y",
        prediction_column="pred",
        score_column="score",
        policy=Policy.from_overrides(FAST),
    )
    r = run_one(ctx, "ROB-08")
    assert r.status == "warn" and r.finding["affected"][0] == "region == 'a'"
