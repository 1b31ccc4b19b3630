"""Factories shared by the risk-register tests (no tests here; the name keeps it in the files the
risk register owns). Findings are created with the ORM: the validation engine is not needed."""

from __future__ import annotations

from datetime import date

import pytest


def seed_threat_library():
    """What migration 0004 does; browser tests flush tables, so they seed again."""
    import importlib

    from django.apps import apps

    importlib.import_module("governance.migrations.0004_seed_threat_library").seed(apps, None)


def make_risk(actor, systems, **fields):
    from governance.risks.services import risk_create

    data = {
        "title": "Unfair declines for young applicants",
        "category": "bias",
        "likelihood": 3,
        "impact": 4,
        "systems": list(systems),
    }
    data.update(fields)
    return risk_create(actor=actor, data=data)


def make_run(system, user):
    from audits.models import ValidationRun
    from models_registry.models import Artifact, Dataset

    artifact, _ = Artifact.objects.get_or_create(
        organisation=system.organisation,
        kind="dataset",
        sha256=f"{system.pk:064d}",
        defaults={
            "size": 1,
            "storage_key": f"k/{system.pk}",
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
    return ValidationRun.objects.create(
        organisation=system.organisation,
        system=system,
        test_dataset=dataset,
        task="binary",
        suite="quick",
        policy={},
        policy_version="1",
        time_limit_s=60,
        memory_limit_mb=512,
        requested_by=user,
        status="succeeded",
    )


def make_finding(run, *, check_id="FAIR-01", severity="high", category="fairness", title=None, status="open"):
    from audits.models import Finding

    return Finding.objects.create(
        organisation=run.organisation,
        run=run,
        system=run.system,
        check_id=check_id,
        category=category,
        check_status="fail",
        severity=severity,
        title=title or f"Approval rates differ by sex ({check_id})",
        description="The demographic parity ratio is 0.71, below the policy's 0.8.",
        recommendation="Review the features that proxy for sex.",
        status=status,
    )


@pytest.fixture
def credit_risk(compliance_officer, credit_system):
    return make_risk(compliance_officer, [credit_system], due_date=date(2030, 1, 31))


@pytest.fixture
def control(compliance_officer):
    from governance.risks.services import control_create

    return control_create(
        actor=compliance_officer,
        name="Quarterly fairness review",
        control_type="detective",
        owner=compliance_officer,
        effectiveness="effective",
    )
