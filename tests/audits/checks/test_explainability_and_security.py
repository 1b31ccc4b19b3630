import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from audits.checks import Policy, ValidationContext
from audits.checks.explainability import explainer_bundle

from ._helpers import FAST, ToyModel, logistic_score, run_one, split, tabular, tree_pipeline

FEATS = ["x1", "x2", "colour", "sex", "noise"]


@pytest.fixture(scope="module")
def data():
    return split(tabular(1000))


def ctx_for(model, data, **kw):
    train, test = data
    return ValidationContext(
        task="binary",
        model=model,
        train=train,
        test=test,
        target="y",
        features=kw.pop("features", FEATS),
        sensitive=kw.pop("sensitive", ["sex"]),
        policy=Policy.from_overrides({**FAST, **kw}),
    )


def linear_pipeline(train):
    ct = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour", "sex"]), (StandardScaler(), ["x1", "x2", "noise"])
    )
    return make_pipeline(ct, LogisticRegression(C=1.0)).fit(train[FEATS], train.y)


def test_tree_shap_inside_a_pipeline_is_mapped_back_to_original_columns(data):
    ctx = ctx_for(tree_pipeline(data[0], FEATS), data)
    r = run_one(ctx, "XAI-01")
    imp = r.details["importance"]
    assert r.details["explainer"] == "tree" and r.details["mapped_to_original_columns"]
    assert set(imp) == set(FEATS)
    assert next(iter(imp)) == "x1"  # the strongest driver of y
    assert imp["x1"] > imp["noise"]
    assert r.details["sample_size"] == len(data[1])


def test_one_hot_columns_aggregate_additively(data):
    import shap

    model = tree_pipeline(data[0], FEATS)
    b = explainer_bundle(ctx_for(model, data))
    Xt = model[:-1].transform(b["X"])
    raw = np.asarray(shap.TreeExplainer(model[-1]).shap_values(Xt))
    raw = raw[:, :, 1] if raw.ndim == 3 else raw
    np.testing.assert_allclose(b["values"].sum(axis=1), raw.sum(axis=1), atol=1e-9)


def test_linear_models_use_the_linear_explainer(data):
    r = run_one(ctx_for(linear_pipeline(data[0]), data), "XAI-01")
    assert r.details["explainer"] == "linear"
    assert set(r.details["importance"]) == set(FEATS)
    assert next(iter(r.details["importance"])) == "x1"


def test_other_models_fall_back_to_a_small_model_agnostic_sample(data):
    ct = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["colour", "sex"]), remainder="passthrough")
    knn = make_pipeline(ct, KNeighborsClassifier(15)).fit(data[0][FEATS], data[0].y)
    r = run_one(ctx_for(knn, data, **{"explainability.agnostic_sample": 20}), "XAI-01")
    assert r.details["explainer"] == "permutation" and r.details["sample_size"] == 20
    assert set(r.details["importance"]) == set(FEATS)


def test_local_explanations_cover_the_most_confident_errors(data):
    ctx = ctx_for(tree_pipeline(data[0], FEATS), data)
    r = run_one(ctx, "XAI-02")
    rows = r.details["rows"]
    assert len(rows) == 3 and len(r.charts) == 3
    assert all(row["prediction"] != row["actual"] for row in rows)
    conf = [row["confidence"] for row in rows]
    assert conf == sorted(conf, reverse=True)


def test_reliance_on_a_sensitive_attribute_and_its_proxy_is_flagged(data):
    train, test = (df.assign(title=np.where(df.sex == "F", "Mrs", "Mr")) for df in data)
    feats = [*FEATS, "title"]
    biased = ToyModel(lambda X: 0.8 * (X["sex"] == "M") + 0.1 * logistic_score(X))
    ctx = ValidationContext(
        task="binary",
        model=biased,
        train=train,
        test=test,
        target="y",
        features=feats,
        sensitive=["sex"],
        policy=Policy.from_overrides({**FAST, "explainability.agnostic_sample": 20}),
    )
    r = run_one(ctx, "XAI-08")
    assert r.status == "warn"
    assert "sex" in r.finding["affected"]
    assert r.details["proxies"]["title"]["cramers_v"] > 0.9
    assert r.details["direct_share"]["sex"] > 0.5


# ---- membership inference --------------------------------------------------------------------
def mia_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    y = ((X[:, 0] + X[:, 1] + rng.normal(0, 1.2, n)) > 0).astype(int)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]).assign(y=y)
    return df.iloc[: n // 2].reset_index(drop=True), df.iloc[n // 2 :].reset_index(drop=True)


def mia(model_factory):
    train, test = mia_data()
    feats = [f"f{i}" for i in range(8)]
    model = model_factory().fit(train[feats], train.y)
    ctx = ValidationContext(
        task="binary",
        model=model,
        train=train,
        test=test,
        target="y",
        features=feats,
        policy=Policy.from_overrides(FAST),
    )
    return run_one(ctx, "SEC-05")


def test_membership_inference_exposes_an_overfit_1nn_model():
    r = mia(lambda: KNeighborsClassifier(n_neighbors=1))
    assert r.status == "fail" and r.value > 0.6
    assert r.finding["eu_ai_act_article"] == "Art. 15(5)"
    assert r.ci[0] <= r.value <= r.ci[1]
    assert 0 <= r.details["tpr_at_0_1pct_fpr"] <= r.details["tpr_at_1pct_fpr"] <= 1


def test_membership_inference_is_near_chance_for_a_regularised_model():
    r = mia(lambda: LogisticRegression(C=0.01))
    assert abs(r.value - 0.5) < 0.05
    assert r.status == "pass"
