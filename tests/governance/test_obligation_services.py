"""Obligation status transitions, assignment, evidence, staleness and application dates."""

from datetime import date, timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import Conflict, NotAllowed, TooLarge, ValidationFailed
from governance import services
from governance.choices import OBLIGATION_TRANSITIONS, ObligationStatus
from governance.models import ApplicationDate, Evidence, Obligation
from governance.rules import DEFAULT_APPLICATION_DATES
from tests.governance.conftest import events, make_model_version, make_validation_run

pytestmark = pytest.mark.django_db


def _evidence(obligation, actor, name="plan.pdf", content=b"%PDF-1.4 risk plan"):
    return services.evidence_add_document(
        obligation=obligation, actor=actor, uploaded_file=SimpleUploadedFile(name, content)
    )


def _walk_to_submitted(obligation, owner, officer):
    services.obligation_assign(
        obligation=obligation,
        actor=officer,
        owner=owner,
        due_date=None,
        evidence_max_age_days=obligation.evidence_max_age_days,
    )
    services.obligation_transition(obligation=obligation, to_status="in_progress", actor=owner)
    _evidence(obligation, owner)  # the first evidence submits it for review
    obligation.refresh_from_db()
    return obligation


def test_the_application_dates_are_seeded_from_the_rules_module():
    assert dict(ApplicationDate.objects.values_list("key", "applies_from")) == dict(DEFAULT_APPLICATION_DATES)


def test_every_transition_not_in_the_table_is_refused(obligation, compliance_officer):
    for frm in ObligationStatus.values:
        for to in ObligationStatus.values:
            if (frm, to) in OBLIGATION_TRANSITIONS:
                continue
            Obligation.objects.filter(pk=obligation.pk).update(status=frm)
            with pytest.raises(Conflict) as excinfo:
                services.obligation_transition(obligation=obligation, to_status=to, actor=compliance_officer)
            assert excinfo.value.code == "illegal_transition", (frm, to)


def test_an_unknown_status_is_refused_clearly(obligation, compliance_officer):
    with pytest.raises(ValidationFailed) as excinfo:
        services.obligation_transition(obligation=obligation, to_status="done", actor=compliance_officer)
    assert excinfo.value.code == "invalid_status"


def test_the_owner_moves_work_along_and_only_a_compliance_officer_accepts(obligation, ml_engineer, compliance_officer):
    obligation = _walk_to_submitted(obligation, ml_engineer, compliance_officer)
    with pytest.raises(NotAllowed):
        services.obligation_transition(obligation=obligation, to_status="accepted", actor=ml_engineer)
    obligation = services.obligation_transition(obligation=obligation, to_status="accepted", actor=compliance_officer)
    assert obligation.status == "accepted"
    assert events("obligation.status_changed").filter(object_id=str(obligation.pk)).count() == 3


def test_an_ml_engineer_who_does_not_own_the_obligation_cannot_move_it(obligation, ml_engineer):
    with pytest.raises(NotAllowed):
        services.obligation_transition(obligation=obligation, to_status="in_progress", actor=ml_engineer)


def test_evidence_is_required_before_submitting(obligation, compliance_officer):
    services.obligation_transition(obligation=obligation, to_status="in_progress", actor=compliance_officer)
    with pytest.raises(ValidationFailed) as excinfo:
        services.obligation_transition(obligation=obligation, to_status="evidence_submitted", actor=compliance_officer)
    assert excinfo.value.code == "evidence_required"


def test_an_uploaded_document_is_stored_under_its_content_hash_once(obligation, compliance_officer):
    first = _evidence(obligation, compliance_officer)
    second = _evidence(obligation, compliance_officer, name="copy.pdf")
    assert first.sha256 == second.sha256 and len(first.sha256) == 64
    assert first.storage_key == f"governance/evidence/{obligation.organisation_id}/{first.sha256}"
    assert default_storage.exists(first.storage_key)
    assert second.original_name == "copy.pdf"
    assert events("obligation.evidence_added").count() == 2


def test_an_empty_or_oversized_document_is_refused(obligation, compliance_officer, monkeypatch):
    with pytest.raises(ValidationFailed):
        _evidence(obligation, compliance_officer, content=b"")
    monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 10)
    with pytest.raises(TooLarge) as excinfo:
        _evidence(obligation, compliance_officer, content=b"x" * 11)
    assert excinfo.value.status_code == 413
    assert not Evidence.objects.exists()


def test_a_model_card_must_belong_to_the_same_system(
    obligation, compliance_officer, other_system, outsider, credit_system, ml_engineer
):
    version = make_model_version(credit_system, ml_engineer)
    evidence = services.evidence_add_model_card(obligation=obligation, actor=compliance_officer, model_version=version)
    assert evidence.kind == "model_card" and evidence.dated_at == version.created_at
    foreign = make_model_version(other_system, outsider)
    with pytest.raises(ValidationFailed):
        services.evidence_add_model_card(obligation=obligation, actor=compliance_officer, model_version=foreign)


def test_a_validation_run_is_linked_by_family_and_run_id(obligation, compliance_officer, credit_system, ml_engineer):
    run = make_validation_run(credit_system, ml_engineer)
    evidence = services.evidence_add_validation_run(
        obligation=obligation, actor=compliance_officer, validation_kind="validation_run:fairness", run_id=run.pk
    )
    assert evidence.kind == "validation_run" and evidence.validation_run_id == run.pk
    with pytest.raises(ValidationFailed):
        services.evidence_add_validation_run(
            obligation=obligation, actor=compliance_officer, validation_kind="fairness", run_id=run.pk
        )


def test_assigning_an_owner_from_another_organisation_is_refused(obligation, compliance_officer, outsider):
    with pytest.raises(ValidationFailed):
        services.obligation_assign(
            obligation=obligation, actor=compliance_officer, owner=outsider, due_date=None, evidence_max_age_days=30
        )


def test_only_a_compliance_officer_assigns_and_it_is_audited(obligation, ml_engineer, compliance_officer):
    with pytest.raises(NotAllowed):
        services.obligation_assign(
            obligation=obligation, actor=ml_engineer, owner=ml_engineer, due_date=None, evidence_max_age_days=30
        )
    services.obligation_assign(
        obligation=obligation,
        actor=compliance_officer,
        owner=ml_engineer,
        due_date=date(2026, 5, 1),
        evidence_max_age_days=30,
    )
    event = events("obligation.assigned").get()
    assert event.after == {"owner": "mia", "due_date": "2026-05-01", "evidence_max_age_days": 30}


def test_stale_evidence_sends_an_accepted_obligation_back_to_needs_rework(obligation, ml_engineer, compliance_officer):
    obligation = _walk_to_submitted(obligation, ml_engineer, compliance_officer)
    services.obligation_transition(obligation=obligation, to_status="accepted", actor=compliance_officer)
    old = timezone.now() - timedelta(days=obligation.evidence_max_age_days + 1)
    Evidence.objects.filter(obligation=obligation).update(dated_at=old)
    assert services.evidence_staleness_sweep() == [obligation.pk]
    obligation.refresh_from_db()
    assert obligation.status == "needs_rework"
    assert events("obligation.evidence_stale").filter(object_id=str(obligation.pk)).count() == 1
    assert services.evidence_staleness_sweep() == []  # a second run finds nothing more


def test_fresh_evidence_is_left_alone_by_the_sweep(obligation, ml_engineer, compliance_officer):
    _walk_to_submitted(obligation, ml_engineer, compliance_officer)
    assert services.evidence_staleness_sweep() == []


def test_the_celery_task_runs_the_sweep(obligation, ml_engineer, compliance_officer):
    from governance.tasks import evidence_staleness_sweep

    obligation = _walk_to_submitted(obligation, ml_engineer, compliance_officer)
    Evidence.objects.filter(obligation=obligation).update(dated_at=timezone.now() - timedelta(days=400))
    assert evidence_staleness_sweep.name == "governance.evidence_staleness_sweep"
    assert evidence_staleness_sweep.apply().get() == {"moved": [obligation.pk]}


def test_moving_an_application_date_moves_the_obligations_and_is_audited(approved, credit_system):
    from core.models import User

    staff = User.objects.create(username="staff", is_staff=True, is_superuser=True)
    services.application_date_change(
        key="annex_iii", applies_from=date(2027, 12, 2), actor=staff, note="Digital Omnibus, OJ L ..."
    )
    assert Obligation.objects.get(system=credit_system, article="Art. 9").applies_from == date(2027, 12, 2)
    assert Obligation.objects.get(system=credit_system, article="Art. 4").applies_from == date(2025, 2, 2)
    assert events("application_date.changed").get().after["obligations"] == 18


def test_an_obligation_that_no_longer_applies_cannot_be_worked_on(obligation, compliance_officer):
    Obligation.objects.filter(pk=obligation.pk).update(applicable=False)
    obligation.refresh_from_db()
    with pytest.raises(Conflict):
        services.obligation_transition(obligation=obligation, to_status="in_progress", actor=compliance_officer)
