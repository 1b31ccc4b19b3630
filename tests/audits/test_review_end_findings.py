"""The end of a certification review leaves no stale open work (issue #13 item 4, the follow-up).

While a submission is in review its run's findings stay open even when a newer run of the same
version and suite has succeeded: the review decides them. When the review ends (approved, approved
with conditions, rejected), the findings it never decided and a newer run replaced are closed as
superseded through `validation_findings_supersede`, by the signer, one audit event each, in the
sign-off's transaction; the findings list, the home counts and the blockers then show only the
current work. A submission whose review ended lists no blockers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audits import selectors
from audits.certification import services as svc
from audits.certification.selectors import approval_blockers
from audits.validation.services import validation_start
from core.models import ApiToken, AuditEvent
from tests.audits.certification_support import *  # noqa: F403
from tests.audits.certification_support import PASSWORD, decide_all
from tests.audits.validation_support import finish_with_results, sample_result

pytestmark = pytest.mark.django_db
WHY = "Within the bank's documented appetite for this model."
NEWER_RESULTS = [
    sample_result("PERF-01", "fail", severity="critical"),
    sample_result("FAIR-02", "warn", family="fairness", severity="medium"),
]


def newer_run(engineer, certifiable):
    """A run of the same version and suite as the submission's, finished after it."""
    run = validation_start(
        actor=engineer,
        model_version=certifiable.version,
        test_dataset=certifiable.test,
        train_dataset=certifiable.train,
        suite="full",
    )
    return finish_with_results(run, NEWER_RESULTS)


def statuses(run) -> dict[str, str]:
    return dict(run.findings.values_list("check_id", "status"))


def reject(submission, signer):
    svc.finding_decide(
        actor=signer,
        submission=submission,
        finding=submission.validation_run.findings.get(check_id="PERF-01"),
        decision="require_mitigation",
        justification=WHY,
    )
    svc.submission_sign(
        actor=signer, submission=submission, decision="reject", password=PASSWORD, reason="The error rate is too high."
    )
    submission.refresh_from_db()


def api_for(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="ci")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def in_review_on(run, *, engineer, admin, reviewers):
    submission = svc.submission_create(actor=engineer, model_version=run.model_version, validation_run=run)
    for reviewer in reviewers:
        svc.reviewer_assign(actor=admin, submission=submission, reviewer=reviewer)
    submission.refresh_from_db()
    return submission


# --- a rejection after a newer run -------------------------------------------------------------------


def test_while_the_review_runs_a_newer_run_leaves_the_reviewed_runs_findings_open(in_review, certifiable, ml_engineer):
    newer_run(ml_engineer, certifiable)
    assert statuses(certifiable.run) == {"PERF-01": "open", "FAIR-02": "open"}


def test_a_rejection_closes_the_undecided_findings_a_newer_run_replaced_and_keeps_the_decided_ones(
    in_review, certifiable, ml_engineer, auditor
):
    newer = newer_run(ml_engineer, certifiable)
    reject(in_review, auditor)
    assert in_review.status == "rejected"
    assert statuses(certifiable.run) == {"PERF-01": "mitigation_required", "FAIR-02": "superseded"}
    closed = certifiable.run.findings.get(check_id="FAIR-02")
    assert closed.superseded_by_id == newer.pk and closed.superseded_at is not None
    assert statuses(newer) == {"PERF-01": "open", "FAIR-02": "open"}


def test_the_closing_is_audited_by_the_signer_naming_the_submission_and_the_newer_run(
    in_review, certifiable, ml_engineer, auditor
):
    newer = newer_run(ml_engineer, certifiable)
    reject(in_review, auditor)
    closed = certifiable.run.findings.get(check_id="FAIR-02")
    event = AuditEvent.objects.get(verb="finding.superseded", object_id=str(closed.pk))
    assert event.actor == auditor
    assert event.before == {"status": "open", "run": certifiable.run.pk}
    assert event.after == {"status": "superseded", "superseded_by_run": newer.pk}
    assert in_review.reference in event.reason and "rejected" in event.reason
    assert f"Validation #{newer.pk}" in event.reason
    signed = AuditEvent.objects.get(verb="submission.rejected", object_id=str(in_review.pk))
    assert signed.seq < event.seq


def test_when_the_closing_cannot_be_recorded_the_sign_off_is_not_recorded_either(
    in_review, certifiable, ml_engineer, auditor, monkeypatch
):
    from audits.validation import services as validation_services

    newer_run(ml_engineer, certifiable)
    recorded = validation_services.audit_record

    def failing(**kwargs):
        if kwargs.get("verb") == "finding.superseded":
            raise RuntimeError("trail unavailable")
        return recorded(**kwargs)

    monkeypatch.setattr(validation_services, "audit_record", failing)
    with pytest.raises(RuntimeError):
        reject(in_review, auditor)
    in_review.refresh_from_db()
    assert in_review.status == "in_review" and not in_review.signoffs.exists()
    assert statuses(certifiable.run)["FAIR-02"] == "open"


def test_after_the_rejection_the_home_counts_and_the_findings_list_show_the_current_work_only(
    in_review, certifiable, ml_engineer, auditor
):
    newer = newer_run(ml_engineer, certifiable)
    reject(in_review, auditor)
    stats = selectors.validation_home_stats(user=ml_engineer)
    assert (stats["findings_open"], stats["findings_open_critical"]) == (2, 1)
    client = Client()
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    html = client.get(reverse("audits:finding_list")).content.decode()
    # The newer run's two open findings and the decided PERF-01 of the rejected run; not its FAIR-02.
    assert html.count('class="finding-row"') == 3
    assert "1 finding closed as superseded" in html
    listed = api_for(ml_engineer).get("/api/v1/findings/", {"status": "open"}).json()
    assert {f["run"] for f in listed["results"]} == {newer.pk}


def test_a_rejection_with_no_newer_run_leaves_its_findings_open_as_the_current_work(in_review, certifiable, auditor):
    reject(in_review, auditor)
    assert statuses(certifiable.run) == {"PERF-01": "mitigation_required", "FAIR-02": "open"}
    assert not AuditEvent.objects.filter(verb="finding.superseded").exists()


# --- blockers once the review has ended --------------------------------------------------------------


def test_a_rejected_submission_lists_no_blockers_in_the_api(in_review, certifiable, ml_engineer, auditor):
    newer_run(ml_engineer, certifiable)
    assert [b["check_id"] for b in approval_blockers(submission=in_review)] == ["PERF-01", "FAIR-02"]
    reject(in_review, auditor)
    assert approval_blockers(submission=in_review) == []
    status = api_for(auditor).get(f"/api/v1/submissions/{in_review.pk}/status/").json()
    assert status["status"] == "rejected" and status["approval_blockers"] == []


def test_findings_superseded_before_the_submission_and_never_decided_end_closed_with_no_blocker(
    certifiable, ml_engineer, org_admin, auditor
):
    newer_run(ml_engineer, certifiable)
    assert statuses(certifiable.run) == {"PERF-01": "superseded", "FAIR-02": "superseded"}
    submission = in_review_on(certifiable.run, engineer=ml_engineer, admin=org_admin, reviewers=[auditor])
    reject(submission, auditor)
    assert statuses(certifiable.run) == {"PERF-01": "mitigation_required", "FAIR-02": "superseded"}
    assert approval_blockers(submission=submission) == []
    stats = selectors.validation_home_stats(user=ml_engineer)
    assert stats["findings_open"] == 2  # the newer run's, not the rejected run's superseded FAIR-02


# --- an approval -------------------------------------------------------------------------------------


def test_an_approval_of_a_replaced_run_decides_every_finding_first_so_none_stays_open_or_blocking(
    certifiable, ml_engineer, org_admin, auditor, compliance_officer
):
    newer_run(ml_engineer, certifiable)
    submission = in_review_on(
        certifiable.run, engineer=ml_engineer, admin=org_admin, reviewers=[auditor, compliance_officer]
    )
    closed_before = AuditEvent.objects.filter(verb="finding.superseded").count()
    decide_all(submission, auditor)
    for signer in (auditor, compliance_officer):
        svc.submission_sign(
            actor=signer, submission=submission, decision="approve", password=PASSWORD, reason="Reviewed and resolved."
        )
    submission.refresh_from_db()
    assert submission.status == "approved"
    assert statuses(certifiable.run) == {"PERF-01": "accepted", "FAIR-02": "accepted"}
    assert approval_blockers(submission=submission) == []
    assert AuditEvent.objects.filter(verb="finding.superseded").count() == closed_before
