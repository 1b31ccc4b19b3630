"""Superseded runs' findings (issue #13 item 4): when a newer run of the same model version and suite
succeeds, the undecided findings of the older runs are closed as superseded, linked to the newer run
and audited one by one; the counts on the home page, the dashboard, the run list, the run page and
the findings list show the current findings only, and the superseded ones stay one click away."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audits import selectors
from audits.choices import FindingStatus
from audits.models import Finding, Submission
from audits.validation.services import validation_findings_supersede, validation_start
from core.models import ApiToken, AuditEvent
from tests.audits.validation_support import credit, finish_with_results, sample_result  # noqa: F401

pytestmark = pytest.mark.django_db

RESULTS = [
    sample_result("PERF-01", "fail", severity="critical"),
    sample_result("FAIR-02", "warn", family="fairness", severity="medium"),
    sample_result("PERF-04", "pass"),
]


def run_of(engineer, registered, *, suite="quick", results=RESULTS, status="succeeded", version=None):
    run = validation_start(
        actor=engineer, model_version=version or registered.version, test_dataset=registered.test, suite=suite
    )
    return finish_with_results(run, results, status=status)


@pytest.fixture
def first(ml_engineer, credit):  # noqa: F811
    return run_of(ml_engineer, credit)


@pytest.fixture
def second(ml_engineer, credit, first):  # noqa: F811
    return run_of(ml_engineer, credit)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def api_for(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="ci")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def statuses(run) -> dict[str, str]:
    return dict(run.findings.values_list("check_id", "status"))


# --- the service ------------------------------------------------------------------------------------


def test_a_newer_run_of_the_same_version_and_suite_closes_the_older_runs_undecided_findings(first, second):
    assert statuses(first) == {"PERF-01": "superseded", "FAIR-02": "superseded"}
    assert set(first.findings.values_list("superseded_by", flat=True)) == {second.pk}
    assert all(f.superseded_at is not None for f in first.findings.all())
    assert statuses(second) == {"PERF-01": "open", "FAIR-02": "open"}


def test_each_closed_finding_has_its_own_audit_event_naming_the_newer_run(first, second, ml_engineer):
    events = AuditEvent.objects.filter(verb="finding.superseded").order_by("seq")
    assert [e.object_id for e in events] == [str(f.pk) for f in first.findings.order_by("check_id")]
    event = events.first()
    assert event.object_type == "audits.finding" and event.actor == ml_engineer
    assert event.before == {"status": "open", "run": first.pk}
    assert event.after == {"status": "superseded", "superseded_by_run": second.pk}
    assert f"Validation #{second.pk}" in event.reason


def test_a_decided_finding_stays_as_it_was_decided(ml_engineer, credit, first):  # noqa: F811
    Finding.objects.filter(run=first, check_id="PERF-01").update(status=FindingStatus.ACCEPTED)
    run_of(ml_engineer, credit)
    assert statuses(first) == {"PERF-01": "accepted", "FAIR-02": "superseded"}


def test_a_run_of_another_suite_or_another_version_supersedes_nothing(ml_engineer, credit, first):  # noqa: F811
    from tests.audits.validation_support import credit_frame, credit_model, register_unscanned_version

    run_of(ml_engineer, credit, suite="standard")
    other_version = register_unscanned_version(
        ml_engineer, credit.system, credit_model(credit_frame(400, seed=5)), "2.0"
    )
    run_of(ml_engineer, credit, version=other_version)
    assert statuses(first) == {"PERF-01": "open", "FAIR-02": "open"}


def test_a_newer_run_that_failed_supersedes_nothing(ml_engineer, credit, first):  # noqa: F811
    run_of(ml_engineer, credit, status="failed")
    assert statuses(first) == {"PERF-01": "open", "FAIR-02": "open"}


def test_the_run_that_finishes_last_is_the_current_one_like_the_run_a_submission_takes(ml_engineer, credit):  # noqa: F811
    started_first = validation_start(
        actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick"
    )
    finished_first = run_of(ml_engineer, credit)
    started_first = finish_with_results(started_first, RESULTS)
    assert statuses(finished_first) == {"PERF-01": "superseded", "FAIR-02": "superseded"}
    assert statuses(started_first) == {"PERF-01": "open", "FAIR-02": "open"}
    assert set(finished_first.findings.values_list("superseded_by", flat=True)) == {started_first.pk}


def test_findings_superseded_once_are_not_superseded_again_by_a_third_run(ml_engineer, credit, first, second):  # noqa: F811
    third = run_of(ml_engineer, credit)
    assert set(first.findings.values_list("superseded_by", flat=True)) == {second.pk}
    assert set(second.findings.values_list("superseded_by", flat=True)) == {third.pk}
    assert AuditEvent.objects.filter(verb="finding.superseded").count() == 4


def test_superseding_again_is_harmless(first, second):
    assert validation_findings_supersede(run=second) == []
    assert AuditEvent.objects.filter(verb="finding.superseded").count() == 2


def rerun_of_certifiable(engineer, certifiable):
    run = validation_start(
        actor=engineer,
        model_version=certifiable.version,
        test_dataset=certifiable.test,
        train_dataset=certifiable.train,
        suite="full",
    )
    return finish_with_results(run, RESULTS)


def test_the_findings_of_a_run_a_submission_under_review_refers_to_stay_open(ml_engineer, certifiable, submission):
    assert submission.validation_run_id == certifiable.run.pk
    rerun_of_certifiable(ml_engineer, certifiable)
    assert set(statuses(certifiable.run).values()) == {"open"}


def test_the_findings_of_a_rejected_submissions_run_are_superseded(ml_engineer, certifiable, submission):
    Submission.objects.filter(pk=submission.pk).update(status="rejected")
    newer = rerun_of_certifiable(ml_engineer, certifiable)
    assert set(statuses(certifiable.run).values()) == {"superseded"}
    assert set(certifiable.run.findings.values_list("superseded_by", flat=True)) == {newer.pk}


def test_a_superseded_finding_must_name_the_run_that_superseded_it(first):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.filter(run=first).update(status=FindingStatus.SUPERSEDED)


# --- the counts ---------------------------------------------------------------------------------------


def test_the_home_page_counts_only_the_current_runs_open_findings(ml_engineer, first, second):
    stats = selectors.validation_home_stats(user=ml_engineer)
    assert (stats["findings_open"], stats["findings_open_critical"]) == (2, 1)


def test_the_dashboard_counts_only_the_current_runs_open_findings(compliance_officer, first, second):
    from audits.dashboard import compliance_dashboard

    findings = compliance_dashboard(user=compliance_officer)["findings"]
    assert findings["total"] == 2 and {f.run_id for f in findings["top"]} == {second.pk}


def test_the_run_list_counts_current_findings_and_the_superseded_apart(ml_engineer, first, second):
    runs = {run.pk: run for run in selectors.validation_run_list(user=ml_engineer)}
    assert (runs[first.pk].finding_count, runs[first.pk].critical_count, runs[first.pk].superseded_count) == (0, 0, 2)
    assert (runs[second.pk].finding_count, runs[second.pk].critical_count, runs[second.pk].superseded_count) == (
        2,
        1,
        0,
    )
    assert selectors.validation_finding_counts(run=first) == {}
    assert selectors.validation_finding_counts(run=second) == {"critical": 1, "medium": 1}


# --- the pages -------------------------------------------------------------------------------------


def test_the_older_runs_page_says_its_findings_were_superseded_with_a_link_to_the_newer_run(ml_engineer, first, second):
    html = client_for(ml_engineer).get(reverse("audits:validation_detail", args=[first.pk])).content.decode()
    assert 'data-testid="superseded-note"' in html
    assert f'href="/validations/{second.pk}/"' in html and "Findings (0)" in html
    assert f"?run={first.pk}&amp;status=superseded" in html


def test_the_newer_runs_page_says_what_it_superseded(ml_engineer, first, second):
    html = client_for(ml_engineer).get(reverse("audits:validation_detail", args=[second.pk])).content.decode()
    assert 'data-testid="superseding-note"' in html and "Findings (2)" in html
    assert f"?superseded_by={second.pk}" in html


def test_the_findings_list_hides_superseded_findings_and_says_how_many(ml_engineer, first, second):
    html = client_for(ml_engineer).get(reverse("audits:finding_list")).content.decode()
    assert html.count('class="finding-row"') == 2
    assert 'data-testid="superseded-hidden"' in html and "2 findings closed as superseded" in html


def test_the_findings_list_shows_superseded_findings_with_their_link_when_asked(ml_engineer, first, second):
    client = client_for(ml_engineer)
    html = client.get(reverse("audits:finding_list"), {"status": "superseded"}).content.decode()
    assert html.count('class="finding-row"') == 2 and html.count('data-testid="superseded-status"') == 2
    assert f'href="/validations/{second.pk}/">#{second.pk}</a>' in html
    by_run = client.get(reverse("audits:finding_list"), {"superseded_by": second.pk}).content.decode()
    assert by_run.count('class="finding-row"') == 2 and 'data-testid="superseded-by-scope"' in by_run


def test_the_run_list_page_notes_the_superseded_count(ml_engineer, first, second):
    html = client_for(ml_engineer).get(reverse("audits:validation_list")).content.decode()
    assert "(2 superseded)" in html


def test_the_superseded_findings_list_is_readable_by_every_member_and_empty_for_outsiders(
    permission_matrix, first, second
):
    page = permission_matrix(lambda c: c.get(reverse("audits:finding_list"), {"status": "superseded"}))
    api = permission_matrix(lambda c: c.get("/api/v1/findings/", {"status": "superseded"}), api=True)
    readers = {"ml_engineer": 200, "auditor": 200, "compliance_officer": 200, "org_admin": 200, "outsider": 200}
    assert page == {"anonymous": 302, **readers}
    assert api == {"anonymous": 401, **readers}


def test_an_outsider_sees_no_superseded_finding_of_another_organisation(outsider, first, second):
    body = api_for(outsider).get("/api/v1/findings/", {"status": "superseded"}).json()
    assert body["count"] == 0


# --- the API ----------------------------------------------------------------------------------------


def test_the_api_lists_current_findings_by_default_and_superseded_ones_when_asked(ml_engineer, first, second):
    client = api_for(ml_engineer)
    current = client.get("/api/v1/findings/").json()
    assert current["count"] == 2 and {f["run"] for f in current["results"]} == {second.pk}
    superseded = client.get("/api/v1/findings/", {"status": "superseded"}).json()
    assert superseded["count"] == 2
    assert {(f["run"], f["status"], f["superseded_by"]) for f in superseded["results"]} == {
        (first.pk, "superseded", second.pk)
    }


def test_the_api_summary_of_the_older_run_counts_its_superseded_findings_apart(ml_engineer, first, second):
    body = api_for(ml_engineer).get(f"/api/v1/validations/{first.pk}/").json()
    assert body["summary"]["findings"] == {} and body["summary"]["critical_findings"] == 0
    assert body["summary"]["superseded_findings"] == 2
