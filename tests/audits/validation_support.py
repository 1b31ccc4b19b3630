"""Fixtures of the validation tests: a small credit model and datasets registered through the real
registry services. Test modules import the fixtures they use from here."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

FEATURES = ["age", "income", "debt"]


def credit_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame(
        {
            "age": rng.randint(18, 75, n),
            "income": rng.normal(3000, 900, n).round(2),
            "debt": rng.normal(800, 400, n).round(2),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    score = (frame["income"] - 2 * frame["debt"]) / 1000 + rng.normal(0, 0.6, n)
    frame["default"] = (score < 1.4).astype(int)
    return frame


def credit_model(frame: pd.DataFrame):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[FEATURES], frame["default"])


def uploaded(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def model_bytes(model) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


@dataclass
class Registered:
    system: object
    version: object
    test: object
    train: object


def register_credit_system(actor, name: str = "Consumer credit scoring", test_rows: int = 240) -> Registered:
    """A system with one model version, a train and a test dataset, through the real services."""
    from models_registry.services import dataset_register, model_version_register, system_create

    system = system_create(
        actor=actor,
        name=name,
        purpose="Score loan applications",
        lifecycle_stage="development",
        operator_role="provider",
    )
    train_frame, test_frame = credit_frame(400, seed=1), credit_frame(test_rows, seed=2)
    version = model_version_register(
        actor=actor,
        system=system,
        version_label="1.0.0",
        file=uploaded("credit.joblib", model_bytes(credit_model(train_frame))),
        framework="sklearn",
        task="binary",
        feature_columns=FEATURES,
    )
    train = dataset_register(
        actor=actor,
        system=system,
        name="applications-train",
        role="train",
        file=uploaded("train.csv", csv_bytes(train_frame)),
        target_column="default",
        sensitive_columns=["sex"],
    )
    test = dataset_register(
        actor=actor,
        system=system,
        name="applications-test",
        role="test",
        file=uploaded("test.csv", csv_bytes(test_frame)),
        target_column="default",
        sensitive_columns=["sex"],
    )
    return Registered(system=system, version=version, test=test, train=train)


@pytest.fixture
def credit(ml_engineer) -> Registered:
    return register_credit_system(ml_engineer)


def wait_for(predicate, timeout: float = 90, every: float = 0.3):
    """Poll until predicate() returns something truthy; returns it, or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"gave up waiting after {timeout} s")


def finished(run_id: int):
    from audits.models import ValidationRun

    run = ValidationRun.objects.get(pk=run_id)
    return run if run.status in ("succeeded", "failed", "cancelled") else None


def register_unscanned_version(actor, system, model, label: str):
    """A model version whose file never went through the scanner: only for models defined in
    tests, which the scanner would refuse. Stored exactly as the registry stores files."""
    import hashlib
    import tempfile
    from pathlib import Path

    from models_registry import storage
    from models_registry.models import Artifact, ModelVersion

    data = model_bytes(model)
    sha256 = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.joblib"
        path.write_bytes(data)
        key, _ = storage.store(path, sha256)
    artifact = Artifact.objects.create(
        organisation_id=actor.organisation_id,
        kind="model",
        sha256=sha256,
        size=len(data),
        storage_key=key,
        original_name=f"{label}.joblib",
        detected_format="joblib",
        uploaded_by=actor,
    )
    return ModelVersion.objects.create(
        organisation_id=actor.organisation_id,
        system=system,
        version_label=label,
        artifact=artifact,
        framework="sklearn",
        task="binary",
        feature_columns=FEATURES,
        scan_verdict="safe",
        scan_report={"note": "test model, not scanned"},
        uploaded_by=actor,
    )


def sample_result(check_id: str, status: str, family: str = "performance", severity: str = "high") -> dict:
    finding = None
    if status in ("warn", "fail"):
        finding = {
            "title": f"{check_id} is not good enough",
            "description": f"{check_id} failed its threshold.",
            "affected": ["sex"],
            "evidence": {"value": 0.61},
            "recommendation": "Retrain the model.",
            "eu_ai_act_article": "Art. 15(1)",
        }
    return {
        "check_id": check_id,
        "family": family,
        "name": f"Check {check_id}",
        "status": status,
        "severity": severity if finding else "info",
        "value": 0.61,
        "threshold": {"op": ">=", "value": 0.7},
        "ci": [0.55, 0.67],
        "summary": f"The value of {check_id} is 0.61.",
        "details": {"n": 240},
        "charts": [{"data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2]}], "layout": {"title": {"text": check_id}}}],
        "finding": finding,
        "duration_s": 0.01,
        "error": None,
    }


def finish_with_results(run, results: list[dict], status: str = "succeeded"):
    """Play the worker's part without the engine: claim, record results, finish."""
    from audits.validation.services import validation_claim, validation_finish, validation_record_result

    validation_claim(run_id=run.pk, token="test-token")
    run.refresh_from_db()
    for result in results:
        validation_record_result(run=run, token="test-token", result=result)
    validation_finish(
        run_id=run.pk,
        token="test-token",
        status=status,
        duration_s=1.5,
        peak_memory_mb=120.0,
        error_message="The validation failed: the model crashed." if status == "failed" else "",
        error_detail="Traceback: boom" if status == "failed" else "",
    )
    run.refresh_from_db()
    return run


@pytest.fixture
def finished_run(ml_engineer, credit):
    from audits.validation.services import validation_start

    run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")
    return finish_with_results(
        run,
        [
            sample_result("PERF-01", "fail", severity="critical"),
            sample_result("PERF-04", "pass"),
            sample_result("FAIR-02", "warn", family="fairness", severity="medium"),
            sample_result("DATA-01", "not_evaluable", family="data_quality"),
        ],
    )
