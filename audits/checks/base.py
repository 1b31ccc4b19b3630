"""Core types of the checks library: results, the validation context and its prediction cache.

Django-free on purpose: the checks take a model, data and a policy and return `CheckResult`s, so
they run the same way in a Celery worker, a CLI or a unit test.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .policy import Policy

STATUSES = ("pass", "warn", "fail", "not_evaluable", "info")
# Bootstrap counts held at once (B x n cells, 8 bytes each: 80 MB, a few copies of it in the AUC);
# beyond it they come in chunks (a 1,000,000-row split: 10 resamples at a time).
BOOTSTRAP_CHUNK_CELLS = 10_000_000
SEVERITIES = ("critical", "high", "medium", "low", "info")
TASKS = ("binary", "multiclass", "regression")


class ChecksError(Exception):
    """Base class of the library's own errors."""


class ModelCallError(ChecksError):
    """The model raised while being called. Checks turn this into a `fail` finding, not a crash."""

    def __init__(self, method: str, exc: BaseException, n_rows: int | None = None):
        self.method = method
        self.exc_type = type(exc).__name__
        self.exc_text = str(exc)[:2000]
        self.n_rows = n_rows
        super().__init__(f"model.{method}() raised {self.exc_type}: {self.exc_text}")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas values to plain JSON types; non-finite floats become None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (pd.Timestamp, pd.Timedelta)):
        return str(obj)
    return str(obj)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check. Everything in it is JSON-safe (enforced in `__post_init__`)."""

    check_id: str
    family: str
    name: str
    status: str
    severity: str = "info"
    value: float | None = None
    threshold: dict | None = None
    ci: list | None = None
    summary: str = ""
    details: dict = field(default_factory=dict)
    charts: list = field(default_factory=list)
    finding: dict | None = None
    duration_s: float = 0.0
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        for name in ("value", "threshold", "ci", "details", "charts", "finding"):
            object.__setattr__(self, name, to_jsonable(getattr(self, name)))

    def to_dict(self, *, include_timing: bool = True) -> dict:
        """Plain dict for storage. `include_timing=False` drops the non-deterministic fields: the
        duration and the measured costs a check keeps under ``details["timing"]`` (the SHAP budget)."""
        out = dataclasses.asdict(self)
        if not include_timing:
            out.pop("duration_s")
            if isinstance(out.get("details"), dict):
                out["details"].pop("timing", None)
        return out


def grade(value: float | None, *, op: str, fail: float, warn: float | None = None, ci: list | None = None) -> str:
    """Status of `value` against a threshold.

    `op` is the comparison a passing value satisfies (">=" or "<="). We gate on the point estimate
    for fail, and on the CI bound for warn: a point estimate that passes while its 95 % CI crosses
    the fail threshold is not conclusive, so it is a warn (catalogue PERF-11).
    """
    if value is None or not math.isfinite(value):
        return "not_evaluable"
    ok = (lambda v, t: v >= t) if op == ">=" else (lambda v, t: v <= t)
    if not ok(value, fail):
        return "fail"
    if warn is not None and not ok(value, warn):
        return "warn"
    if ci is not None and ci[0] is not None and ci[1] is not None:
        bound = ci[0] if op == ">=" else ci[1]
        if not ok(bound, fail):
            return "warn"
    return "pass"


def threshold(op: str, fail: float, warn: float | None = None, **extra: Any) -> dict:
    out = {"op": op, "value": fail}
    if warn is not None:
        out["warn"] = warn
    out.update(extra)
    return out


def make_finding(
    *, title: str, description: str, affected: Any, evidence: Any, recommendation: str, article: str
) -> dict:
    return {
        "title": title,
        "description": description,
        "affected": affected,
        "evidence": evidence,
        "recommendation": recommendation,
        "eu_ai_act_article": article,
    }


@dataclass(frozen=True)
class RunOptions:
    """How the current suite runs a check (e.g. the quick suite skips bootstrap CIs)."""

    suite: str = "standard"
    with_ci: bool = True


@dataclass
class Outcome:
    """What a check function returns; the runner adds id, family, name, timing and the finding.

    For warn/fail the runner builds the finding from `summary` plus `affected`, `evidence` and
    `recommendation` (the check's own, else the registry default) and the check's article.
    """

    status: str
    summary: str
    value: float | None = None
    threshold: dict | None = None
    ci: list | None = None
    details: dict = field(default_factory=dict)
    charts: list = field(default_factory=list)
    severity: str | None = None
    affected: Any = None
    evidence: Any = None
    recommendation: str | None = None
    title: str | None = None


def not_evaluable(reason: str, **details: Any) -> Outcome:
    return Outcome(status="not_evaluable", summary=reason, details=details)


# Classifiers whose predict() scikit-learn defines as the class with the highest predict_proba().
_ARGMAX_CLASSIFIERS = frozenset(
    {
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.linear_model._logistic.LogisticRegression",
    }
)


def _argmax_by_definition(model: Any) -> bool:
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if kind == "sklearn.pipeline.Pipeline" and getattr(model, "steps", None):
        model = model.steps[-1][1]
        kind = f"{type(model).__module__}.{type(model).__qualname__}"
    return kind in _ARGMAX_CLASSIFIERS


@dataclass(frozen=True)
class Predictions:
    """Cached model output on one split. `proba` columns follow `classes`."""

    y_pred: np.ndarray
    proba: np.ndarray | None
    classes: np.ndarray | None


@dataclass
class ValidationContext:
    """Everything a check needs. Owns the prediction cache shared by all checks of a run."""

    task: str
    test: pd.DataFrame
    target: str
    model: Any = None
    train: pd.DataFrame | None = None
    features: list[str] | None = None
    sensitive: list[str] = field(default_factory=list)
    prediction_column: str | None = None
    score_column: str | list[str] | None = None
    policy: Policy = field(default_factory=Policy)
    seed: int = 0
    positive_label: Any = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.model is None and self.prediction_column is None:
            raise ValueError("give either a model or a prediction_column")
        if self.target not in self.test.columns:
            raise ValueError(f"target column {self.target!r} is not in the test data")
        if self.features is None:
            reserved = {self.target, self.prediction_column, *self.score_columns}
            self.features = [c for c in self.test.columns if c not in reserved]
        missing = [c for c in [*self.features, *self.sensitive] if c not in self.test.columns]
        if missing:
            raise ValueError(f"columns not in the test data: {missing}")

    # ---- data access -------------------------------------------------------------------------
    @property
    def score_columns(self) -> list[str]:
        if self.score_column is None:
            return []
        return [self.score_column] if isinstance(self.score_column, str) else list(self.score_column)

    @property
    def has_model(self) -> bool:
        return self.model is not None

    def frame(self, split: str) -> pd.DataFrame:
        df = self.test if split == "test" else self.train
        if df is None:
            raise ChecksError(f"no {split} data in this context")
        return df

    def X(self, split: str = "test") -> pd.DataFrame:
        return self.frame(split)[self.features]

    def y(self, split: str = "test") -> np.ndarray:
        return self.frame(split)[self.target].to_numpy()

    def rng(self, check_id: str) -> np.random.Generator:
        """Per-check generator: results do not depend on which other checks ran before."""
        return np.random.default_rng([self.seed, zlib.crc32(check_id.encode())])

    def sample_index(self, split: str, n_max: int, check_id: str) -> np.ndarray:
        n = len(self.frame(split))
        if n <= n_max:
            return np.arange(n)
        return np.sort(self.rng(check_id + ":sample").choice(n, n_max, replace=False))

    # ---- labels ------------------------------------------------------------------------------
    @property
    def classes(self) -> np.ndarray | None:
        if self.task == "regression":
            return None
        if "classes" not in self._cache:
            model_classes = getattr(self.model, "classes_", None)
            if model_classes is not None:
                classes = np.asarray(model_classes)
            else:
                parts = [pd.unique(self.y("test"))]
                if self.prediction_column:
                    parts.append(pd.unique(self.test[self.prediction_column]))
                if self.train is not None:
                    parts.append(pd.unique(self.y("train")))
                values = set(np.concatenate(parts).tolist())
                try:  # numeric labels sort numerically, as sklearn's classes_ do
                    classes = np.asarray(sorted(values))
                except TypeError:
                    classes = np.asarray(sorted(values, key=str))
            self._cache["classes"] = classes
        return self._cache["classes"]

    @property
    def positive_index(self) -> int:
        """Index of the favourable/positive class (binary): `positive_label`, else the last class."""
        if self.positive_label is None:
            return len(self.classes) - 1
        hit = np.flatnonzero(self.classes == self.positive_label)
        if not len(hit):
            raise ChecksError(
                f"positive_label {self.positive_label!r} is not one of the classes {self.classes.tolist()}"
            )
        return int(hit[0])

    def codes(self, labels: np.ndarray) -> np.ndarray:
        """Labels -> positions in `classes` (-1 for a label the model does not know)."""
        return pd.Index(self.classes).get_indexer(pd.Series(labels).to_numpy())

    # ---- model calls -------------------------------------------------------------------------
    def call(self, method: str, X: pd.DataFrame) -> np.ndarray:
        """The one safe wrapper around the model: any exception becomes a ModelCallError."""
        fn = getattr(self.model, method, None)
        if fn is None:
            raise ChecksError(f"model has no {method}()")
        try:
            # Probes feed NaN/inf on purpose; numpy's RuntimeWarnings about them are noise.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = fn(X)
        except Exception as exc:  # the model is untrusted code: every failure is a finding
            raise ModelCallError(method, exc, len(X)) from exc
        return np.asarray(out)

    @property
    def has_proba(self) -> bool:
        if self.task == "regression":
            return False
        if self.model is not None:
            return hasattr(self.model, "predict_proba")
        return bool(self.score_columns)

    def score(self, X: pd.DataFrame, *, proba: bool = True) -> Predictions:
        """Fresh (uncached) predictions for a perturbed frame; `proba=False` skips predict_proba
        for checks that only compare labels (half the model cost)."""
        if proba and self._labels_from_proba():
            p = self.call("predict_proba", X).astype(float)
            return Predictions(y_pred=self.classes[p.argmax(axis=1)], proba=p, classes=self.classes)
        return self._score_both(X, proba=proba)

    def _score_both(self, X: pd.DataFrame, *, proba: bool = True) -> Predictions:
        y_pred = self.call("predict", X)
        proba = self.call("predict_proba", X).astype(float) if proba and self.has_proba else None
        if self.task == "regression":
            y_pred = y_pred.astype(float).reshape(-1)
        return Predictions(y_pred=y_pred, proba=proba, classes=self.classes)

    def _labels_from_proba(self) -> bool:
        """True when predict() is known to equal the most probable class: the final estimator is one
        whose scikit-learn definition says so (exact type, alone or ending a sklearn Pipeline), and
        the whole test split, scored with both methods, agrees. Then one predict_proba call gives
        both outputs, which halves the model time of the perturbation and probe checks."""
        key = "labels_from_proba"
        if key not in self._cache:
            self._cache[key] = False
            if self.task != "regression" and self.has_proba and _argmax_by_definition(self.model):
                try:
                    p = self.predictions("test")
                except ModelCallError:
                    return False
                self._cache[key] = p.proba is not None and bool(
                    np.array_equal(self.codes(p.y_pred), p.proba.argmax(axis=1))
                )
        return self._cache[key]

    def predictions(self, split: str = "test") -> Predictions:
        """Cached predictions for a whole split; a model crash is cached and re-raised."""
        key = ("pred", split)
        if key not in self._cache:
            try:
                self._cache[key] = self._compute_predictions(split)
            except ModelCallError as exc:
                self._cache[key] = exc
        cached = self._cache[key]
        if isinstance(cached, ModelCallError):
            raise cached
        return cached

    def _compute_predictions(self, split: str) -> Predictions:
        if self.model is not None:  # the test split always with both calls: it is the evidence
            return self._score_both(self.X(split)) if split == "test" else self.score(self.X(split))
        df = self.frame(split)
        if self.prediction_column not in df.columns:
            raise ChecksError(f"{split} data has no prediction column {self.prediction_column!r}")
        y_pred = df[self.prediction_column].to_numpy()
        if self.task == "regression":
            return Predictions(y_pred.astype(float), None, None)
        proba = None
        cols = self.score_columns
        if len(cols) == 1:
            s = df[cols[0]].to_numpy(dtype=float)
            proba = np.zeros((len(df), len(self.classes)))
            pos = self.positive_index
            proba[:, pos] = s
            proba[:, 1 - pos] = 1.0 - s
        elif cols:
            proba = df[cols].to_numpy(dtype=float)
        return Predictions(y_pred, proba, self.classes)

    def positive_scores(self, split: str = "test") -> np.ndarray | None:
        p = self.predictions(split).proba
        return None if p is None else p[:, self.positive_index]

    def bootstrap_weights(self, split: str = "test") -> np.ndarray:
        """(B, n) resample counts for a split, drawn once per run and shared by every check. For a
        split too large to hold B x n counts in memory, use `bootstrap`, which draws them in chunks."""
        from ._stats import bootstrap_weights

        key = ("boot", split)
        if key not in self._cache:
            rng = self.rng(f"bootstrap:{split}")
            self._cache[key] = bootstrap_weights(len(self.frame(split)), self.policy.bootstrap.n, rng)
        return self._cache[key]

    def bootstrap(self, split: str, fn: Any) -> Any:
        """``fn`` applied to the B bootstrap resamples of a split, the results stacked along the first
        axis (arrays, or dicts / tuples of arrays), as ``fn(self.bootstrap_weights(split))`` would give.

        Memory stays bounded for any number of rows: when B x n counts exceed
        ``BOOTSTRAP_CHUNK_CELLS`` (a 1,000,000-row test set), the resamples are drawn and evaluated
        a chunk of them at a time (each chunk from its own seeded generator, so results stay
        reproducible); below it, one chunk shared by every check of the run, as before."""
        from ._stats import bootstrap_weights

        n, total = len(self.frame(split)), self.policy.bootstrap.n
        per_chunk = max(1, BOOTSTRAP_CHUNK_CELLS // max(n, 1))
        if per_chunk >= total:
            return fn(self.bootstrap_weights(split))
        parts = []
        for start in range(0, total, per_chunk):
            size = min(per_chunk, total - start)
            W = bootstrap_weights(n, size, self.rng(f"bootstrap:{split}:{start}"))
            parts.append(fn(W))
            del W
        return _stack(parts)

    @property
    def cache(self) -> dict:
        """Free-form memo shared between checks of a run (e.g. SHAP values)."""
        return self._cache.setdefault("memo", {})


def _stack(parts: list) -> Any:
    """Concatenate chunk results along the first axis, through dicts and tuples."""
    first = parts[0]
    if isinstance(first, dict):
        return {k: _stack([p[k] for p in parts]) for k in first}
    if isinstance(first, tuple):
        return tuple(_stack([p[i] for p in parts]) for i in range(len(first)))
    return np.concatenate([np.asarray(p) for p in parts], axis=0)
