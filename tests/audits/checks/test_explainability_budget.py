"""The SHAP checks keep to the policy's time budget (issue #15, target 1): the sample shrinks to what
fits and says so, exact TreeSHAP gives way to the approximate path, and a model too slow even for the
minimum sample is "not evaluable: over budget" instead of a run that never ends.

The budget logic is driven by a fake clock that only moves when the model (or the explainer) works, so
these tests do not depend on the speed of the machine.
"""

import numpy as np
import pytest

from audits.checks import Policy, ValidationContext
from audits.checks import explainability as xai
from audits.checks.explainability import plan_sample, sampling_error

from ._helpers import FAST, ToyModel, logistic_score, run_one, split, tabular, tree_pipeline

FEATS = ["x1", "x2", "colour", "sex", "noise"]


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class SlowModel(ToyModel):
    """A model-agnostic model that costs `per_row` fake seconds for each row it scores."""

    def __init__(self, clock: FakeClock, per_row: float):
        super().__init__(logistic_score)
        self.clock, self.per_row = clock, per_row

    def predict_proba(self, X):
        self.clock.now += self.per_row * len(X)
        return super().predict_proba(X)


@pytest.fixture(scope="module")
def data():
    return split(tabular(600))


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(xai, "_clock", c)
    return c


def ctx_for(model, data, **overrides):
    train, test = data
    return ValidationContext(
        task="binary",
        model=model,
        train=train,
        test=test,
        target="y",
        features=FEATS,
        sensitive=["sex"],
        policy=Policy.from_overrides({**FAST, "explainability.agnostic_sample": 40, **overrides}),
    )


def per_row_cost(data, clock) -> float:
    r = run_one(ctx_for(SlowModel(clock, 0.001), data, **{"explainability.time_budget_s": 1e9}), "XAI-01")
    return r.details["timing"]["seconds_per_row"]["exact"]


def test_the_sample_fills_the_budget_and_stops_at_the_policy_sample():
    assert plan_sample(per_row_s=0.01, spent_s=0, budget_s=100, target=2000, minimum=100) == 2000
    assert plan_sample(per_row_s=0.1, spent_s=10, budget_s=30, target=2000, minimum=100) == 180
    assert plan_sample(per_row_s=1.0, spent_s=10, budget_s=30, target=2000, minimum=100) is None
    assert plan_sample(per_row_s=0.1, spent_s=40, budget_s=30, target=2000, minimum=1) is None


def test_a_model_that_fits_the_budget_is_explained_on_the_whole_policy_sample(data, clock):
    r = run_one(ctx_for(SlowModel(clock, 0.001), data, **{"explainability.time_budget_s": 1e9}), "XAI-01")
    assert r.status == "info"
    assert r.details["sample_size"] == 40
    assert r.details["budget"]["reduced_by_budget"] is False
    assert "budget allows" not in r.summary


def test_a_slow_model_is_explained_on_a_smaller_sample_that_the_result_reports(data, clock):
    cost = per_row_cost(data, clock)
    budget = 30 * cost  # the pilot uses 6 rows (one not counted), so about 21 rows fit
    r = run_one(ctx_for(SlowModel(clock, 0.001), data, **{"explainability.time_budget_s": budget}), "XAI-01")
    assert r.status == "info"
    used = r.details["sample_size"]
    assert 10 <= used < 40
    assert r.details["budget"]["sample_used"] == used
    assert r.details["budget"]["reduced_by_budget"] is True
    assert r.details["timing"]["seconds_used"] <= budget
    assert f"on {used} rows (of 40 wanted" in r.summary
    assert set(r.details["importance_se"]) == set(FEATS)


def test_a_model_too_slow_for_the_minimum_sample_makes_every_shap_check_not_evaluable(data, clock):
    cost = per_row_cost(data, clock)
    ctx = ctx_for(SlowModel(clock, 0.001), data, **{"explainability.time_budget_s": 5 * cost})
    for check_id in ("XAI-01", "XAI-02", "XAI-08"):
        r = run_one(ctx, check_id)
        assert r.status == "not_evaluable", check_id
        assert r.summary.startswith("Not evaluable: over budget.")
        assert "explainability.time_budget_s" in r.summary
        assert r.details["budget"]["sample_used"] == 0


def test_exact_treeshap_too_slow_gives_way_to_the_approximate_tree_path(data, clock, monkeypatch):
    real = xai._tree_or_linear

    def slow_exact(ctx, pre, est):
        bundle = real(ctx, pre, est)
        exact, approximate = bundle["explain"], bundle["explain_approximate"]

        def costly(X):
            clock.now += 1.0 * len(X)
            return exact(X)

        def cheap(X):
            clock.now += 0.001 * len(X)
            return approximate(X)

        bundle.update(explain=costly, explain_approximate=cheap)
        return bundle

    monkeypatch.setattr(xai, "_tree_or_linear", slow_exact)
    ctx = ctx_for(tree_pipeline(data[0], FEATS), data, **{"explainability.time_budget_s": 30.0})
    r = run_one(ctx, "XAI-01")
    assert r.status == "info"
    assert r.details["explainer"] == "tree" and r.details["path"] == "approximate"
    assert r.details["sample_size"] == len(data[1])
    assert "approximate tree path attributions" in r.summary
    assert set(r.details["importance"]) == set(FEATS)


def test_the_standard_error_of_mean_abs_shap_matches_a_direct_bootstrap():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(60, 3)) * np.array([3.0, 1.0, 0.2])
    err = sampling_error(values, top_k=2, resamples=10, seed=0)
    boot = np.array([np.abs(values[rng.integers(0, 60, 60)]).mean(axis=0) for _ in range(20000)])
    assert err["se"] == pytest.approx(boot.std(axis=0), rel=0.08)


def test_the_top_k_ranking_is_stable_only_when_the_features_are_clearly_apart():
    rng = np.random.default_rng(4)
    apart = rng.normal(size=(200, 3)) * np.array([5.0, 2.0, 0.5])
    tied = rng.normal(size=(200, 3)) * np.array([1.0, 1.0, 1.0])
    assert sampling_error(apart, top_k=2, resamples=200, seed=0)["top_k_stability"] == 1.0
    assert sampling_error(tied, top_k=2, resamples=200, seed=0)["top_k_stability"] < 0.7
