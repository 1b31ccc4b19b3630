"""The speed fix in `ValidationContext.score` that the benchmark motivated: for a classifier whose
predict() scikit-learn defines as the most probable class, one predict_proba call gives both outputs,
once the whole test split (scored with both methods) has agreed. Other models are called as before."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from audits.checks import ValidationContext


def _data(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=n), "colour": rng.choice(["red", "blue", "green"], n)})
    df["y"] = np.where(df["x"] + (df["colour"] == "red") > 0.5, "yes", "no")
    return df


def _pipeline(df: pd.DataFrame) -> Pipeline:
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"])], remainder="passthrough")
    model = Pipeline([("pre", pre), ("hgb", HistGradientBoostingClassifier(max_iter=20, random_state=0))])
    return model.fit(df[["x", "colour"]], df["y"])


def _counting(cls):
    """Patch `cls.predict` with a wrapper that counts its calls."""
    original, calls = cls.predict, []

    def predict(self, X, **kwargs):
        calls.append(len(X))
        return original(self, X, **kwargs)

    return mock.patch.object(cls, "predict", predict), calls


class Wrapped:
    """A user's own wrapper: predict() could use any threshold, so it is always called."""

    def __init__(self, inner):
        self.inner, self.classes_ = inner, inner.classes_

    def predict(self, X):
        return self.inner.predict(X)

    def predict_proba(self, X):
        return self.inner.predict_proba(X)


def test_a_sklearn_pipeline_is_scored_with_one_call_and_the_same_labels():
    df = _data()
    model = _pipeline(df)
    ctx = ValidationContext(task="binary", model=model, test=df, target="y")
    X = df[["x", "colour"]].assign(x=lambda d: d["x"] * 1.5)

    patch, calls = _counting(Pipeline)
    with patch:
        ctx.predictions("test")  # the evidence: both methods on the whole test split
        scored = ctx.score(X)

    assert calls == [len(df)]  # predict() ran for the evidence, not for the perturbed frame
    assert np.array_equal(scored.y_pred, model.predict(X))
    assert np.allclose(scored.proba, model.predict_proba(X), rtol=0, atol=0)


def test_a_model_of_unknown_type_is_still_asked_for_its_labels():
    df = _data()
    model = Wrapped(_pipeline(df))
    ctx = ValidationContext(task="binary", model=model, test=df, target="y")

    patch, calls = _counting(Wrapped)
    with patch:
        ctx.predictions("test")
        ctx.score(df[["x", "colour"]].head(10))

    assert calls == [len(df), 10]


def test_labels_that_disagree_with_the_probabilities_on_the_test_split_turn_the_shortcut_off():
    df = _data()
    model = _pipeline(df)
    ctx = ValidationContext(task="binary", model=model, test=df, target="y")
    honest = ctx.predictions("test")
    flipped = np.where(honest.y_pred == "yes", "no", "yes")
    ctx._cache[("pred", "test")] = type(honest)(flipped, honest.proba, honest.classes)

    patch, calls = _counting(Pipeline)
    with patch:
        ctx.score(df[["x", "colour"]].head(10))

    assert calls == [10]
