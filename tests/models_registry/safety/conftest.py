import os

import numpy as np
import pandas as pd
import pytest

from .payloads import SENTINEL_ENV


@pytest.fixture(scope="session")
def training_data():
    rng = np.random.RandomState(0)
    df = pd.DataFrame(
        {
            "age": rng.randint(18, 90, 80).astype(float),
            "income": rng.randn(80),
            "city": rng.choice(["paris", "lyon", "nice"], 80),
        }
    )
    return df, rng.randint(0, 2, 80)


@pytest.fixture(scope="session")
def logistic_regression(training_data):
    from sklearn.linear_model import LogisticRegression

    df, y = training_data
    return LogisticRegression().fit(df[["age", "income"]].to_numpy(), y)


def _pipeline(final, df, y):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]), ("num", StandardScaler(), ["age", "income"])]
    )
    return Pipeline([("pre", pre), ("clf", final)]).fit(df, y)


@pytest.fixture(scope="session")
def hgb_pipeline(training_data):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return _pipeline(HistGradientBoostingClassifier(max_iter=5, random_state=0), *training_data)


@pytest.fixture(scope="session")
def linear_pipeline(training_data):
    from sklearn.linear_model import LogisticRegression

    return _pipeline(LogisticRegression(), *training_data)


@pytest.fixture
def sentinel(tmp_path):
    """A path that only a payload would create; also checks the env-var payload."""
    os.environ.pop(SENTINEL_ENV, None)
    path = tmp_path / "payload-ran"
    yield path
    assert not path.exists(), "a payload was executed during scanning"
    assert SENTINEL_ENV not in os.environ, "a payload was executed during scanning"


@pytest.fixture
def write(tmp_path):
    def _write(name: str, data: bytes):
        path = tmp_path / "upload.bin"  # the stored name never matters, the original name does
        path = tmp_path / f"stored-{len(list(tmp_path.iterdir()))}"
        path.write_bytes(data)
        return path, name

    return _write
