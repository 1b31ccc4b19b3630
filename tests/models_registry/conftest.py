import io

import joblib
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def system(ml_engineer):
    from models_registry.services import system_create

    return system_create(
        actor=ml_engineer,
        name="Consumer credit scoring",
        purpose="Score loan applications",
        intended_use="Retail credit decisions",
        lifecycle_stage="development",
        operator_role="provider",
        owner_team="Credit risk",
        tags=["credit", "retail"],
    )


@pytest.fixture(scope="session")
def fitted_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    X = rng.randn(200, 3)
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


@pytest.fixture(scope="session")
def joblib_bytes(fitted_model) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(fitted_model, buffer)
    return buffer.getvalue()


def joblib_variant(model, n: int) -> bytes:
    """Another valid model file with different bytes (the scanner rightly refuses appended junk)."""
    buffer = io.BytesIO()
    joblib.dump({"model": model, "variant": n}, buffer)
    return buffer.getvalue()


def uploaded(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def model_args(**overrides):
    args = {
        "version_label": "1.0.0",
        "framework": "sklearn",
        "task": "binary",
        "feature_columns": ["a", "b", "c"],
        "intended_use": "Retail credit",
        "claimed_metrics": {"auc": 0.91},
    }
    args.update(overrides)
    return args


@pytest.fixture
def stored_files(settings, tmp_path):
    """Point artifact storage at an empty folder and return a function listing what it holds."""
    root = tmp_path / "artifacts"
    settings.STORAGES = {
        **settings.STORAGES,
        "artifacts": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    from django.core.files.storage import storages

    storages._storages.pop("artifacts", None)

    def listing():
        return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []

    yield listing
    storages._storages.pop("artifacts", None)
