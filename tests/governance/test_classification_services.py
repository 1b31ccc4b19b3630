"""Submitting, approving and overriding classifications."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, NotAllowed, ValidationFailed
from governance import services
from governance.choices import DeterminationStatus
from governance.models import ClassificationDraft, Determination, Obligation
from governance.rules import RULES_VERSION
from tests.governance.conftest import CHATBOT, CREDIT_SCORING, MINIMAL, events
from tests.governance.rules.helpers import area, complete

pytestmark = pytest.mark.django_db

CREDIT_SCORING_PROVIDER_ARTICLES = {
    "Art. 4",
    "Art. 9",
    "Art. 10",
    "Art. 11",
    "Art. 12",
    "Art. 13",
    "Art. 14",
    "Art. 15",
    "Art. 16",
    "Art. 17",
    "Art. 18",
    "Art. 19",
    "Art. 20",
    "Art. 43",
    "Art. 47",
    "Art. 48",
    "Art. 49(1)",
    "Art. 72",
    "Art. 73",
}


def test_an_ml_engineer_saves_a_draft_and_resumes_it_later(credit_system, ml_engineer):
    services.classification_draft_save(system=credit_system, answers={"is_ai_system": "yes"}, actor=ml_engineer)
    services.classification_draft_save(
        system=credit_system, answers={"is_ai_system": "yes", "eu_nexus": "yes"}, actor=ml_engineer
    )
    draft = ClassificationDraft.objects.get(system=credit_system)
    assert draft.answers == {"is_ai_system": "yes", "eu_nexus": "yes"}
    assert draft.updated_by == ml_engineer


def test_a_draft_with_an_unknown_question_or_an_invalid_answer_is_refused_with_the_reason(credit_system, ml_engineer):
    with pytest.raises(ValidationFailed) as excinfo:
        services.classification_draft_save(
            system=credit_system, actor=ml_engineer, answers={"is_ai_system": "perhaps", "favourite_colour": "blue"}
        )
    assert excinfo.value.code == "invalid_answers"
    assert "is_ai_system" in excinfo.value.message
    assert excinfo.value.extra["unknown_question_ids"] == ["favourite_colour"]


def test_an_auditor_cannot_fill_in_the_questionnaire(credit_system, auditor):
    with pytest.raises(NotAllowed):
        services.classification_draft_save(system=credit_system, answers={}, actor=auditor)


def test_submitting_stores_the_answers_the_result_the_rules_version_and_who_answered(credit_system, ml_engineer):
    services.classification_draft_save(system=credit_system, answers=CREDIT_SCORING, actor=ml_engineer)
    determination = services.determination_submit(system=credit_system, actor=ml_engineer)
    assert determination.number == 1
    assert determination.status == DeterminationStatus.SUBMITTED
    assert determination.answers == CREDIT_SCORING
    assert determination.rules_version == RULES_VERSION
    assert determination.outcome == "high_risk_annex_iii"
    assert determination.result["annex_iii_points"] == ["5(b)"]
    assert determination.answered_by == ml_engineer and determination.submitted_by == ml_engineer
    assert events("classification.submitted").filter(object_id=str(determination.pk)).count() == 1


def test_submitting_without_any_answers_is_refused(credit_system, ml_engineer):
    with pytest.raises(ValidationFailed) as excinfo:
        services.determination_submit(system=credit_system, actor=ml_engineer)
    assert excinfo.value.code == "no_answers"


def test_a_new_submission_supersedes_the_one_still_awaiting_approval(submitted, credit_system, ml_engineer):
    newer = services.determination_submit(system=credit_system, actor=ml_engineer, answers=CREDIT_SCORING)
    submitted.refresh_from_db()
    assert submitted.status == DeterminationStatus.SUPERSEDED
    assert newer.number == 2 and newer.status == DeterminationStatus.SUBMITTED


def test_approval_sets_the_risk_tier_and_derives_the_credit_scoring_obligations_with_their_dates(
    submitted, compliance_officer, credit_system
):
    determination = services.determination_approve(determination=submitted, actor=compliance_officer)
    credit_system.refresh_from_db()
    assert determination.status == DeterminationStatus.APPROVED
    assert determination.approved_by == compliance_officer and determination.approved_at is not None
    assert credit_system.risk_tier == "high"
    obligations = Obligation.objects.filter(system=credit_system)
    assert set(obligations.values_list("article", flat=True)) == CREDIT_SCORING_PROVIDER_ARTICLES
    assert obligations.get(article="Art. 4").applies_from == date(2025, 2, 2)
    assert obligations.get(article="Art. 10").applies_from == date(2026, 8, 2)
    assert obligations.get(article="Art. 15").evidence_max_age_days == 90
    # Plan dates, not legal dates: 90 days from today for a duty that already applies, the legal date when later.
    lead = timezone.localdate() + timedelta(days=90)
    assert all(o.due_date == max(o.applies_from, lead) and o.status == "not_started" for o in obligations)
    assert events("classification.approved").count() == 1
    assert events("obligation.derived").count() == 1


def test_obligation_dates_follow_the_application_dates_table(submitted, compliance_officer, credit_system):
    from governance.models import ApplicationDate

    ApplicationDate.objects.filter(key="annex_iii").update(applies_from=date(2027, 12, 2))
    services.determination_approve(determination=submitted, actor=compliance_officer)
    assert Obligation.objects.get(system=credit_system, article="Art. 9").applies_from == date(2027, 12, 2)
    assert Obligation.objects.get(system=credit_system, article="Art. 4").applies_from == date(2025, 2, 2)


def test_an_ml_engineer_cannot_approve(submitted, ml_engineer):
    with pytest.raises(NotAllowed):
        services.determination_approve(determination=submitted, actor=ml_engineer)
    submitted.refresh_from_db()
    assert submitted.status == DeterminationStatus.SUBMITTED


def test_an_incomplete_determination_can_be_submitted_but_not_approved(credit_system, ml_engineer, compliance_officer):
    partial = {"is_ai_system": "yes", "eu_nexus": "yes"}
    determination = services.determination_submit(system=credit_system, actor=ml_engineer, answers=partial)
    assert not determination.is_complete
    with pytest.raises(ValidationFailed) as excinfo:
        services.determination_approve(determination=determination, actor=compliance_officer)
    assert excinfo.value.code == "incomplete"
    assert "incomplete" in excinfo.value.message
    assert excinfo.value.extra["missing"]
    credit_system.refresh_from_db()
    assert credit_system.risk_tier == "unclassified"


def test_a_contradictory_determination_cannot_be_approved_until_resolved(
    credit_system, ml_engineer, compliance_officer
):
    contradictory = dict(CREDIT_SCORING, annex3_5b_fraud_detection_only="yes")
    determination = services.determination_submit(system=credit_system, actor=ml_engineer, answers=contradictory)
    assert determination.has_contradictions
    with pytest.raises(ValidationFailed) as excinfo:
        services.determination_approve(determination=determination, actor=compliance_officer)
    assert excinfo.value.code == "contradictory"
    assert excinfo.value.extra["contradictions"]


def test_nor_can_it_be_overridden(credit_system, ml_engineer, compliance_officer):
    determination = services.determination_submit(
        system=credit_system, actor=ml_engineer, answers={"is_ai_system": "yes"}
    )
    with pytest.raises(ValidationFailed):
        services.determination_override(
            determination=determination,
            actor=compliance_officer,
            outcome="minimal_risk",
            justification="A long enough justification here.",
        )


def test_a_determination_made_under_older_rules_must_be_resubmitted(submitted, compliance_officer):
    Determination.objects.filter(pk=submitted.pk).update(rules_version="2020.1-1")
    submitted.refresh_from_db()
    with pytest.raises(Conflict) as excinfo:
        services.determination_approve(determination=submitted, actor=compliance_officer)
    assert excinfo.value.code == "rules_outdated"


def test_an_approved_determination_cannot_be_approved_twice(approved, compliance_officer):
    with pytest.raises(Conflict) as excinfo:
        services.determination_approve(determination=approved, actor=compliance_officer)
    assert excinfo.value.code == "not_pending"


def test_an_override_without_a_written_justification_is_refused(submitted, compliance_officer):
    for justification in ("", "   ", "because"):
        with pytest.raises(ValidationFailed) as excinfo:
            services.determination_override(
                determination=submitted, actor=compliance_officer, outcome="minimal_risk", justification=justification
            )
        assert excinfo.value.code == "justification_required"
    submitted.refresh_from_db()
    assert submitted.status == DeterminationStatus.SUBMITTED


def test_an_override_is_kept_with_its_justification_and_drives_tier_and_obligations(
    credit_system, ml_engineer, compliance_officer
):
    determination = services.determination_submit(system=credit_system, actor=ml_engineer, answers=MINIMAL)
    reason = "Legal review: the scores feed a credit decision, treat as Annex III 5(b)."
    determination = services.determination_override(
        determination=determination, actor=compliance_officer, outcome="high_risk_annex_iii", justification=reason
    )
    credit_system.refresh_from_db()
    assert determination.is_overridden and determination.override_justification == reason
    assert determination.outcome == "minimal_risk" and determination.effective_outcome == "high_risk_annex_iii"
    assert credit_system.risk_tier == "high"
    assert Obligation.objects.filter(system=credit_system, article="Art. 9").exists()
    event = events("classification.overridden").get()
    assert event.reason == reason and event.after["risk_tier"] == "high"


def test_an_override_identical_to_the_result_is_refused(submitted, compliance_officer):
    with pytest.raises(ValidationFailed) as excinfo:
        services.determination_override(
            determination=submitted, actor=compliance_officer, outcome="high_risk_annex_iii", justification="x" * 30
        )
    assert excinfo.value.code == "override_same"


def test_only_a_compliance_officer_can_override(submitted, ml_engineer, auditor):
    for actor in (ml_engineer, auditor):
        with pytest.raises(NotAllowed):
            services.determination_override(
                determination=submitted,
                actor=actor,
                outcome="minimal_risk",
                justification="A long enough justification here.",
            )


def test_reapproval_supersedes_the_previous_determination_and_reconciles_obligations(
    approved, obligation, credit_system, ml_engineer, compliance_officer
):
    # Work already done on Art. 10 must survive a re-classification that still requires it.
    services.obligation_assign(
        obligation=obligation,
        actor=compliance_officer,
        owner=ml_engineer,
        due_date=date(2026, 6, 1),
        evidence_max_age_days=120,
    )
    services.obligation_transition(obligation=obligation, to_status="in_progress", actor=ml_engineer)
    both = dict(CREDIT_SCORING, roles=["provider", "deployer"], deployer_type="other")
    second = services.determination_submit(system=credit_system, actor=ml_engineer, answers=both)
    services.determination_approve(determination=second, actor=compliance_officer)
    approved.refresh_from_db()
    obligation.refresh_from_db()
    assert approved.status == DeterminationStatus.SUPERSEDED
    assert obligation.status == "in_progress" and obligation.owner == ml_engineer
    assert obligation.evidence_max_age_days == 120 and obligation.determination == second
    assert Obligation.objects.filter(system=credit_system, article="Art. 26").exists()

    # A third approval as a pure deployer: provider duties no longer apply but are kept.
    deployer_only = complete(
        roles=["deployer"],
        deployer_type="other",
        **area("essential_services", annex3_5b_creditworthiness="yes", art6_3_profiling="yes"),
    )
    third = services.determination_submit(system=credit_system, actor=ml_engineer, answers=deployer_only)
    services.determination_approve(determination=third, actor=compliance_officer)
    obligation.refresh_from_db()
    assert not obligation.applicable and obligation.status == "in_progress"
    assert Obligation.objects.filter(system=credit_system, article="Art. 26", applicable=True).exists()
    assert Determination.objects.filter(system=credit_system, status__in=["approved", "needs_review"]).count() == 1


def test_chatbot_is_classified_limited_with_art_50_duties(credit_system, ml_engineer, compliance_officer):
    determination = services.determination_submit(system=credit_system, actor=ml_engineer, answers=CHATBOT)
    services.determination_approve(determination=determination, actor=compliance_officer)
    credit_system.refresh_from_db()
    assert credit_system.risk_tier == "limited"
    assert Obligation.objects.filter(system=credit_system, article__startswith="Art. 50").exists()


def test_the_database_refuses_two_current_determinations_for_one_system(approved, credit_system, ml_engineer):
    second = Determination.objects.create(
        organisation=approved.organisation,
        system=credit_system,
        number=99,
        answers={},
        result={},
        rules_version=RULES_VERSION,
        outcome="minimal_risk",
        risk_tier="minimal",
        is_complete=True,
        has_contradictions=False,
        answered_by=ml_engineer,
        submitted_by=ml_engineer,
    )
    second.status, second.approved_by = DeterminationStatus.APPROVED, ml_engineer
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_the_database_refuses_an_override_without_justification(approved):
    with pytest.raises(IntegrityError), transaction.atomic():
        Determination.objects.filter(pk=approved.pk).update(override_outcome="minimal_risk")
