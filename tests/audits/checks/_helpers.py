"""Small synthetic data sets and toy models with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audits.checks.base import RunOptions
from audits.checks.registry import REGISTRY
from audits.checks.runner import run_check

FAST = {"bootstrap.n": 100}


def run_one(ctx, check_id: str, suite: str = "full"):
    return run_check(ctx, REGISTRY[check_id], RunOptions(suite=suite, with_ci=suite != "quick"))


def tabular(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Binary task: y depends on x1, x2 and colour; sex and noise are irrelevant."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.uniform(0, 10, n).round(2),
            "colour": rng.choice(["red", "green", "blue"], n),
            "sex": rng.choice(["F", "M"], n),
            "noise": rng.normal(size=n),
        }
    )
    logit = 1.5 * df.x1 + 0.3 * (df.x2 - 5) + (df.colour == "red") * 1.0
    df["y"] = np.where(rng.uniform(size=n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


def split(df: pd.DataFrame, frac: float = 0.6) -> tuple[pd.DataFrame, pd.DataFrame]:
    k = int(len(df) * frac)
    return df.iloc[:k].reset_index(drop=True), df.iloc[k:].reset_index(drop=True)


def tree_pipeline(train: pd.DataFrame, features: list[str], target: str = "y", **kw):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    cats = [c for c in features if train[c].dtype == object or pd.api.types.is_string_dtype(train[c])]
    pipe = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats), remainder="passthrough"
        ),
        RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0, **kw),
    )
    return pipe.fit(train[features], train[target])


class ToyModel:
    """sklearn-like binary model driven by a scoring function of the frame."""

    def __init__(self, score_fn, classes=("no", "yes")):
        self.score_fn = score_fn
        self.classes_ = np.array(classes)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        s = np.clip(np.asarray(self.score_fn(X), dtype=float), 0, 1)
        return np.column_stack([1 - s, s])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def logistic_score(X: pd.DataFrame) -> np.ndarray:
    z = 1.5 * X["x1"].astype(float) + 0.3 * (X["x2"].astype(float) - 5)
    return 1 / (1 + np.exp(-np.clip(z, -50, 50)))


class NaNCrasher(ToyModel):
    """Refuses any input with a missing value, like many estimators without imputation."""

    def __init__(self):
        super().__init__(logistic_score)

    def predict_proba(self, X):
        if X.isna().to_numpy().any():
            raise ValueError("Input X contains NaN.")
        return super().predict_proba(X)


class RandomModel(ToyModel):
    """Non-deterministic: fresh noise on every call."""

    def __init__(self):
        super().__init__(lambda X: np.random.default_rng().uniform(size=len(X)))
