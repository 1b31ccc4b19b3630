"""Fixtures for the governance app: an AI system and the answers that classify it."""

from __future__ import annotations

import pytest

from tests.governance.rules.helpers import area, complete

# A bank that builds and sells consumer credit scoring: Annex III point 5(b), and it profiles people.
CREDIT_SCORING = complete(
    roles=["provider"], **area("essential_services", annex3_5b_creditworthiness="yes", art6_3_profiling="yes")
)
# The same bank's internal FAQ chatbot: Art. 50(1) only.
CHATBOT = complete(roles=["provider"], art50_1_interacts="yes")
MINIMAL = complete(roles=["provider"])


@pytest.fixture(autouse=True)
def application_dates(request):
    """The rows the data migration seeds. Transactional tests elsewhere in the suite (browser
    tests) flush every table, so seed them again, exactly as the migration does."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    import importlib

    from django.apps import apps

    seed = importlib.import_module("governance.migrations.0002_seed_application_dates").seed
    seed(apps, None)


@pytest.fixture
def credit_system(organisation, ml_engineer):
    from models_registry.models import AISystem

    return AISystem.objects.create(
        organisation=organisation,
        name="Consumer credit scoring",
        purpose="Scores consumer loan applicants.",
        created_by=ml_engineer,
    )


@pytest.fixture
def other_system(other_organisation, outsider):
    from models_registry.models import AISystem

    return AISystem.objects.create(
        organisation=other_organisation, name="Globex pricing", purpose="Prices policies.", created_by=outsider
    )


@pytest.fixture
def submitted(credit_system, ml_engineer):
    from governance.services import determination_submit

    return determination_submit(system=credit_system, actor=ml_engineer, answers=CREDIT_SCORING)


@pytest.fixture
def approved(submitted, compliance_officer):
    from governance.services import determination_approve

    return determination_approve(determination=submitted, actor=compliance_officer)


@pytest.fixture
def obligation(approved):
    return approved.obligations.get(code="art_10_data_governance")


def make_model_version(system, user, label="v1", substantial=False):
    from models_registry.models import Artifact, ModelVersion

    artifact = Artifact.objects.create(
        organisation=system.organisation,
        kind="model",
        sha256=label.ljust(64, "0"),
        size=1,
        storage_key=f"k/{label}",
        original_name="m.skops",
        detected_format="skops",
        uploaded_by=user,
    )
    return ModelVersion.objects.create(
        organisation=system.organisation,
        system=system,
        version_label=label,
        artifact=artifact,
        framework="sklearn",
        task="binary",
        substantial_modification=substantial,
        scan_verdict="safe",
        uploaded_by=user,
    )


def events(verb: str):
    from core.models import AuditEvent

    return AuditEvent.objects.filter(verb=verb)


# The results a run gets unless told otherwise: (family, status) per check.
RUN_RESULTS = (
    ("fairness", "pass"),
    ("fairness", "fail"),
    ("performance", "pass"),
    ("performance", "warn"),
    ("robustness", "pass"),
)


def make_validation_run(system, user, *, status="succeeded", finished_at=None, version=None, results=RUN_RESULTS):
    """A validation run with check results, made with the ORM (the validation engine is not needed).
    A succeeded run finished ten days ago unless `finished_at` says otherwise."""
    from datetime import timedelta

    from django.utils import timezone

    from audits.models import CheckResultRecord, ValidationRun
    from models_registry.models import Artifact, Dataset

    artifact, _ = Artifact.objects.get_or_create(
        organisation=system.organisation,
        kind="dataset",
        sha256=f"{system.pk:064d}",
        defaults={
            "size": 1,
            "storage_key": f"d/{system.pk}",
            "original_name": "test.csv",
            "detected_format": "csv",
            "uploaded_by": user,
        },
    )
    dataset, _ = Dataset.objects.get_or_create(
        organisation=system.organisation,
        system=system,
        name="test",
        version=1,
        defaults={
            "role": "test",
            "artifact": artifact,
            "file_format": "csv",
            "row_count": 10,
            "column_count": 3,
            "uploaded_by": user,
        },
    )
    if finished_at is None and status in ("succeeded", "failed"):
        finished_at = timezone.now() - timedelta(days=10)
    run = ValidationRun.objects.create(
        organisation=system.organisation,
        system=system,
        model_version=version,
        test_dataset=dataset,
        task="binary",
        suite="standard",
        policy={},
        policy_version="1",
        time_limit_s=60,
        memory_limit_mb=512,
        requested_by=user,
        status=status,
        finished_at=finished_at,
    )
    for number, (family, check_status) in enumerate(results, start=1):
        CheckResultRecord.objects.create(
            run=run,
            check_id=f"{family[:4].upper()}-{number:02d}",
            family=family,
            name=f"{family} check {number}",
            status=check_status,
            severity="medium",
        )
    return run
