"""Validation policy: every threshold a check uses, named, defaulted from the check catalogue
(docs/reference/check-catalogue.md) and overridable per organisation or risk tier.

    policy = Policy.from_overrides({"fairness.dp_ratio_min": 0.9, "bootstrap": {"n": 500}})

Unknown keys and wrong types are rejected: a typo in a policy must never silently fall back to a
default.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

POLICY_VERSION = "2026.11.1"


class PolicyError(ValueError):
    """An override names an unknown key or has the wrong type."""


@dataclass(frozen=True)
class BootstrapPolicy:
    n: int = 200  # resamples for every CI (PERF-11)
    level: float = 0.95


@dataclass(frozen=True)
class PerformancePolicy:
    min_auc: float = 0.7  # DC: AUC > 0.7
    min_accuracy: float = 0.7  # VM: accuracy >= 0.7
    min_f1: float = 0.5  # VM: F1 >= 0.5, used per class in PERF-04
    min_r2: float = 0.0  # regression: must beat predicting the mean
    baseline_gain_min: float = 0.1  # DC: gain over dummy > 10 %
    max_train_test_gap: float = 0.10  # DC/VM: relative degradation <= 10 %
    warn_train_test_gap: float = 0.05
    max_ci_width: float = 0.10  # PERF-11: a wider CI means too little test data to rely on
    slice_min_samples: int = 30  # RAI error tree: >= 20 per leaf; we use 30
    slice_drop_warn: float = 0.05  # GK: relative drop > 5 %
    slice_drop_fail: float = 0.10  # GK: MAJOR > 10 %
    slice_alpha: float = 0.05  # a slice must be significantly worse, not just noisy
    slice_tree_depth: int = 3
    systematic_error_max: float = 0.01  # DC regression systematic-error ratio


@dataclass(frozen=True)
class CalibrationPolicy:
    ece_max: float = 0.05  # catalogue gate ECE <= 0.05
    ece_warn: float = 0.03
    n_bins: int = 10


@dataclass(frozen=True)
class FairnessPolicy:
    min_group_size: int = 30
    # Intersections ("race & sex") need more rows per group before a rate is compared (FAIR-01..04).
    intersection_min_group_size: int = 100
    dp_ratio_min: float = 0.8  # four-fifths rule
    dp_ratio_warn: float = 0.9
    dp_diff_max: float = 0.1
    eo_diff_max: float = 0.1  # equalised odds difference
    eopp_ratio_min: float = 0.8  # equal opportunity (TPR) ratio
    ratio_band_high: float = 1.25  # AIF fair range upper bound, drawn on charts
    flip_rate_max: float = 0.01  # FAIR-10 proposal
    sample_size: int = 5000
    numeric_bins: int = 4  # numeric sensitive attributes are cut into quantile bins
    intersections: bool = True  # also evaluate pairs of sensitive attributes (FAIR-06)
    mitigation_constraint: str = "demographic_parity"


@dataclass(frozen=True)
class RobustnessPolicy:
    sample_size: int = 2000
    perturbation_fail_rate: float = 0.05  # GK fail rate >= 5 %
    perturbation_major_rate: float = 0.10  # GK MAJOR >= 10 %
    regression_rel_change: float = 0.05
    noise_levels: tuple = (0.1, 0.2, 0.3, 0.4, 0.5)
    noise_decay_max: float = 0.05  # VM: decay > 5 % fails (at the gate level)
    noise_gate_level: float = 0.1
    determinism_rows: int = 1000
    single_rows: int = 20
    overconfidence_gap: float = 0.5  # GK: p_pred - p_true > 0.5
    underconfidence_ratio: float = 0.95  # GK: p2/p1 > 0.95
    slice_rate_factor: float = 1.1  # GK: slice rate > global x 1.1


@dataclass(frozen=True)
class EdgeCasePolicy:
    sample_size: int = 200
    proba_atol: float = 1e-6


@dataclass(frozen=True)
class DataQualityPolicy:
    missing_tokens: tuple = ("?", "na", "n/a", "nan", "-", "--", "", "null", "#n/a", "n.a.")
    # Often a real category ("other_debtors = none"): reported as possible, never counted as missing.
    ambiguous_tokens: tuple = ("none", "missing", "unknown", "not available")
    sentinel_values: tuple = (-999, -9999, -99999, 999999, 9999999)
    max_missing_share_warn: float = 0.05
    max_missing_share_fail: float = 0.30
    rare_type_min: float = 0.01  # DC: rare type between 1 % and 10 % fails
    rare_type_max: float = 0.10
    near_constant_share: float = 0.99
    duplicate_share_max: float = 0.05  # DC <= 5 %
    conflicting_share_max: float = 0.0  # DC 0 %
    min_class_share: float = 0.10  # VM 10 %
    outlier_iqr_k: float = 1.5
    leakage_power_max: float = 0.8  # DC PPS < 0.8
    leakage_sample: int = 5000
    contamination_share_max: float = 0.05  # DC <= 5 %
    pii_sample: int = 2000
    pii_min_share: float = 0.01


@dataclass(frozen=True)
class ExplainabilityPolicy:
    shap_sample: int = 2000  # rows explained when the time budget allows (tree and linear explainers)
    agnostic_sample: int = 50  # the same for the model-agnostic permutation explainer
    # Time budget of the SHAP explanations shared by XAI-01/02/08 (seconds, explainer construction and
    # the pilot timing included): the sample shrinks to what fits, and below the minimum sample the
    # exact tree path gives way to the approximate one, then the checks are "not evaluable: over budget".
    time_budget_s: float = 30.0
    min_sample: int = 100  # fewest rows for exact TreeSHAP / LinearSHAP before the approximate path
    agnostic_min_sample: int = 10  # fewest rows for the permutation explainer
    pilot_rows: int = 5  # rows timed (after a one-row warm-up) to estimate the cost per row
    stability_resamples: int = 200  # bootstrap resamples of the explained rows for the top-k stability
    background_size: int = 50
    local_rows: int = 3
    top_k: int = 5  # XAI-08: flag a sensitive feature or proxy in the top k
    proxy_assoc_min: float = 0.5  # Cramer's V above which a feature is a proxy
    sensitive_share_max: float = 0.10


@dataclass(frozen=True)
class SecurityPolicy:
    mia_sample: int = 5000
    mia_auc_warn: float = 0.55
    mia_auc_max: float = 0.60


_SECTIONS = {
    "bootstrap": BootstrapPolicy,
    "performance": PerformancePolicy,
    "calibration": CalibrationPolicy,
    "fairness": FairnessPolicy,
    "robustness": RobustnessPolicy,
    "edge_cases": EdgeCasePolicy,
    "data_quality": DataQualityPolicy,
    "explainability": ExplainabilityPolicy,
    "security": SecurityPolicy,
}


@dataclass(frozen=True)
class Policy:
    bootstrap: BootstrapPolicy = field(default_factory=BootstrapPolicy)
    performance: PerformancePolicy = field(default_factory=PerformancePolicy)
    calibration: CalibrationPolicy = field(default_factory=CalibrationPolicy)
    fairness: FairnessPolicy = field(default_factory=FairnessPolicy)
    robustness: RobustnessPolicy = field(default_factory=RobustnessPolicy)
    edge_cases: EdgeCasePolicy = field(default_factory=EdgeCasePolicy)
    data_quality: DataQualityPolicy = field(default_factory=DataQualityPolicy)
    explainability: ExplainabilityPolicy = field(default_factory=ExplainabilityPolicy)
    security: SecurityPolicy = field(default_factory=SecurityPolicy)
    version: str = POLICY_VERSION

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None = None) -> Policy:
        """Defaults plus overrides, given as dotted keys ("fairness.dp_ratio_min") or nested dicts."""
        flat = _flatten(overrides or {})
        by_section: dict[str, dict[str, Any]] = {}
        for key, value in flat.items():
            section, _, name = key.partition(".")
            if section not in _SECTIONS or not name:
                raise PolicyError(_unknown(key, list(_SECTIONS)))
            fields = {f.name: f for f in dataclasses.fields(_SECTIONS[section])}
            if name not in fields:
                raise PolicyError(_unknown(key, [f"{section}.{n}" for n in fields]))
            default = fields[name].default
            by_section.setdefault(section, {})[name] = _coerce(key, value, default)
        base = cls()
        return dataclasses.replace(
            base, **{s: dataclasses.replace(getattr(base, s), **vals) for s, vals in by_section.items()}
        )

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = value
    return out


def _unknown(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"Unknown policy key {key!r}.{hint} Valid keys: {', '.join(sorted(valid))}"


def _coerce(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, tuple):
        if isinstance(value, (list, tuple)):
            return tuple(value)
    raise PolicyError(f"Policy key {key!r} expects {type(default).__name__}, got {value!r}")
