"""Recording, changing and treating risks: history, audit events, the status table, acceptance
against the appetite, system owners, raising a risk from another record, controls, the threat
model and review reminders."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core.errors import Conflict, NotAllowed, ValidationFailed
from governance.risks.models import Risk, RiskRevision
from governance.risks.services import (
    component_create,
    component_set_threats,
    control_update,
    risk_create_from_source,
    risk_review_reminders,
    risk_transition,
    risk_update,
    threat_create,
)
from tests.governance.conftest import events
from tests.governance.test_risk_support import control, credit_risk, make_risk  # noqa: F401

pytestmark = pytest.mark.django_db
JUSTIFICATION = "Compensating manual review of every decline until the retrain in Q1."


class TestHistory:
    def test_recording_a_risk_stores_revision_one_and_an_audit_event(self, credit_risk, compliance_officer):
        revision = credit_risk.revisions.get()
        assert (revision.number, revision.verb, revision.actor) == (1, "risk.created", compliance_officer)
        assert revision.snapshot["systems"] == ["Consumer credit scoring"] and revision.snapshot["inherent_score"] == 12
        event = events("risk.created").get()
        assert event.object_id == str(credit_risk.pk) and event.after["title"] == credit_risk.title
        assert credit_risk.reference == "R-1"

    def test_every_change_adds_a_revision_with_before_and_after(self, credit_risk, compliance_officer, control):
        risk_update(
            risk=credit_risk,
            actor=compliance_officer,
            reason="Controls assessed",
            changes={"residual_likelihood": 2, "residual_impact": 3, "controls": [control]},
        )
        revision = credit_risk.revisions.order_by("-number").first()
        assert revision.number == 2 and revision.reason == "Controls assessed"
        assert revision.changes["residual_score"] == [None, 6]
        assert revision.changes["controls"] == [[], ["Quarterly fairness review"]]
        event = events("risk.updated").get()
        assert event.before["residual_score"] is None and event.after["residual_score"] == 6
        assert event.reason == "Controls assessed"

    def test_a_change_that_changes_nothing_leaves_no_trace(self, credit_risk, compliance_officer):
        risk_update(risk=credit_risk, actor=compliance_officer, changes={"title": credit_risk.title})
        assert credit_risk.revisions.count() == 1 and not events("risk.updated").exists()

    def test_references_count_up_per_organisation(self, compliance_officer, credit_system, outsider, other_system):
        assert [make_risk(compliance_officer, [credit_system]).reference for _ in range(2)] == ["R-1", "R-2"]
        # The outsider registered other_system, so as its owner they may record risks on it.
        assert make_risk(outsider, [other_system]).reference == "R-1"

    def test_every_mutating_service_writes_an_audit_event(
        self, credit_risk, compliance_officer, control, credit_system
    ):
        control_update(control=control, actor=compliance_officer, changes={"effectiveness": "partial"})
        risk_transition(risk=credit_risk, actor=compliance_officer, to_status="in_treatment")
        threat = threat_create(
            actor=compliance_officer,
            code="vendor_drift",
            name="Vendor model drift",
            description="The vendor changes the model behind the API without notice.",
        )
        component = component_create(
            actor=compliance_officer, system=credit_system, kind="third_party_model", name="Scoring vendor API"
        )
        component_set_threats(actor=compliance_officer, component=component, threats=[threat])
        from core.models import AuditEvent

        verbs = set(AuditEvent.objects.values_list("verb", flat=True))
        assert {
            "risk.created",
            "control.created",
            "control.updated",
            "risk.status_changed",
            "threat.created",
            "threat_model.component_added",
            "threat_model.threats_changed",
        } <= verbs


class TestStatusTable:
    @pytest.mark.parametrize("path", [["in_treatment", "closed", "open"], ["closed", "open", "in_treatment"]])
    def test_allowed_moves_are_made_and_recorded(self, credit_risk, compliance_officer, path):
        for status in path:
            risk = risk_transition(risk=credit_risk, actor=compliance_officer, to_status=status)
            assert risk.status == status
        assert events("risk.status_changed").count() == len(path)

    def test_closing_stamps_the_date_and_reopening_clears_it(self, credit_risk, compliance_officer):
        assert risk_transition(risk=credit_risk, actor=compliance_officer, to_status="closed").closed_at is not None
        assert risk_transition(risk=credit_risk, actor=compliance_officer, to_status="open").closed_at is None

    def test_a_move_outside_the_table_is_refused(self, credit_risk, compliance_officer):
        risk_transition(risk=credit_risk, actor=compliance_officer, to_status="closed")
        with pytest.raises(Conflict) as caught:
            risk_transition(risk=credit_risk, actor=compliance_officer, to_status="in_treatment")
        assert caught.value.code == "illegal_transition"
        assert "cannot go from closed to in treatment" in caught.value.message


class TestAcceptance:
    def test_acceptance_without_justification_is_refused(self, credit_risk, compliance_officer):
        with pytest.raises(ValidationFailed) as caught:
            risk_transition(risk=credit_risk, actor=compliance_officer, to_status="accepted", justification="fine")
        assert caught.value.code == "acceptance_needs_justification"
        assert Risk.objects.get(pk=credit_risk.pk).status == "open"

    def test_a_compliance_officer_accepts_a_risk_above_appetite(self, credit_risk, compliance_officer):
        risk = risk_transition(
            risk=credit_risk, actor=compliance_officer, to_status="accepted", justification=JUSTIFICATION
        )
        assert (risk.status, risk.treatment, risk.accepted_by) == ("accepted", "accept", compliance_officer)
        event = events("risk.accepted").get()
        assert event.after["status"] == "accepted" and event.reason == JUSTIFICATION

    def test_the_owner_cannot_accept_a_risk_above_appetite(self, compliance_officer, ml_engineer, credit_system):
        risk = make_risk(compliance_officer, [credit_system], owner=ml_engineer, likelihood=4, impact=4)
        with pytest.raises(NotAllowed) as caught:
            risk_transition(risk=risk, actor=ml_engineer, to_status="accepted", justification=JUSTIFICATION)
        assert caught.value.code == "above_appetite" and "appetite of 9" in caught.value.message

    def test_the_owner_accepts_a_risk_within_appetite(self, compliance_officer, ml_engineer, credit_system):
        risk = make_risk(compliance_officer, [credit_system], owner=ml_engineer, likelihood=2, impact=4)
        assert (
            risk_transition(risk=risk, actor=ml_engineer, to_status="accepted", justification=JUSTIFICATION).accepted_by
            == ml_engineer
        )

    def test_residual_scores_decide_against_the_appetite(self, compliance_officer, ml_engineer, credit_system):
        risk = make_risk(
            compliance_officer,
            [credit_system],
            owner=ml_engineer,
            likelihood=5,
            impact=5,
            residual_likelihood=2,
            residual_impact=3,
        )
        assert (
            risk_transition(risk=risk, actor=ml_engineer, to_status="accepted", justification=JUSTIFICATION).status
            == "accepted"
        )
        with pytest.raises(NotAllowed):  # raising an accepted risk's score above the appetite
            risk_update(risk=risk, actor=ml_engineer, changes={"residual_likelihood": 4, "residual_impact": 4})

    def test_an_owner_still_edits_the_text_of_a_risk_a_compliance_officer_accepted(
        self, compliance_officer, ml_engineer, credit_system
    ):
        risk = make_risk(compliance_officer, [credit_system], owner=ml_engineer, likelihood=4, impact=4)
        risk_transition(risk=risk, actor=compliance_officer, to_status="accepted", justification=JUSTIFICATION)
        assert risk_update(risk=risk, actor=ml_engineer, changes={"description": "More detail"}).status == "accepted"

    def test_an_auditor_cannot_change_a_risk_they_do_not_own(self, credit_risk, auditor):
        with pytest.raises(NotAllowed):
            risk_update(risk=credit_risk, actor=auditor, changes={"title": "Mine now"})


class TestSystemOwners:
    def test_an_ml_engineer_records_risks_on_a_system_they_registered(self, ml_engineer, credit_system):
        assert credit_system.created_by == ml_engineer
        risk = make_risk(ml_engineer, [credit_system])
        assert risk.owner == ml_engineer and risk.created_by == ml_engineer

    def test_an_ml_engineer_cannot_record_risks_on_someone_elses_system(
        self, ml_engineer, compliance_officer, organisation
    ):
        from models_registry.models import AISystem

        foreign = AISystem.objects.create(
            organisation=organisation, name="Fraud detection", purpose="x", created_by=compliance_officer
        )
        with pytest.raises(NotAllowed):
            make_risk(ml_engineer, [foreign])

    def test_an_owner_cannot_hand_the_risk_to_someone_else(self, ml_engineer, credit_system, auditor):
        risk = make_risk(ml_engineer, [credit_system])
        with pytest.raises(NotAllowed):
            risk_update(risk=risk, actor=ml_engineer, changes={"owner": auditor})


class TestLinks:
    def test_systems_controls_and_obligations_must_be_the_organisations(
        self, compliance_officer, credit_system, other_system
    ):
        with pytest.raises(ValidationFailed) as caught:
            make_risk(compliance_officer, [credit_system, other_system])
        assert caught.value.code == "invalid_system"
        with pytest.raises(ValidationFailed) as caught:
            make_risk(compliance_officer, [])
        assert caught.value.code == "systems_required"

    def test_a_risk_links_to_the_obligations_it_bears_on(self, compliance_officer, credit_system, obligation):
        risk = make_risk(compliance_officer, [credit_system], obligations=[obligation])
        assert list(obligation.risks.all()) == [risk]
        assert risk.revisions.get().snapshot["obligations"] == [f"{obligation.article} (Consumer credit scoring)"]

    def test_an_obligation_of_another_system_is_refused(
        self, compliance_officer, credit_system, obligation, organisation
    ):
        from models_registry.models import AISystem

        second = AISystem.objects.create(
            organisation=organisation, name="Chatbot", purpose="x", created_by=compliance_officer
        )
        with pytest.raises(ValidationFailed) as caught:
            make_risk(compliance_officer, [second], obligations=[obligation])
        assert caught.value.code == "invalid_obligation"


class TestRaiseFromSource:
    REF = {
        "type": "audits.finding",
        "id": 42,
        "title": "FAIR-01: Approval rates differ by sex",
        "url": "/findings/?run=7",
        "severity": "critical",
    }

    def _raise(self, actor, system, **kwargs):
        return risk_create_from_source(
            actor=actor,
            system=system,
            title="Approval rates differ by sex",
            description="DP ratio 0.71",
            category="bias",
            source_ref=self.REF,
            severity="critical",
            **kwargs,
        )

    def test_a_finding_raises_a_risk_that_remembers_it(self, auditor, credit_system):
        risk = self._raise(auditor, credit_system)
        assert (risk.source, risk.source_type, risk.source_id) == ("validation_finding", "audits.finding", "42")
        assert risk.source_snapshot["url"] == "/findings/?run=7"
        assert (risk.likelihood, risk.impact) == (4, 5)  # provisional, from the severity
        assert risk.next_review_date == timezone.localdate() + timedelta(days=30)
        assert events("risk.raised_from_source").get().after["source_ref"] == {"type": "audits.finding", "id": "42"}

    def test_the_same_finding_does_not_raise_two_active_risks(self, auditor, credit_system, compliance_officer):
        first = self._raise(auditor, credit_system)
        with pytest.raises(Conflict) as caught:
            self._raise(auditor, credit_system)
        assert caught.value.extra["risk"] == first.pk
        risk_transition(risk=first, actor=compliance_officer, to_status="closed")
        assert self._raise(auditor, credit_system).reference == "R-2"

    def test_an_engineer_who_does_not_own_the_system_cannot_raise_one(
        self, organisation, compliance_officer, ml_engineer
    ):
        from models_registry.models import AISystem

        foreign = AISystem.objects.create(
            organisation=organisation, name="Fraud", purpose="x", created_by=compliance_officer
        )
        with pytest.raises(NotAllowed):
            self._raise(ml_engineer, foreign)


class TestControlsAndThreatModel:
    def test_controls_need_a_known_type_and_an_owner_of_the_organisation(self, compliance_officer, outsider):
        from governance.risks.services import control_create

        with pytest.raises(ValidationFailed) as caught:
            control_create(actor=compliance_officer, name="X", control_type="magic", owner=compliance_officer)
        assert caught.value.code == "invalid_control_type"
        with pytest.raises(ValidationFailed):
            control_create(actor=compliance_officer, name="X", control_type="preventive", owner=outsider)

    def test_control_names_are_unique_per_organisation(self, control, compliance_officer):
        from governance.risks.services import control_create

        with pytest.raises(Conflict):
            control_create(
                actor=compliance_officer,
                name="quarterly FAIRNESS review",
                control_type="detective",
                owner=compliance_officer,
            )

    def test_a_component_starts_with_the_library_threats_usual_for_its_kind(self, ml_engineer, credit_system):
        component = component_create(
            actor=ml_engineer, system=credit_system, kind="retrieval_store", name="Policy documents index"
        )
        codes = set(component.threats.values_list("code", flat=True))
        assert {"prompt_injection", "retrieval_poisoning", "sensitive_information_disclosure"} <= codes
        assert "data_poisoning" not in codes

    def test_the_threat_model_groups_risks_by_component_and_threat(self, compliance_officer, credit_system):
        from governance.risks.models import Threat
        from governance.risks.selectors import threat_model

        endpoint = component_create(
            actor=compliance_officer, system=credit_system, kind="serving_endpoint", name="Scoring API"
        )
        evasion = Threat.objects.get(code="evasion", organisation=None)
        risk = make_risk(
            compliance_officer,
            [credit_system],
            title="Crafted applications",
            category="security",
            threat=evasion,
            component=endpoint,
        )
        loose = make_risk(compliance_officer, [credit_system], title="Other")
        components, unplaced = threat_model(user=compliance_officer, system=credit_system)
        row = next(t for t in components[0]["threats"] if t["threat"] == evasion)
        assert row["risks"] == [risk] and unplaced == [loose]

    def test_the_built_in_library_covers_the_threats_the_security_team_asked_for(self):
        from governance.risks.models import Threat

        codes = set(Threat.objects.filter(organisation=None).values_list("code", flat=True))
        assert {
            "prompt_injection",
            "jailbreak",
            "data_poisoning",
            "model_inversion",
            "membership_inference",
            "model_theft",
            "supply_chain",
            "sensitive_information_disclosure",
            "excessive_agency",
            "insecure_output_handling",
            "denial_of_service",
        } <= codes
        assert all(t.description and t.typical_controls for t in Threat.objects.filter(organisation=None))

    def test_an_organisations_own_threat_is_not_seen_by_others(self, compliance_officer, outsider):
        from governance.risks.selectors import threat_library_list

        threat_create(actor=compliance_officer, code="vendor_drift", name="Vendor model drift", description="x")
        assert threat_library_list(user=compliance_officer).filter(code="vendor_drift").exists()
        assert not threat_library_list(user=outsider).filter(code="vendor_drift").exists()


class TestReviewReminders:
    def test_owners_hear_of_reviews_falling_due_once(self, compliance_officer, ml_engineer, credit_system):
        today = date(2030, 3, 1)
        due = make_risk(compliance_officer, [credit_system], owner=ml_engineer, next_review_date=date(2030, 3, 10))
        make_risk(compliance_officer, [credit_system], title="Later", next_review_date=date(2030, 6, 1))
        closed = make_risk(compliance_officer, [credit_system], title="Closed", next_review_date=date(2030, 3, 2))
        risk_transition(risk=closed, actor=compliance_officer, to_status="closed")
        from governance.risks.tasks import _send_reminder

        assert risk_review_reminders(today=today, send=_send_reminder) == [due.pk]
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [ml_engineer.email]
        assert "R-1" in mail.outbox[0].subject and f"/risks/{due.pk}/" in mail.outbox[0].body
        assert risk_review_reminders(today=today, send=_send_reminder) == []  # idempotent
        assert events("risk.review_reminder_sent").count() == 1

    def test_a_new_review_date_is_reminded_again(self, compliance_officer, credit_system):
        risk = make_risk(compliance_officer, [credit_system], next_review_date=date(2030, 3, 5))
        sent = []
        risk_review_reminders(today=date(2030, 3, 1), send=sent.append)
        risk_update(risk=risk, actor=compliance_officer, changes={"next_review_date": date(2030, 3, 12)})
        risk_review_reminders(today=date(2030, 3, 1), send=sent.append)
        assert [r.pk for r in sent] == [risk.pk, risk.pk]

    def test_one_reminder_that_fails_does_not_stop_the_others_and_is_retried_next_time(
        self, compliance_officer, credit_system
    ):
        first = make_risk(compliance_officer, [credit_system], next_review_date=date(2030, 3, 5))
        second = make_risk(compliance_officer, [credit_system], title="Drift", next_review_date=date(2030, 3, 6))
        sent = []

        def send(risk):
            if risk.pk == first.pk and not sent:
                raise ConnectionError("the mail relay refused the connection")
            sent.append(risk.pk)

        errors = []
        assert risk_review_reminders(today=date(2030, 3, 1), send=send, errors=errors) == [second.pk]
        assert errors == [{"risk": first.pk, "error": "ConnectionError: the mail relay refused the connection"}]
        first.refresh_from_db()
        assert first.review_reminded_for is None, "its stamp was rolled back with the failure"
        assert risk_review_reminders(today=date(2030, 3, 1), send=send) == [first.pk]
        assert events("risk.review_reminder_sent").count() == 2

    def test_a_risk_closed_between_the_scan_and_its_reminder_is_not_reminded(self, compliance_officer, credit_system):
        from django.db import connection

        risk = make_risk(compliance_officer, [credit_system], next_review_date=date(2030, 3, 5))
        fired = []

        def close_first(execute, sql, params, many, context):
            if not fired and sql.lstrip().upper().startswith("UPDATE") and '"governance_risk"' in sql:
                fired.append(sql)
                risk_transition(risk=Risk.objects.get(pk=risk.pk), actor=compliance_officer, to_status="closed")
            return execute(sql, params, many, context)

        sent = []
        with connection.execute_wrapper(close_first):
            assert risk_review_reminders(today=date(2030, 3, 1), send=sent.append) == []
        assert fired and sent == []

    def test_the_task_reports_reminders_that_failed(self, compliance_officer, credit_system, monkeypatch):
        from governance.risks import tasks

        make_risk(compliance_officer, [credit_system], next_review_date=timezone.localdate() + timedelta(days=3))

        def refuse(risk):
            raise ConnectionError("no route to the mail relay")

        monkeypatch.setattr(tasks, "_send_reminder", refuse)
        result = tasks.risk_review_reminders.apply().get()
        assert result["reminded"] == [] and result["errors"][0]["error"].startswith("ConnectionError")

    def test_the_task_runs_the_service(self, compliance_officer, credit_system, settings):
        from governance.risks.tasks import risk_review_reminders as task

        make_risk(compliance_officer, [credit_system], next_review_date=timezone.localdate() + timedelta(days=3))
        assert len(task.apply().get()["reminded"]) == 1
        assert task.name == "governance.risk_review_reminders"


def test_revisions_are_numbered_without_gaps(credit_risk, compliance_officer):
    for title in ("A", "B", "C"):
        risk_update(risk=credit_risk, actor=compliance_officer, changes={"title": title})
    assert list(RiskRevision.objects.filter(risk=credit_risk).values_list("number", flat=True)) == [4, 3, 2, 1]
