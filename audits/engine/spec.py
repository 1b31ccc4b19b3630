"""What one validation run needs, as plain JSON-able data (sent to the child process)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ModelSpec:
    path: str
    format: str  # "joblib" | "pickle" | "skops" | "onnx" | "mlflow" (as detected by the scanner)
    inner_artifact: dict | None = None  # for MLflow zips: {"path": ..., "flavor": ...}
    sha256: str = ""


@dataclass(frozen=True)
class DataSpec:
    path: str
    read_options: dict
    sha256: str = ""


@dataclass(frozen=True)
class RunSpec:
    task: str  # "binary" | "multiclass" | "regression"
    target: str
    test: DataSpec
    suite: str = "standard"
    model: ModelSpec | None = None
    train: DataSpec | None = None
    features: list[str] | None = None
    sensitive: list[str] = field(default_factory=list)
    prediction_column: str | None = None
    score_column: str | None = None
    policy_overrides: dict = field(default_factory=dict)
    seed: int = 0
    time_limit_s: int = 1800
    memory_limit_mb: int = 4096

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        data = json.loads(text)
        data["test"] = DataSpec(**data["test"])
        data["train"] = DataSpec(**data["train"]) if data.get("train") else None
        data["model"] = ModelSpec(**data["model"]) if data.get("model") else None
        return cls(**data)
