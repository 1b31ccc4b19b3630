"""Changes in the inventory mark the approved classification as needing review."""

import pytest

from governance.choices import DeterminationStatus
from models_registry.models import AISystem, ModelVersion
from models_registry.signals import system_changed, version_registered
from tests.governance.conftest import events, make_model_version

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "field", ["intended_use", "purpose", "operator_role", "deployment_context", "sector", "affected_groups"]
)
def test_changing_a_classification_relevant_fact_marks_the_approved_determination_for_review(
    approved, credit_system, ml_engineer, field
):
    system_changed.send(sender=AISystem, system=credit_system, changed_fields={field, "owner_team"}, actor=ml_engineer)
    approved.refresh_from_db()
    assert approved.status == DeterminationStatus.NEEDS_REVIEW
    assert field.replace("_", " ") in approved.review_reason
    event = events("classification.needs_review").get()
    assert event.actor == ml_engineer and event.object_id == str(approved.pk)


def test_moving_a_system_into_an_annex_iii_sector_through_the_registry_flags_its_approved_classification(
    approved, credit_system, ml_engineer
):
    from models_registry.services import system_update

    system_update(actor=ml_engineer, system=credit_system, sector="employment", affected_groups=["job_applicants"])
    approved.refresh_from_db()
    assert approved.status == DeterminationStatus.NEEDS_REVIEW
    assert "sector" in approved.review_reason and "affected groups" in approved.review_reason


def test_changing_an_unrelated_field_changes_nothing(approved, credit_system, ml_engineer):
    system_changed.send(sender=AISystem, system=credit_system, changed_fields={"owner_team", "tags"}, actor=ml_engineer)
    approved.refresh_from_db()
    assert approved.status == DeterminationStatus.APPROVED
    assert not events("classification.needs_review").exists()


def test_a_substantially_modified_version_marks_it_for_review(approved, credit_system, ml_engineer):
    version = make_model_version(credit_system, ml_engineer, "v2", substantial=True)
    version_registered.send(sender=ModelVersion, version=version, actor=ml_engineer)
    approved.refresh_from_db()
    assert approved.status == DeterminationStatus.NEEDS_REVIEW
    assert "v2" in approved.review_reason


def test_a_routine_version_does_not(approved, credit_system, ml_engineer):
    version = make_model_version(credit_system, ml_engineer, "v1.1")
    version_registered.send(sender=ModelVersion, version=version, actor=ml_engineer)
    approved.refresh_from_db()
    assert approved.status == DeterminationStatus.APPROVED


def test_a_system_without_an_approved_classification_is_left_alone(submitted, credit_system, ml_engineer):
    system_changed.send(sender=AISystem, system=credit_system, changed_fields={"intended_use"}, actor=ml_engineer)
    submitted.refresh_from_db()
    assert submitted.status == DeterminationStatus.SUBMITTED


def test_a_needs_review_determination_keeps_the_risk_tier_and_obligations_until_a_new_approval(
    approved, credit_system, ml_engineer, compliance_officer
):
    from governance import services
    from tests.governance.conftest import CREDIT_SCORING

    system_changed.send(sender=AISystem, system=credit_system, changed_fields={"intended_use"}, actor=ml_engineer)
    credit_system.refresh_from_db()
    assert credit_system.risk_tier == "high" and credit_system.obligations.filter(applicable=True).exists()
    new = services.determination_submit(system=credit_system, actor=ml_engineer, answers=CREDIT_SCORING)
    services.determination_approve(determination=new, actor=compliance_officer)
    approved.refresh_from_db()
    assert approved.status == DeterminationStatus.SUPERSEDED
