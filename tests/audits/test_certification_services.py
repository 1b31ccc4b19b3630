"""Certification services: submission, separation of duties, triage, sign-off, certificates and
automatic suspension, through the real services and database."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from audits.certification import certificates as certs
from audits.certification import services as svc
from audits.certification.choices import SUBMISSION_TRANSITIONS, SubmissionStatus
from audits.certification.freeze import results_digest
from audits.certification.models import Certificate, Submission
from audits.certification.signing import verify_document
from audits.certification.transitions import submission_move
from core.errors import Conflict, NotAllowed, ValidationFailed
from core.models import AuditEvent
from tests.audits.certification_support import PASSWORD, decide_all, make_certifiable
from tests.audits.validation_support import finish_with_results, sample_result

pytestmark = pytest.mark.django_db


def verbs_of(submission) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="audits.submission", object_id=str(submission.pk))
        .order_by("seq")
        .values_list("verb", flat=True)
    )


# --- transition table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old,new",
    [(o, n) for o, n in itertools.product(SubmissionStatus.values, repeat=2) if n not in SUBMISSION_TRANSITIONS[o]],
)
def test_every_move_outside_the_transition_table_is_refused_with_a_clear_error(submission, ml_engineer, old, new):
    Submission.objects.filter(pk=submission.pk).update(status=old)
    submission.refresh_from_db()
    with pytest.raises(Conflict) as error:
        submission_move(submission, new, actor=ml_engineer)
    assert error.value.code == "invalid_transition"
    assert "cannot become" in error.value.message
    submission.refresh_from_db()
    assert submission.status == old


def test_the_transition_table_leads_from_submission_to_every_end_state():
    reachable, frontier = {"draft"}, ["draft"]
    while frontier:
        for nxt in SUBMISSION_TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(SubmissionStatus.values)


# --- submitting ---------------------------------------------------------------------------------


def test_submitting_freezes_the_model_dataset_and_result_hashes_and_the_classification(submission, certifiable):
    frozen = submission.frozen
    assert submission.status == "submitted"
    assert frozen["model"]["sha256"] == certifiable.version.artifact.sha256
    assert {d["sha256"] for d in frozen["datasets"]} == {
        certifiable.test.artifact.sha256,
        certifiable.train.artifact.sha256,
    }
    assert frozen["validation"]["results_sha256"] == results_digest(certifiable.run)
    assert frozen["classification"]["risk_tier"] == "high"
    assert len(submission.frozen_sha256) == 64
    assert verbs_of(submission) == ["submission.created", "submission.frozen", "submission.submitted"]


def test_a_system_without_an_approved_classification_cannot_be_submitted(ml_engineer, compliance_officer):
    from governance.services import determination_mark_needs_review

    ready = make_certifiable(ml_engineer, compliance_officer)
    determination_mark_needs_review(system=ready.system, reason="Intended purpose changed.")
    with pytest.raises(ValidationFailed) as error:
        svc.submission_create(actor=ml_engineer, model_version=ready.version)
    assert "approved EU AI Act classification" in error.value.message
    assert not Submission.objects.exists()


def test_a_high_risk_system_needs_the_full_suite(ml_engineer, compliance_officer):
    from audits.validation.services import validation_start

    ready = make_certifiable(ml_engineer, compliance_officer)
    ready.run.__class__.objects.filter(pk=ready.run.pk).update(suite="quick")
    with pytest.raises(ValidationFailed) as error:
        svc.submission_create(actor=ml_engineer, model_version=ready.version)
    assert "full suite" in error.value.message
    run = validation_start(actor=ml_engineer, model_version=ready.version, test_dataset=ready.test, suite="full")
    finish_with_results(run, [sample_result("PERF-04", "pass")])
    assert svc.submission_create(actor=ml_engineer, model_version=ready.version).validation_run == run


def test_a_prohibited_system_cannot_be_submitted(ml_engineer, compliance_officer):
    from tests.governance.rules.helpers import complete

    ready = make_certifiable(
        ml_engineer,
        compliance_officer,
        answers=complete(roles=["provider"], art5_c_social_scoring="yes", art5_c_unrelated_context="yes"),
    )
    assert ready.determination.effective_risk_tier == "prohibited"
    with pytest.raises(ValidationFailed) as error:
        svc.submission_create(actor=ml_engineer, model_version=ready.version)
    assert "prohibited" in error.value.message


def test_only_ml_engineers_submit(certifiable, auditor):
    with pytest.raises(NotAllowed):
        svc.submission_create(actor=auditor, model_version=certifiable.version)


def test_a_version_cannot_be_submitted_twice_while_one_is_in_progress(submission, certifiable, ml_engineer):
    with pytest.raises(ValidationFailed) as error:
        svc.submission_create(actor=ml_engineer, model_version=certifiable.version)
    assert "already has a submission" in error.value.message


# --- separation of duties -------------------------------------------------------------------------


def test_the_submitter_cannot_be_assigned_to_review(submission, org_admin, ml_engineer):
    with pytest.raises(NotAllowed) as error:
        svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=ml_engineer)
    assert error.value.code == "separation_of_duties"


def test_the_uploader_of_the_version_cannot_review_it_even_as_an_auditor(submission, org_admin, auditor):
    type(submission.model_version).objects.filter(pk=submission.model_version_id).update(uploaded_by=auditor)
    submission.refresh_from_db()
    with pytest.raises(NotAllowed) as error:
        svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=auditor)
    assert "uploaded this model version" in error.value.message


def test_a_reviewer_who_declares_a_conflict_is_blocked(in_review, auditor, org_admin):
    finding = in_review.validation_run.findings.get(check_id="PERF-01")
    svc.conflict_declare(
        actor=auditor, system=in_review.system, person=auditor, reason="My spouse leads the team that built this model."
    )
    with pytest.raises(NotAllowed):
        svc.finding_decide(actor=auditor, submission=in_review, finding=finding, decision="escalate")
    assert not in_review.assignments.get(reviewer=auditor).active
    with pytest.raises(NotAllowed) as error:
        svc.reviewer_assign(actor=org_admin, submission=in_review, reviewer=auditor)
    assert "conflict of interest" in error.value.message


def test_one_person_cannot_give_both_approvals_of_a_high_risk_system(in_review, auditor, second_auditor, org_admin):
    decide_all(in_review, auditor)
    svc.reviewer_assign(actor=org_admin, submission=in_review, reviewer=second_auditor)
    svc.submission_sign(
        actor=auditor,
        submission=in_review,
        decision="approve",
        password=PASSWORD,
        reason="Reviewed every finding and the charts.",
    )
    with pytest.raises(Conflict) as again:
        svc.submission_sign(
            actor=auditor,
            submission=in_review,
            decision="approve",
            password=PASSWORD,
            reason="Signing a second time to get it through.",
        )
    assert again.value.code in ("second_approver_needed", "already_signed")
    with pytest.raises(Conflict) as same_role:
        svc.submission_sign(
            actor=second_auditor,
            submission=in_review,
            decision="approve",
            password=PASSWORD,
            reason="A second auditor instead of compliance.",
        )
    assert same_role.value.code == "second_approver_needed"
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    assert not Certificate.objects.exists()


def test_an_unassigned_auditor_cannot_decide_or_sign(submission, auditor):
    finding = submission.validation_run.findings.first()
    with pytest.raises(NotAllowed):
        svc.finding_decide(actor=auditor, submission=submission, finding=finding, decision="escalate")


# --- triage and sign-off ---------------------------------------------------------------------------


def test_sign_off_is_refused_while_a_critical_finding_has_no_decision(in_review, auditor):
    with pytest.raises(Conflict) as error:
        svc.submission_sign(
            actor=auditor,
            submission=in_review,
            decision="approve",
            password=PASSWORD,
            reason="Looks fine to me overall.",
        )
    assert error.value.code == "critical_undecided"
    assert "PERF-01" in error.value.message


def test_sign_off_needs_the_signers_password_and_a_reason(in_review, auditor):
    decide_all(in_review, auditor)
    with pytest.raises(NotAllowed) as wrong:
        svc.submission_sign(
            actor=auditor, submission=in_review, decision="approve", password="guess", reason="Reviewed every finding."
        )
    assert wrong.value.code == "reauth_failed"
    with pytest.raises(ValidationFailed):
        svc.submission_sign(actor=auditor, submission=in_review, decision="approve", password=PASSWORD, reason="ok")
    assert not in_review.signoffs.exists()


def test_accepting_a_risk_needs_a_justification_and_moves_the_finding(in_review, auditor):
    finding = in_review.validation_run.findings.get(check_id="PERF-01")
    with pytest.raises(ValidationFailed):
        svc.finding_decide(actor=auditor, submission=in_review, finding=finding, decision="accept_risk")
    svc.finding_decide(
        actor=auditor,
        submission=in_review,
        finding=finding,
        decision="accept_risk",
        justification="Compensated by a human review of every rejection.",
    )
    finding.refresh_from_db()
    assert finding.status == "accepted"
    assert AuditEvent.objects.filter(verb="finding.decided", object_id=str(finding.pk)).exists()


def test_a_high_risk_system_is_certified_after_an_auditor_and_a_compliance_officer_approve(
    high_risk_approved, ml_engineer
):
    certificate = high_risk_approved.certificate
    assert high_risk_approved.status == "approved"
    assert {s.signer_role for s in high_risk_approved.signoffs.all()} == {"auditor", "compliance_officer"}
    payload = certificate.document["payload"]
    assert payload["hashes"]["model_sha256"] == high_risk_approved.frozen["model"]["sha256"]
    assert payload["hashes"]["results_sha256"] == high_risk_approved.frozen["validation"]["results_sha256"]
    assert len(payload["signers"]) == 2 and payload["risk_tier"] == "high"
    assert verify_document(certificate.document).ok
    assert "certificate.issued" in AuditEvent.objects.values_list("verb", flat=True)


def test_a_minimal_risk_system_needs_one_reviewers_approval(minimal_certifiable, ml_engineer, org_admin, auditor):
    submission = svc.submission_create(actor=ml_engineer, model_version=minimal_certifiable.version)
    svc.reviewer_assign(actor=org_admin, submission=submission, reviewer=auditor)
    decide_all(submission, auditor, decision="false_positive")
    svc.submission_sign(
        actor=auditor,
        submission=submission,
        decision="approve",
        password=PASSWORD,
        reason="Minimal risk; all findings explained.",
    )
    submission.refresh_from_db()
    assert submission.status == "approved"
    assert submission.certificate.valid_until == timezone.localdate() + timedelta(days=365)


def test_a_rejection_ends_the_submission_without_a_certificate(in_review, auditor, compliance_officer):
    decide_all(in_review, auditor)
    svc.submission_sign(
        actor=auditor, submission=in_review, decision="approve", password=PASSWORD, reason="I think it can go live."
    )
    svc.submission_sign(
        actor=compliance_officer,
        submission=in_review,
        decision="reject",
        password=PASSWORD,
        reason="Bias against applicants over 60 is not mitigated.",
    )
    svc.dissent_record(
        actor=auditor,
        submission=in_review,
        opinion="I disagree: the bias is within the four-fifths band for every group.",
    )
    in_review.refresh_from_db()
    assert in_review.status == "rejected"
    assert not Certificate.objects.exists()
    assert in_review.dissents.get().author == auditor
    assert "submission.dissent_recorded" in verbs_of(in_review)


def test_approval_with_conditions_records_each_condition_and_the_validity(
    in_review, auditor, compliance_officer, ml_engineer
):
    decide_all(in_review, auditor)
    until = timezone.localdate() + timedelta(days=180)
    with pytest.raises(ValidationFailed):
        svc.submission_sign(
            actor=auditor,
            submission=in_review,
            decision="approve_with_conditions",
            password=PASSWORD,
            reason="Fine once monitoring is in place.",
            valid_until=until,
        )
    svc.submission_sign(
        actor=auditor,
        submission=in_review,
        decision="approve_with_conditions",
        password=PASSWORD,
        reason="Fine once monitoring is in place.",
        valid_until=until,
        conditions=[
            {
                "text": "Set up drift monitoring",
                "owner": ml_engineer.pk,
                "due_date": (timezone.localdate() + timedelta(days=30)).isoformat(),
            }
        ],
    )
    svc.submission_sign(
        actor=compliance_officer,
        submission=in_review,
        decision="approve",
        password=PASSWORD,
        reason="Obligations are covered.",
    )
    in_review.refresh_from_db()
    assert in_review.status == "approved_with_conditions"
    payload = in_review.certificate.document["payload"]
    assert payload["valid_until"] == until.isoformat()
    assert payload["conditions"][0]["text"] == "Set up drift monitoring"


def test_a_stale_form_cannot_overwrite_a_newer_change(in_review, auditor):
    decide_all(in_review, auditor)
    stale = in_review.lock_version - 1
    with pytest.raises(Conflict) as error:
        svc.submission_sign(
            actor=auditor,
            submission=in_review,
            decision="approve",
            password=PASSWORD,
            reason="Reviewed all of it.",
            expected_version=stale,
        )
    assert error.value.code == "stale"


def test_a_second_certificate_for_the_same_submission_is_refused_by_the_database(high_risk_approved, auditor):
    with pytest.raises(Conflict) as error:
        certs.certificate_issue(submission=high_risk_approved, actor=auditor)
    assert error.value.code == "already_certified"
    assert Certificate.objects.count() == 1


def test_requesting_changes_and_a_new_version_carry_the_open_points_forward(in_review, auditor, ml_engineer, org_admin):
    from models_registry.services import model_version_register
    from tests.audits.validation_support import FEATURES, credit_frame, credit_model, model_bytes, uploaded

    finding = in_review.validation_run.findings.get(check_id="PERF-01")
    svc.finding_decide(
        actor=auditor,
        submission=in_review,
        finding=finding,
        decision="require_mitigation",
        justification="Recall for the minority class is too low.",
    )
    svc.finding_comment_add(actor=auditor, submission=in_review, finding=finding, body="Please rebalance.")
    svc.submission_request_changes(actor=auditor, submission=in_review, reason="Fix PERF-01 before approval.")
    in_review.refresh_from_db()
    assert in_review.status == "changes_requested"
    version = model_version_register(
        actor=ml_engineer,
        system=in_review.system,
        version_label="1.1.0",
        file=uploaded("credit.joblib", model_bytes(credit_model(credit_frame(300, 5)))),
        framework="sklearn",
        task="binary",
        feature_columns=FEATURES,
    )
    from audits.validation.services import validation_start

    run = validation_start(
        actor=ml_engineer, model_version=version, test_dataset=in_review.validation_run.test_dataset, suite="full"
    )
    finish_with_results(run, [sample_result("PERF-04", "pass")])
    follower = svc.submission_create(actor=ml_engineer, model_version=version)
    assert follower.previous == in_review
    assert follower.carried_points[0]["check_id"] == "PERF-01"
    assert follower.carried_points[0]["comments"] == 1


def test_comments_are_threaded_and_a_reply_stays_on_its_finding(in_review, auditor, ml_engineer):
    finding = in_review.validation_run.findings.get(check_id="FAIR-02")
    question = svc.finding_comment_add(
        actor=auditor, submission=in_review, finding=finding, body="Which groups drive the gap?"
    )
    answer = svc.finding_comment_add(
        actor=ml_engineer,
        submission=in_review,
        finding=finding,
        body="Applicants over 60; see the slice chart.",
        parent=question,
    )
    assert answer.parent == question
    other = in_review.validation_run.findings.get(check_id="PERF-01")
    with pytest.raises(ValidationFailed):
        svc.finding_comment_add(actor=ml_engineer, submission=in_review, finding=other, body="x", parent=question)


def test_comment_notifications_reach_the_other_side_once_committed(
    in_review, auditor, ml_engineer, django_capture_on_commit_callbacks
):
    from core.models import Notification

    finding = in_review.validation_run.findings.get(check_id="FAIR-02")
    with django_capture_on_commit_callbacks(execute=True):
        svc.finding_comment_add(
            actor=auditor, submission=in_review, finding=finding, body="Which groups drive the gap?"
        )
    assert Notification.objects.filter(recipient=ml_engineer, kind="finding.commented").exists()
    assert not Notification.objects.filter(recipient=auditor, kind="finding.commented").exists()


# --- certificates: suspension, reinstatement, revocation, expiry ---------------------------------


def test_registering_a_new_version_suspends_the_certificate_with_an_audit_event(high_risk_approved, ml_engineer):
    from models_registry.services import model_version_register
    from tests.audits.validation_support import FEATURES, credit_frame, credit_model, model_bytes, uploaded

    model_version_register(
        actor=ml_engineer,
        system=high_risk_approved.system,
        version_label="2.0.0",
        file=uploaded("credit.joblib", model_bytes(credit_model(credit_frame(300, 9)))),
        framework="sklearn",
        task="binary",
        feature_columns=FEATURES,
    )
    certificate = Certificate.objects.get()
    assert certificate.status == "suspended"
    assert "2.0.0" in certificate.status_reason
    high_risk_approved.refresh_from_db()
    assert high_risk_approved.status == "suspended"
    assert AuditEvent.objects.filter(verb="certificate.suspended").exists()


def test_a_classification_needing_review_suspends_the_certificate(high_risk_approved):
    from governance.services import determination_mark_needs_review

    determination_mark_needs_review(system=high_risk_approved.system, reason="Deployment context changed.")
    assert Certificate.objects.get().status == "suspended"


def test_an_overdue_condition_suspends_the_certificate_and_reinstating_needs_it_met(
    in_review, auditor, compliance_officer, ml_engineer
):
    decide_all(in_review, auditor)
    svc.submission_sign(
        actor=auditor,
        submission=in_review,
        decision="approve_with_conditions",
        password=PASSWORD,
        reason="Fine once monitoring is in place.",
        valid_until=timezone.localdate() + timedelta(days=200),
        conditions=[
            {"text": "Drift monitoring", "owner": ml_engineer.pk, "due_date": timezone.localdate() + timedelta(days=10)}
        ],
    )
    svc.submission_sign(
        actor=compliance_officer,
        submission=in_review,
        decision="approve",
        password=PASSWORD,
        reason="Obligations are covered.",
    )
    reminded = certs.conditions_sweep()
    assert reminded["reminded"] and not reminded["overdue"]
    swept = certs.conditions_sweep(today=timezone.localdate() + timedelta(days=11))
    assert len(swept["overdue"]) == 1
    certificate = Certificate.objects.get()
    assert certificate.status == "suspended" and "overdue" in certificate.status_reason
    with pytest.raises(Conflict):
        certs.certificate_reinstate(actor=compliance_officer, certificate=certificate, reason="Monitoring is live now.")
    condition = in_review.conditions.get()
    certs.condition_mark_met(actor=ml_engineer, condition=condition, note="Dashboards live since Monday.")
    certs.certificate_reinstate(actor=compliance_officer, certificate=certificate, reason="Monitoring is live now.")
    certificate.refresh_from_db()
    in_review.refresh_from_db()
    assert certificate.status == "valid" and in_review.status == "approved_with_conditions"


def test_revoking_is_for_certificate_managers_and_is_final(high_risk_approved, auditor, compliance_officer):
    certificate = high_risk_approved.certificate
    with pytest.raises(NotAllowed):
        certs.certificate_revoke(actor=auditor, certificate=certificate, reason="I changed my mind about it.")
    certs.certificate_revoke(actor=compliance_officer, certificate=certificate, reason="Model withdrawn from use.")
    with pytest.raises(Conflict):
        certs.certificate_reinstate(actor=compliance_officer, certificate=certificate, reason="Back in use again.")
    high_risk_approved.refresh_from_db()
    assert high_risk_approved.status == "revoked"


def test_a_certificate_past_its_end_date_reads_expired_and_the_sweep_records_it(high_risk_approved):
    certificate = high_risk_approved.certificate
    later = certificate.valid_until + timedelta(days=1)
    assert certs.effective_status(certificate, today=later) == "expired"
    assert certs.certificates_expire_sweep(today=later) == {"expired": [str(certificate.pk)]}
    certificate.refresh_from_db()
    assert certificate.status == "expired"


def test_every_step_of_the_journey_is_in_the_audit_trail(high_risk_approved):
    verbs = verbs_of(high_risk_approved)
    for verb in (
        "submission.created",
        "submission.frozen",
        "submission.submitted",
        "submission.reviewer_assigned",
        "submission.review_started",
        "submission.signed",
        "submission.approved",
    ):
        assert verb in verbs


def test_submission_numbers_come_from_the_organisations_counter_and_continue_after_existing_ones(
    submission, minimal_certifiable, ml_engineer, outsider
):
    from audits.certification.models import SubmissionCounter

    assert submission.number == 1
    assert SubmissionCounter.objects.get(organisation=ml_engineer.organisation).last_number == 1
    # An organisation whose submissions predate the counter (its row is missing) continues after them.
    SubmissionCounter.objects.all().delete()
    Submission.objects.filter(pk=submission.pk).update(number=7)
    assert svc.submission_create(actor=ml_engineer, model_version=minimal_certifiable.version).number == 8
    assert SubmissionCounter.objects.get(organisation=ml_engineer.organisation).last_number == 8
    assert not SubmissionCounter.objects.filter(organisation=outsider.organisation).exists()
