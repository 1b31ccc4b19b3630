"""Demo content for `seed_demo`: a credit-scoring system with a real model and datasets, registered
through the same services a user goes through (the model file is scanned, the datasets profiled)."""

from __future__ import annotations

import io
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
SYSTEM_NAME = "Consumer credit scoring"


def _model_and_splits():
    import joblib
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.read_csv(DATASETS / "german_credit.csv.gz")
    test = frame.sample(frac=0.3, random_state=7)
    train = frame.drop(test.index)
    features = [c for c in frame.columns if c != "credit_risk"]
    categorical = list(frame[features].select_dtypes(exclude="number").columns)
    numeric = [c for c in features if c not in categorical]
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("categories", OneHotEncoder(handle_unknown="ignore"), categorical),
                        ("numbers", StandardScaler(), numeric),
                    ]
                ),
            ),
            ("model", HistGradientBoostingClassifier(max_iter=120, learning_rate=0.08, random_state=7)),
        ]
    ).fit(train[features], train["credit_risk"])
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    return buffer.getvalue(), train, test, features


def seed_credit_scoring(engineer) -> bool:
    """Create the demo system once; returns whether it was created."""
    from models_registry.models import AISystem
    from models_registry.services import dataset_register, model_version_register, system_create

    if AISystem.objects.filter(organisation=engineer.organisation, name=SYSTEM_NAME).exists():
        return False
    model_bytes, train, test, features = _model_and_splits()
    system = system_create(
        actor=engineer,
        name=SYSTEM_NAME,
        purpose="Score consumer loan applications for creditworthiness.",
        intended_use="Credit officers use the score to approve or decline retail loans up to EUR 50,000.",
        deployment_context="Branch and online loan applications in the EU.",
        affected_persons="Applicants for consumer credit.",
        lifecycle_stage="validation",
        operator_role="provider",
        owner_team="Credit risk",
        business_owner="Head of retail lending",
        processes_personal_data=True,
        tags=["credit", "retail"],
    )
    model_version_register(
        actor=engineer,
        system=system,
        version_label="1.0.0",
        framework="sklearn",
        task="binary",
        file=SimpleUploadedFile("credit-hgb-1.0.0.joblib", model_bytes),
        feature_columns=features,
        intended_use="Probability that a consumer loan applicant repays (label 'good').",
        limitations="Trained on 700 historical German applications (1973-1975); not for business loans.",
        training_data_description="Statlog German credit data (UCI, CC BY 4.0), 70% seeded split.",
        claimed_metrics={"roc_auc": 0.78, "accuracy": 0.75},
    )
    for role, frame in (("train", train), ("test", test)):
        dataset_register(
            actor=engineer,
            system=system,
            name=f"german-credit-{role}",
            role=role,
            file=SimpleUploadedFile(f"german-credit-{role}.csv", frame.to_csv(index=False).encode()),
            target_column="credit_risk",
            sensitive_columns=["sex", "age", "foreign_worker"],
        )
    return True
