import json

import numpy as np
import pytest

from audits.checks import (
    Cancelled,
    Policy,
    PolicyError,
    ValidationContext,
    checks_for_suite,
    reproducibility,
    run_suite,
)
from audits.checks.base import CheckResult, RunOptions
from audits.checks.registry import CheckSpec
from audits.checks.runner import run_check

from ._helpers import FAST, NaNCrasher, ToyModel, logistic_score, split, tabular, tree_pipeline

FEATURES = ["x1", "x2", "colour", "sex", "noise"]


@pytest.fixture(scope="module")
def data():
    return split(tabular(900))


@pytest.fixture(scope="module")
def model(data):
    return tree_pipeline(data[0], FEATURES)


def make_ctx(data, model, **kw):
    train, test = data
    kw.setdefault("policy", Policy.from_overrides(FAST))
    return ValidationContext(
        task="binary", model=model, train=train, test=test, target="y", features=FEATURES, sensitive=["sex"], **kw
    )


# ---- policy ------------------------------------------------------------------------------------
def test_policy_defaults_come_from_the_catalogue():
    p = Policy()
    assert p.fairness.dp_ratio_min == 0.8
    assert p.performance.min_auc == 0.7
    assert p.calibration.ece_max == 0.05
    assert p.robustness.perturbation_fail_rate == 0.05
    assert p.fairness.min_group_size == 30
    assert p.bootstrap.n == 200


def test_policy_accepts_dotted_and_nested_overrides():
    p = Policy.from_overrides({"fairness.dp_ratio_min": 0.9, "bootstrap": {"n": 50}})
    assert p.fairness.dp_ratio_min == 0.9 and p.bootstrap.n == 50
    assert Policy().fingerprint() != p.fingerprint()


def test_unknown_policy_key_is_rejected_with_a_suggestion():
    with pytest.raises(PolicyError, match="fairness.dp_ratio_min"):
        Policy.from_overrides({"fairness.dp_ratio_mni": 0.9})
    with pytest.raises(PolicyError, match="Unknown policy key"):
        Policy.from_overrides({"nonsense": {"x": 1}})


def test_policy_value_of_the_wrong_type_is_rejected():
    with pytest.raises(PolicyError, match="expects float"):
        Policy.from_overrides({"fairness.dp_ratio_min": "0.8"})
    with pytest.raises(PolicyError, match="expects int"):
        Policy.from_overrides({"bootstrap.n": 2.5})


# ---- suites ------------------------------------------------------------------------------------
def test_suites_are_nested_and_full_has_the_expensive_checks():
    quick = {s.check_id for s in checks_for_suite("quick")}
    standard = {s.check_id for s in checks_for_suite("standard")}
    full = {s.check_id for s in checks_for_suite("full")}
    assert quick < standard < full
    assert {"PERF-01", "EDGE-06", "DATA-02"} <= quick
    assert {"ROB-01", "EDGE-01", "FAIR-02", "PERF-05"} <= standard
    assert {"XAI-01", "XAI-02", "FAIR-11", "SEC-05", "PERF-07"} <= full - standard


def test_unknown_suite_is_rejected():
    with pytest.raises(ValueError, match="unknown suite"):
        checks_for_suite("everything")


# ---- runner ------------------------------------------------------------------------------------
def test_progress_is_reported_for_every_check(data, model):
    calls = []
    results = run_suite(make_ctx(data, model), "quick", progress=lambda d, t, n: calls.append((d, t, n)))
    assert [c[0] for c in calls] == list(range(len(results) + 1))
    assert calls[-1][:2] == (len(results), len(results))


def test_cancelling_stops_the_run_and_keeps_finished_results(data, model):
    calls = []
    with pytest.raises(Cancelled) as exc:
        run_suite(
            make_ctx(data, model),
            "standard",
            progress=lambda *a: calls.append(a),
            should_cancel=lambda: len(calls) >= 3,
        )
    assert len(exc.value.results) == 3
    assert all(isinstance(r, CheckResult) for r in exc.value.results)


def test_a_crashing_check_becomes_not_evaluable_with_the_error(data, model):
    def broken(ctx, run):
        raise RuntimeError("bug in the check")

    spec = CheckSpec("TEST-01", "performance", "Broken", broken, ("full",), "Art. 15(1)", "-")
    r = run_check(make_ctx(data, model), spec, RunOptions())
    assert r.status == "not_evaluable"
    assert "RuntimeError: bug in the check" in r.error


def test_a_model_crashing_on_nan_fails_the_edge_case_and_the_run_continues(data):
    ctx = make_ctx(data, NaNCrasher())
    results = {r.check_id: r for r in run_suite(ctx, "standard")}
    edge = results["EDGE-01"]
    assert edge.status == "fail"
    assert "Input X contains NaN" in json.dumps(edge.finding["evidence"])
    assert edge.finding["eu_ai_act_article"] == "Art. 15(4)"
    assert results["PERF-01"].status in ("pass", "warn") and results["PERF-01"].value > 0.7
    assert len(results) == len(checks_for_suite("standard"))


def test_a_model_that_always_crashes_is_a_critical_finding_not_an_exception(data):
    def boom(X):
        raise ZeroDivisionError("model is broken")

    results = run_suite(make_ctx(data, ToyModel(boom)), "quick")
    perf = next(r for r in results if r.check_id == "PERF-01")
    assert perf.status == "fail" and perf.severity == "critical"
    assert "ZeroDivisionError" in perf.summary and "model is broken" in perf.finding["evidence"]["message"]
    assert all(r.error is None for r in results)


def test_predictions_only_run_works_without_a_model(data):
    train, test = data
    test = test.assign(pred=np.where(logistic_score(test) >= 0.5, "yes", "no"), score=logistic_score(test))
    train = train.assign(pred=np.where(logistic_score(train) >= 0.5, "yes", "no"), score=logistic_score(train))
    ctx = ValidationContext(
        task="binary",
        train=train,
        test=test,
        target="y",
        prediction_column="pred",
        score_column="score",
        sensitive=["sex"],
        policy=Policy.from_overrides(FAST),
    )
    assert ctx.features == ["x1", "x2", "colour", "sex", "noise"]
    results = {r.check_id: r for r in run_suite(ctx, "full")}
    assert results["PERF-01"].status in ("pass", "warn") and results["PERF-01"].value > 0.75
    assert results["FAIR-02"].status in ("pass", "warn")
    assert results["EDGE-01"].status == "not_evaluable"
    assert "predictions-only" in results["EDGE-01"].summary
    assert results["SEC-05"].status != "not_evaluable"
    assert all(r.error is None for r in results.values()), [r.error for r in results.values() if r.error]


def test_same_seed_gives_identical_results(data, model):
    a = [r.to_dict(include_timing=False) for r in run_suite(make_ctx(data, model, seed=7), "full")]
    b = [r.to_dict(include_timing=False) for r in run_suite(make_ctx(data, model, seed=7), "full")]
    assert a == b


def test_every_result_and_chart_is_strict_json(data, model):
    results = run_suite(make_ctx(data, model), "full")
    text = json.dumps([r.to_dict() for r in results], allow_nan=False)
    assert sum(len(r.charts) for r in results) >= 10
    for r in results:
        for chart in r.charts:
            assert set(chart) >= {"data", "layout"}
    assert "XAI-01" in text
    assert all(r.error is None for r in results), [(r.check_id, r.error) for r in results if r.error]


def test_warn_and_fail_results_carry_a_complete_finding(data):
    results = run_suite(make_ctx(data, NaNCrasher()), "standard")
    flagged = [r for r in results if r.status in ("warn", "fail")]
    assert flagged
    for r in flagged:
        assert set(r.finding) == {"title", "description", "affected", "evidence", "recommendation", "eu_ai_act_article"}
        assert r.finding["eu_ai_act_article"].startswith("Art.")


def test_reproducibility_records_versions_seed_suite_and_policy(data, model):
    info = reproducibility(make_ctx(data, model, seed=3), "standard")
    assert info["seed"] == 3 and info["suite"] == "standard"
    assert info["policy_version"] and info["library_versions"]["scikit-learn"]
    assert len(info["data"]["test"]["sha256"]) == 64
    json.dumps(info, allow_nan=False)


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_full_suite_runs_without_check_errors_for_other_tasks(task):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    df = tabular(600)
    if task == "regression":
        df["y"] = 2 * df.x1 + df.x2 + np.random.default_rng(0).normal(size=len(df))
        est = RandomForestRegressor(n_estimators=20, max_depth=5, random_state=0)
    else:
        df["y"] = np.select([df.x1 < -0.5, df.x1 < 0.5], ["low", "mid"], "high")
        est = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0)
    train, test = split(df)
    feats = ["x1", "x2", "noise"]
    ctx = ValidationContext(
        task=task,
        model=est.fit(train[feats], train.y),
        train=train,
        test=test,
        target="y",
        features=feats,
        sensitive=["sex"],
        policy=Policy.from_overrides(FAST),
    )
    results = run_suite(ctx, "full")
    assert all(r.error is None for r in results), [(r.check_id, r.error) for r in results if r.error]
    by_id = {r.check_id: r for r in results}
    assert by_id["PERF-01"].status == "pass"
    assert by_id["XAI-01"].details["explainer"] == "tree"
    json.dumps([r.to_dict() for r in results], allow_nan=False)


def test_importing_the_library_pulls_in_neither_django_nor_heavy_libraries():
    import subprocess
    import sys

    code = (
        "import sys, audits.checks; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'django', 'shap', 'fairlearn'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
