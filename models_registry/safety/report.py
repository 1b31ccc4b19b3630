"""Result types of the model-file safety scanner (no Django, no I/O)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")

#: Extensions accepted by the portal, mapped to the format they announce.
ACCEPTED_FORMATS: dict[str, str] = {
    ".skops": "skops",
    ".onnx": "onnx",
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".zip": "mlflow",
}


def accepted_formats_sentence() -> str:
    exts = ", ".join(sorted(ACCEPTED_FORMATS))
    return (
        f"Accepted model files are {exts} (scikit-learn skops, ONNX, joblib, "
        "pickle, or an MLflow model folder uploaded as a .zip)."
    )


@dataclass(frozen=True)
class ScanLimits:
    """Resource limits. All sizes are in bytes."""

    max_file_size: int = 4 * 1024**3
    max_decompressed_size: int = 4 * 1024**3
    max_compression_ratio: float = 100.0
    max_archive_members: int = 10_000
    max_nesting_depth: int = 4
    max_pickle_opcodes: int = 50_000_000
    max_mlmodel_size: int = 1024 * 1024
    # Ratios are only enforced for members larger than this (tiny files compress oddly).
    ratio_check_min_size: int = 1024 * 1024
    # Only run the (slower) fickling second opinion on pickles up to this size.
    second_opinion_max_size: int = 16 * 1024 * 1024
    # ONNX files are parsed in a child process with these limits (address space, CPU, wall clock).
    onnx_parse_memory: int = 1024**3
    onnx_parse_cpu_seconds: int = 30
    onnx_parse_timeout: float = 60.0


@dataclass(frozen=True)
class Issue:
    code: str
    message: str
    detail: str = ""
    severity: str = "high"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ScanReport:
    verdict: str  # "safe" | "refused"
    detected_format: str  # skops | onnx | joblib | pickle | mlflow | unknown
    reasons: list[Issue] = field(default_factory=list)
    globals_seen: list[str] = field(default_factory=list)
    scanner: dict[str, str] = field(default_factory=dict)
    inner_artifact: dict[str, str] | None = None
    original_name: str = ""
    notes: list[Issue] = field(default_factory=list)
    # The input column names the file declares (models_registry.safety.feature_names), or [].
    feature_names: list[str] = field(default_factory=list)

    @property
    def is_safe(self) -> bool:
        return self.verdict == "safe"

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "detected_format": self.detected_format,
            "reasons": [i.to_dict() for i in self.reasons],
            "notes": [i.to_dict() for i in self.notes],
            "globals_seen": list(self.globals_seen),
            "scanner": dict(self.scanner),
            "inner_artifact": dict(self.inner_artifact) if self.inner_artifact else None,
            "original_name": self.original_name,
            "feature_names": list(self.feature_names),
        }


class Findings:
    """Mutable collector used while scanning; frozen into a ScanReport at the end."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.notes: list[Issue] = []
        self.globals: set[str] = set()
        self.format: str = "unknown"
        self.inner: dict[str, str] | None = None
        self.tools: dict[str, str] = {}
        self.feature_names: list[str] = []

    def refuse(self, code: str, message: str, detail: str = "", severity: str = "high") -> None:
        issue = Issue(code, message, detail, severity)
        if issue not in self.issues:
            self.issues.append(issue)

    def note(self, code: str, message: str, detail: str = "", severity: str = "info") -> None:
        issue = Issue(code, message, detail, severity)
        if issue not in self.notes:
            self.notes.append(issue)

    def freeze(self, original_name: str) -> ScanReport:
        order = {s: i for i, s in enumerate(SEVERITIES)}
        issues = sorted(self.issues, key=lambda i: order[i.severity])
        return ScanReport(
            verdict="refused" if issues else "safe",
            detected_format=self.format,
            reasons=issues,
            globals_seen=sorted(self.globals),
            scanner=dict(self.tools),
            inner_artifact=self.inner,
            original_name=original_name,
            notes=list(self.notes),
            feature_names=list(self.feature_names),
        )
