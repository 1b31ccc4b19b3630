"""Fixtures for the governance app: an AI system and the answers that classify it."""

from __future__ import annotations

import pytest

from tests.governance.rules.helpers import area, complete

# A bank that builds and sells consumer credit scoring: Annex III point 5(b), and it profiles people.
CREDIT_SCORING = complete(roles=["provider"], **area("essential_services", annex3_5b_creditworthiness="yes",
                                                     art6_3_profiling="yes"))
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

    return AISystem.objects.create(organisation=organisation, name="Consumer credit scoring",
                                   purpose="Scores consumer loan applicants.", created_by=ml_engineer)


@pytest.fixture
def other_system(other_organisation, outsider):
    from models_registry.models import AISystem

    return AISystem.objects.create(organisation=other_organisation, name="Globex pricing",
                                   purpose="Prices policies.", created_by=outsider)


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

    artifact = Artifact.objects.create(organisation=system.organisation, kind="model", sha256=label.ljust(64, "0"),
                                       size=1, storage_key=f"k/{label}", original_name="m.skops",
                                       detected_format="skops", uploaded_by=user)
    return ModelVersion.objects.create(organisation=system.organisation, system=system, version_label=label,
                                       artifact=artifact, framework="sklearn", task="binary",
                                       substantial_modification=substantial, scan_verdict="safe", uploaded_by=user)


def events(verb: str):
    from audits.models import AuditEvent

    return AuditEvent.objects.filter(verb=verb)
