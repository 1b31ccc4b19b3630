"""Issue #13, "the right validation at the right time": the start form defaults to and explains the
suite the system's risk tier needs for certification, warns about a lighter one, and the version page
offers to start the missing run."""

import pytest
from django.test import Client
from django.urls import reverse

from governance.services import determination_approve, determination_submit
from tests.audits.certification_support import classifier, seed_application_dates
from tests.audits.validation_support import credit  # noqa: F401
from tests.governance.conftest import CREDIT_SCORING, MINIMAL

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def classify(system, engineer, officer, answers):
    seed_application_dates()
    determination = determination_submit(system=system, actor=engineer, answers=answers)
    determination_approve(determination=determination, actor=classifier(officer))
    system.refresh_from_db()


def form_page(user, system, query=""):
    return client_for(user).get(reverse("audits:validation_create", args=[system.pk]) + query)


def test_before_classification_the_form_says_the_required_suite_is_not_known_and_links_to_classify(credit, ml_engineer):
    page = form_page(ml_engineer, credit.system).content.decode()
    assert "is not classified yet, so the suite certification requires is not known" in page
    assert reverse("governance:classify", args=[credit.system.pk]) in page
    assert 'data-testid="lighter-suite-warning"' not in page


def test_an_auditor_sees_the_unknown_suite_without_a_classify_link(credit, auditor):
    page = form_page(auditor, credit.system).content.decode()
    assert "is not classified yet" in page
    assert reverse("governance:classify", args=[credit.system.pk]) not in page


def test_a_high_risk_system_s_form_preselects_the_full_suite_and_says_why(credit, ml_engineer, compliance_officer):
    classify(credit.system, ml_engineer, compliance_officer, CREDIT_SCORING)
    response = form_page(ml_engineer, credit.system)
    page = response.content.decode()
    assert response.context["form"]["suite"].value() == "full"
    assert "High-risk systems (Annex I or III) need the full suite before submission" in page
    assert 'data-testid="lighter-suite-warning" role="status" hidden' in page


def test_picking_a_lighter_suite_than_required_shows_the_warning(credit, ml_engineer, compliance_officer):
    classify(credit.system, ml_engineer, compliance_officer, CREDIT_SCORING)
    response = form_page(ml_engineer, credit.system, "?suite=standard")
    page = response.content.decode()
    assert response.context["form"]["suite"].value() == "standard"
    assert 'data-testid="lighter-suite-warning" role="status">' in page
    assert "cannot be used to submit" in page


def test_a_minimal_risk_system_needs_the_standard_suite_and_a_full_run_is_not_lighter(
    credit, ml_engineer, compliance_officer
):
    classify(credit.system, ml_engineer, compliance_officer, MINIMAL)
    assert form_page(ml_engineer, credit.system).context["form"]["suite"].value() == "standard"
    page = form_page(ml_engineer, credit.system, "?suite=full").content.decode()
    assert "need at least the standard suite" in page
    assert 'data-testid="lighter-suite-warning" role="status" hidden' in page


def test_the_form_preselects_the_version_and_suite_of_its_query(credit, ml_engineer):
    response = form_page(ml_engineer, credit.system, f"?version={credit.version.pk}&suite=quick")
    assert str(response.context["form"]["model_version"].value()) == str(credit.version.pk)
    assert response.context["form"]["suite"].value() == "quick"


def panel(user, version):
    return client_for(user).get(reverse("certification:version_panel", args=[version.pk]), HTTP_HX_REQUEST="true")


def test_the_version_page_offers_to_start_the_missing_full_run(credit, ml_engineer, compliance_officer):
    classify(credit.system, ml_engineer, compliance_officer, CREDIT_SCORING)
    page = panel(ml_engineer, credit.version).content.decode()
    start = reverse("audits:validation_create", args=[credit.system.pk])
    assert f"{start}?version={credit.version.pk}&amp;suite=full" in page
    assert "Start the required run" in page


def test_only_roles_that_start_runs_see_the_start_the_required_run_button(
    credit, ml_engineer, auditor, compliance_officer, org_admin
):
    classify(credit.system, ml_engineer, compliance_officer, CREDIT_SCORING)
    seen = {
        u.role: "start-required-run" in panel(u, credit.version).content.decode()
        for u in (ml_engineer, auditor, compliance_officer, org_admin)
    }
    assert seen == {"ml_engineer": True, "auditor": True, "compliance_officer": False, "org_admin": False}


def test_no_start_button_before_classification(credit, ml_engineer):
    assert "start-required-run" not in panel(ml_engineer, credit.version).content.decode()


def test_no_start_button_once_the_required_full_run_has_finished(certifiable, ml_engineer):
    assert "start-required-run" not in panel(ml_engineer, certifiable.version).content.decode()


def start(user, registered, suite):
    data = {"model_version": registered.version.pk, "test_dataset": registered.test.pk, "suite": suite}
    return client_for(user).post(reverse("audits:validation_create", args=[registered.system.pk]), data, follow=True)


def test_starting_a_run_says_it_started_not_that_it_is_queued(credit, ml_engineer):
    words = [str(m) for m in start(ml_engineer, credit, "quick").context["messages"]]
    assert any("started with the Quick suite" in w for w in words)
    assert not any("queued" in w for w in words)


def test_starting_a_lighter_run_than_required_warns_that_it_cannot_certify(credit, ml_engineer, compliance_officer):
    classify(credit.system, ml_engineer, compliance_officer, CREDIT_SCORING)
    words = [str(m) for m in start(ml_engineer, credit, "standard").context["messages"]]
    assert any("lighter than the full suite" in w and "cannot be used to submit" in w for w in words)
