"""The benchmark's data sets, splits and model definitions: one place, shared by `bench.run`, `bench.peers`
and the peer runners (which import this file inside their own venvs, so it needs only the standard
library, pandas and scikit-learn, and must work with scikit-learn 1.5 as well as 1.9).

A *case* is one data set x one model: the same seeds give the same split and the same pipeline in every
environment, so a peer that cannot load our pickle re-trains the identical model definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# pandas and scikit-learn are imported inside the functions: the benchmark's orchestrating process stays
# small (see bench.harness), and a child's peak memory cannot be inflated by its parent's.
ROOT = Path(__file__).resolve().parents[1]
DATASETS_DIR = ROOT / "datasets"
SEED = 0
MODELS = ("hgb", "lr")
MODEL_NAMES = {"hgb": "HistGradientBoosting", "lr": "LogisticRegression"}
# Models a bank may upload that are slower to explain (bench.model_budget): scikit-learn defaults.
BUDGET_MODELS = ("rf", "extratrees", "mlp", "svc")
MODEL_NAMES.update(
    rf="RandomForest(100)", extratrees="ExtraTrees(100)", mlp="MLPClassifier", svc="SVC(probability=True)"
)


@dataclass(frozen=True)
class DatasetCase:
    key: str
    file: str
    target: str
    sensitive: tuple[str, ...]
    split_column: str | None = None  # a column saying train/test; else a seeded split
    test_fraction: float = 0.3


DATASETS: dict[str, DatasetCase] = {
    "adult": DatasetCase("adult", "adult.csv.gz", "income", ("sex", "race", "age"), split_column="split"),
    "german": DatasetCase("german", "german_credit.csv.gz", "credit_risk", ("sex", "age", "foreign_worker")),
}


def raw_splits(case: DatasetCase, *, sample: int | None = None, test_rows: int | None = None):
    """Train and test frames as text, exactly as in the shipped file (`?` stays `?`): written back to CSV
    they are what a user would upload. `sample` keeps at most that many rows of each split (seeded);
    `test_rows` resamples the test split with replacement to exactly that many rows (seeded), for the
    million-row scale benchmark (issue #15)."""
    import pandas as pd

    df = pd.read_csv(DATASETS_DIR / case.file, dtype=str, keep_default_na=False)
    if case.split_column:
        train = df[df[case.split_column] == "train"].drop(columns=case.split_column)
        test = df[df[case.split_column] == "test"].drop(columns=case.split_column)
    else:
        test = df.sample(frac=case.test_fraction, random_state=SEED)
        train = df.drop(index=test.index)
    if sample:
        train = train.sample(n=min(sample, len(train)), random_state=SEED)
        test = test.sample(n=min(sample, len(test)), random_state=SEED)
    if test_rows:
        test = test.sample(n=test_rows, replace=True, random_state=SEED)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def write_splits(
    case: DatasetCase, folder: Path, *, sample: int | None = None, test_rows: int | None = None
) -> tuple[Path, Path]:
    """Write `train.csv` and `test.csv` for `case` into `folder`."""
    train, test = raw_splits(case, sample=sample, test_rows=test_rows)
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "train.csv", folder / "test.csv"
    for frame, path in zip((train, test), paths):
        frame.to_csv(path, index=False)
    return paths


def read_split_csv(path: Path):
    """How a peer runner reads a split: `?` and empty fields are missing (as our profiler decides)."""
    import pandas as pd

    return pd.read_csv(path, na_values=["?"], keep_default_na=False)


def make_pipeline(kind: str, X):
    """HistGradientBoosting or LogisticRegression behind one preprocessing: impute, one-hot encode the
    categorical columns (unknown categories ignored), impute and standardise the numeric ones."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    types = pd.api.types
    numeric = [c for c in X.columns if types.is_numeric_dtype(X[c]) and not types.is_bool_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    categories = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float)),
        ]
    )
    numbers = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    pre = ColumnTransformer([("cat", categories, categorical), ("num", numbers, numeric)])
    if kind == "hgb":
        estimator = HistGradientBoostingClassifier(random_state=SEED)
    elif kind == "lr":
        estimator = LogisticRegression(max_iter=1000)
    elif kind in BUDGET_MODELS:
        estimator = _budget_model(kind)
    else:
        raise ValueError(f"unknown model {kind!r}; choose one of {MODELS}")
    return Pipeline([("preprocess", pre), ("model", estimator)])


def _budget_model(kind: str):
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    return {
        "rf": lambda: RandomForestClassifier(random_state=SEED),
        "extratrees": lambda: ExtraTreesClassifier(random_state=SEED),
        "mlp": lambda: MLPClassifier(random_state=SEED),
        "svc": lambda: SVC(probability=True, random_state=SEED),
    }[kind]()
