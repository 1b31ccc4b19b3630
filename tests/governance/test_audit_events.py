"""Meta-test: every state-changing governance service writes an audit event in its transaction."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import AuditEvent
from governance import services
from governance.models import Evidence
from tests.governance.conftest import CREDIT_SCORING, MINIMAL, make_model_version, make_validation_run

pytestmark = pytest.mark.django_db


def _verbs_written(action) -> list[str]:
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    action()
    return list(AuditEvent.objects.filter(id__gt=last).order_by("id").values_list("verb", flat=True))


def test_every_mutating_governance_service_writes_an_audit_event(credit_system, ml_engineer, compliance_officer):
    from core.models import User

    s = services
    staff = User.objects.create(username="staff", is_staff=True)
    holder = {}

    def submit():
        holder["d"] = s.determination_submit(system=credit_system, actor=ml_engineer, answers=CREDIT_SCORING)

    def approve():
        s.determination_approve(determination=holder["d"], actor=compliance_officer)
        holder["o"] = credit_system.obligations.get(article="Art. 10")

    def override():
        d = s.determination_submit(system=credit_system, actor=ml_engineer, answers=MINIMAL)
        s.determination_override(
            determination=d,
            actor=compliance_officer,
            outcome="high_risk_annex_iii",
            justification="Legal review says this is Annex III 5(b).",
        )

    def stale():
        Evidence.objects.update(dated_at=timezone.now() - timedelta(days=999))
        s.evidence_staleness_sweep()

    version = make_model_version(credit_system, ml_engineer)
    run = make_validation_run(credit_system, ml_engineer)
    steps = [
        (submit, "classification.submitted"),
        (approve, "classification.approved"),
        (
            lambda: s.obligation_assign(
                obligation=holder["o"],
                actor=compliance_officer,
                owner=ml_engineer,
                due_date=date(2026, 12, 1),
                evidence_max_age_days=30,
            ),
            "obligation.assigned",
        ),
        (
            lambda: s.obligation_transition(obligation=holder["o"], to_status="in_progress", actor=ml_engineer),
            "obligation.status_changed",
        ),
        (
            lambda: s.evidence_add_document(
                obligation=holder["o"], actor=ml_engineer, uploaded_file=SimpleUploadedFile("a.txt", b"a")
            ),
            "obligation.evidence_added",
        ),
        (  # the first evidence submits the obligation, as a status change of its own
            lambda: s.evidence_add_document(
                obligation=credit_system.obligations.get(article="Art. 9"),
                actor=compliance_officer,
                uploaded_file=SimpleUploadedFile("b.txt", b"b"),
            ),
            "obligation.status_changed",
        ),
        (
            lambda: s.evidence_add_model_card(obligation=holder["o"], actor=ml_engineer, model_version=version),
            "obligation.evidence_added",
        ),
        (
            lambda: s.evidence_add_validation_run(
                obligation=holder["o"], actor=ml_engineer, validation_kind="validation_run:fairness", run_id=run.pk
            ),
            "obligation.evidence_added",
        ),
        (
            # adding evidence submitted it; the officer accepts it
            lambda: s.obligation_transition(obligation=holder["o"], to_status="accepted", actor=compliance_officer),
            "obligation.status_changed",
        ),
        (
            lambda: s.obligation_bulk_assign(
                obligation_ids=[holder["o"].pk], actor=compliance_officer, plan_date=date(2027, 3, 1)
            ),
            "obligation.assigned",
        ),
        (
            lambda: s.obligation_settings_update(actor=compliance_officer, plan_lead_days=60),
            "obligation.settings_changed",
        ),
        (stale, "obligation.evidence_stale"),
        (override, "classification.overridden"),
        (
            lambda: s.determination_mark_needs_review(system=credit_system, reason="purpose changed"),
            "classification.needs_review",
        ),
        (
            lambda: s.application_date_change(key="annex_iii", applies_from=date(2027, 12, 2), actor=staff),
            "application_date.changed",
        ),
    ]
    for action, verb in steps:
        assert verb in _verbs_written(action), verb
