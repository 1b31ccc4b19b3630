"""The validation and findings pages: who may open them, what they show, and that bad input gives a
clear message instead of an error page."""

import pytest
from django.test import Client
from django.urls import reverse

from audits.models import ValidationRun
from audits.validation.services import validation_start
from tests.audits.validation_support import credit, finished_run  # noqa: F401

pytestmark = pytest.mark.django_db
LOGIN = 302
READERS = {"anonymous": LOGIN, "ml_engineer": 200, "auditor": 200, "compliance_officer": 200, "org_admin": 200}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("name", ["audits:validation_list", "audits:finding_list"])
def test_the_lists_are_readable_by_every_member(permission_matrix, name):
    assert permission_matrix(lambda c: c.get(reverse(name))) == {**READERS, "outsider": 200}


@pytest.mark.parametrize("name", ["audits:validation_detail", "audits:validation_results"])
def test_a_run_page_is_404_for_another_organisation(permission_matrix, finished_run, name):
    result = permission_matrix(lambda c: c.get(reverse(name, args=[finished_run.pk])))
    assert result == {**READERS, "outsider": 404}


def test_the_charts_of_a_check_are_404_for_another_organisation(permission_matrix, finished_run):
    url = reverse("audits:validation_charts", args=[finished_run.pk, "PERF-01"])
    assert permission_matrix(lambda c: c.get(url)) == {**READERS, "outsider": 404}


def test_the_live_status_is_404_for_another_organisation(permission_matrix, finished_run):
    url = reverse("audits:validation_status", args=[finished_run.pk])
    result = permission_matrix(lambda c: c.get(url, HTTP_HX_REQUEST="true"))
    assert result == {**READERS, "outsider": 404}


def test_the_start_form_is_for_ml_engineers_and_auditors(permission_matrix, credit):
    result = permission_matrix(lambda c: c.get(reverse("audits:validation_create", args=[credit.system.pk])))
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_the_start_form_of_another_organisations_system_is_404(credit, outsider):
    from core.choices import Role
    from tests.conftest import make_user

    stranger = make_user(outsider.organisation, "sven", Role.AUDITOR)
    assert client_for(stranger).get(reverse("audits:validation_create", args=[credit.system.pk])).status_code == 404


def test_cancel_is_for_those_who_may_start_runs(permission_matrix, ml_engineer, credit):
    def cancel(client):
        run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
        return client.post(reverse("audits:validation_cancel", args=[run.pk]))

    assert permission_matrix(cancel) == {
        "anonymous": LOGIN,
        "ml_engineer": 302,
        "auditor": 302,
        "compliance_officer": 403,
        "org_admin": 403,
        "outsider": 403,
    }


def test_starting_a_run_from_the_form_queues_it_and_opens_its_page(ml_engineer, credit):
    response = client_for(ml_engineer).post(
        reverse("audits:validation_create", args=[credit.system.pk]),
        {
            "model_version": credit.version.pk,
            "test_dataset": credit.test.pk,
            "train_dataset": credit.train.pk,
            "suite": "quick",
            "policy_overrides": "performance.min_auc = 0.65\n# a comment\n\nfairness.dp_ratio_min=0.75",
            "seed": "7",
        },
    )
    run = ValidationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("audits:validation_detail", args=[run.pk])
    assert run.policy_overrides == {"performance.min_auc": 0.65, "fairness.dp_ratio_min": 0.75}
    assert (run.seed, run.suite, run.train_dataset) == (7, "quick", credit.train)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("performance.min_auc 0.65", "Line 1: write one override per line as key = value"),
        ("performance.min_acu = 0.65", "Did you mean performance.min_auc"),
        ("performance.min_auc = high", "expects float"),
    ],
)
def test_bad_policy_overrides_are_explained_on_the_form_with_a_400(ml_engineer, credit, overrides, message):
    response = client_for(ml_engineer).post(
        reverse("audits:validation_create", args=[credit.system.pk]),
        {"model_version": credit.version.pk, "test_dataset": credit.test.pk, "policy_overrides": overrides},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ValidationRun.objects.exists()


def test_a_dataset_of_another_system_cannot_be_picked_on_the_form(ml_engineer, credit):
    from tests.audits.validation_support import register_credit_system

    other = register_credit_system(ml_engineer, name="Fraud detection")
    response = client_for(ml_engineer).post(
        reverse("audits:validation_create", args=[credit.system.pk]),
        {"model_version": credit.version.pk, "test_dataset": other.test.pk},
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_the_system_picker_leads_to_the_start_form(ml_engineer, credit):
    client = client_for(ml_engineer)
    assert client.get(reverse("audits:validation_new")).status_code == 200
    response = client.get(reverse("audits:validation_new"), {"system": credit.system.pk})
    assert response["Location"] == reverse("audits:validation_create", args=[credit.system.pk])


def test_an_active_run_polls_for_its_status_and_a_finished_one_stops(ml_engineer, credit, finished_run):
    client = client_for(ml_engineer)
    queued = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
    partial = client.get(reverse("audits:validation_status", args=[queued.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "Waiting for a worker" in partial and "cancel-run" in partial
    done = client.get(reverse("audits:validation_status", args=[finished_run.pk]), HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done.content.decode() and "Open the results" in done.content.decode()
    plain = client.get(reverse("audits:validation_status", args=[queued.pk]))
    assert plain.status_code == 302, "without htmx the status URL leads to the run page"


def test_a_failed_run_says_why_in_words_with_the_technical_detail_folded(ml_engineer, credit):
    from tests.audits.validation_support import finish_with_results

    run = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
    run = finish_with_results(run, [], status="failed")
    page = client_for(ml_engineer).get(reverse("audits:validation_detail", args=[run.pk])).content.decode()
    assert "The validation failed: the model crashed." in page
    assert "<details><summary>Technical detail</summary>" in page and "Traceback: boom" in page


def test_the_results_page_groups_checks_by_category_with_lazy_charts(ml_engineer, finished_run):
    page = client_for(ml_engineer).get(reverse("audits:validation_results", args=[finished_run.pk])).content.decode()
    assert (
        page.index('id="family-data_quality"')
        < page.index('id="family-performance"')
        < page.index('id="family-fairness"')
    )
    assert "≥ 0.7" in page and "[0.55, 0.67]" in page and "Retrain the model." in page
    assert 'data-charts-url="/validations/%d/charts/PERF-01/"' % finished_run.pk in page
    assert '"type": "bar"' not in page, "figures are fetched when opened, not embedded"
    assert "vendor/plotly/plotly.min.js" in page


def test_the_charts_endpoint_returns_the_stored_figures(ml_engineer, finished_run):
    client = client_for(ml_engineer)
    body = client.get(reverse("audits:validation_charts", args=[finished_run.pk, "PERF-01"])).json()
    assert body["charts"][0]["data"][0]["type"] == "bar"
    assert client.get(reverse("audits:validation_charts", args=[finished_run.pk, "NOPE-1"])).status_code == 404


def test_findings_can_be_listed_per_run_per_version_and_filtered(ml_engineer, finished_run, credit):
    client = client_for(ml_engineer)
    per_run = client.get(reverse("audits:finding_list"), {"run": finished_run.pk}).content.decode()
    assert "PERF-01 is not good enough" in per_run and "FAIR-02 is not good enough" in per_run
    assert f"Findings of validation #{finished_run.pk}" in per_run
    per_version = client.get(reverse("audits:finding_list"), {"model_version": credit.version.pk}).content.decode()
    assert "PERF-01 is not good enough" in per_version
    critical = client.get(
        reverse("audits:finding_list"),
        {
            "severity": "critical",
            "category": "performance",
            "article": "Art. 15",
            "status": "open",
            "system": credit.system.pk,
        },
    ).content.decode()
    assert "PERF-01 is not good enough" in critical and "FAIR-02" not in critical


@pytest.mark.parametrize("query", [{"system": "abc"}, {"status": "nonsense"}, {"page": "-1"}, {"suite": "x" * 500}])
def test_bad_filter_values_never_cause_an_error_page(ml_engineer, finished_run, query):
    client = client_for(ml_engineer)
    assert client.get(reverse("audits:validation_list"), query).status_code == 200
    assert client.get(reverse("audits:finding_list"), query).status_code == 200


def test_the_run_list_needs_the_same_number_of_queries_for_one_run_or_many(
    ml_engineer, credit, finished_run, django_assert_max_num_queries
):
    client = client_for(ml_engineer)
    for _ in range(6):
        validation_start(
            actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, train_dataset=credit.train
        )
    with django_assert_max_num_queries(12):
        response = client.get(reverse("audits:validation_list"))
    assert response.content.decode().count('href="/validations/') >= 7
    with django_assert_max_num_queries(12):
        client.get(reverse("audits:finding_list"))


def test_the_start_form_of_a_system_without_datasets_says_what_is_missing(ml_engineer):
    from models_registry.services import system_create

    system = system_create(actor=ml_engineer, name="Empty", purpose="Nothing uploaded yet")
    page = client_for(ml_engineer).get(reverse("audits:validation_create", args=[system.pk])).content.decode()
    assert "has no datasets yet" in page and reverse("registry:dataset_create", args=[system.pk]) in page


def test_the_validation_pages_and_tasks_import_no_heavy_libraries_at_start_up():
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import django, sys; django.setup(); import audits.validation.views, audits.api.urls, audits.tasks, "
        "audits.validation.services; print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'shap', 'fairlearn') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"},
    )
    assert out.stdout.strip() == "[]"


def test_the_home_page_numbers_count_active_runs_and_open_findings_of_the_organisation(
    ml_engineer, outsider, credit, finished_run
):
    from audits.selectors import validation_home_stats

    validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
    assert validation_home_stats(user=ml_engineer) == {
        "validations_active": 1,
        "validations_last_30_days": 2,
        "findings_open": 2,
        "findings_open_critical": 1,
    }
    assert validation_home_stats(user=outsider)["findings_open"] == 0


def test_the_home_page_shows_the_validation_numbers_to_a_member_who_may_view_validations(
    ml_engineer, outsider, credit, finished_run
):
    from core.permissions import has_permission

    assert has_permission(ml_engineer, "validation.view")
    validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test)
    page = client_for(ml_engineer).get(reverse("home")).content.decode()
    assert 'data-testid="card-validation"' in page
    assert 'data-testid="validations-active">1<' in page and 'data-testid="validations-30d">2<' in page
    assert 'data-testid="findings-open">2<' in page and 'data-testid="findings-open-critical">1<' in page
    assert reverse("audits:validation_new") in page, "an engineer may start one from the card"
    theirs = client_for(outsider).get(reverse("home")).content.decode()
    assert 'data-testid="validations-active">0<' in theirs and 'data-testid="findings-open">0<' in theirs


def _finding(run, check_id: str):
    from tests.governance.test_risk_support import make_finding

    return make_finding(run, check_id=check_id)


def _raise_risk(actor, finding):
    from governance.risks.services import risk_create_from_source

    return risk_create_from_source(
        actor=actor,
        system=finding.system,
        title=finding.title,
        description="",
        category="bias",
        source_ref={"type": "audits.finding", "id": finding.pk},
    )


def test_the_finding_list_shows_the_risks_raised_from_each_finding_and_offers_to_raise_one(auditor, finished_run):
    from audits.models import Finding

    perf, fair = (Finding.objects.get(run=finished_run, check_id=c) for c in ("PERF-01", "FAIR-02"))
    risk = _raise_risk(auditor, perf)
    page = client_for(auditor).get(reverse("audits:finding_list"), {"run": finished_run.pk}).content.decode()
    assert f'href="/risks/{risk.pk}/" class="small" data-testid="raised-risk">{risk.reference}<' in page
    assert f'data-testid="raise-risk-{fair.pk}"' in page, "a finding without a risk offers to raise one"
    assert f'data-testid="raise-risk-{perf.pk}"' not in page
    assert reverse("dashboard:finding_raise_risk", args=[fair.pk]) in page


def test_the_finding_list_does_not_ask_the_database_once_more_per_finding(auditor, finished_run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(auditor)
    url = reverse("audits:finding_list")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured)

    queries()  # warm up what is cached once per process
    with_two = queries()
    findings = [_finding(finished_run, f"EXTRA-{n:02}") for n in range(20)]
    for finding in findings[::2]:
        _raise_risk(auditor, finding)
    page = client.get(url).content.decode()
    assert page.count('data-testid="raised-risk"') == 10 and page.count('data-testid="raise-risk-') == 12
    assert queries() == with_two, "the risks of all findings on the page come in one query"
