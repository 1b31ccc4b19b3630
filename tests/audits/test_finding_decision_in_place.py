"""Deciding a finding in place on the submission review page (issue #13, speed): the decision form
answers an htmx request with that finding's card and the blocker summary, under the same
permission checks and audit event as the full-page form; without JavaScript the full-page answer
returns to the same finding."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from audits.certification.models import FindingDecision
from core.models import AuditEvent
from tests.audits.certification_support import *  # noqa: F403

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def finding(submission, check_id):
    return submission.validation_run.findings.get(check_id=check_id)


def decide_url(submission, check_id) -> str:
    return reverse("certification:finding_decide", args=[submission.pk, finding(submission, check_id).pk])


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_in_place_decision_answers_each_role_as_the_full_page_form_does(permission_matrix, in_review):
    fair = finding(in_review, "FAIR-02")
    data = {f"f{fair.pk}-decision": "require_mitigation"}
    assert permission_matrix(lambda c: c.post(decide_url(in_review, "FAIR-02"), data, **HTMX)) == {
        "anonymous": 302,
        "ml_engineer": 403,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }
    # The two reviewers' answers were the card alone, and each decision was recorded once in the trail.
    assert FindingDecision.objects.get(finding=fair).decision == "require_mitigation"
    assert AuditEvent.objects.filter(verb="finding.decided", object_id=str(fair.pk)).count() == 2


def test_an_in_place_decision_answers_with_the_card_and_the_blockers_and_writes_the_trail(in_review, auditor):
    fair = finding(in_review, "FAIR-02")
    response = client_for(auditor).post(
        decide_url(in_review, "FAIR-02"),
        {f"f{fair.pk}-decision": "require_mitigation", "lock_version": in_review.lock_version},
        **HTMX,
    )
    body = text_of(response)
    assert response.status_code == 200 and "<html" not in body
    assert body.startswith(f'<article class="finding-card decided" id="finding-{fair.pk}"')
    assert 'id="triage-progress"' in body and 'hx-swap-oob="true"' in body
    assert 'data-testid="approval-blockers"' in body and "FAIR-02" in body
    event = AuditEvent.objects.get(verb="finding.decided", object_id=str(fair.pk))
    assert event.actor_id == auditor.pk


def test_a_refused_in_place_decision_is_a_400_card_with_the_reason_and_the_input_kept(in_review, auditor):
    perf = finding(in_review, "PERF-01")
    response = client_for(auditor).post(
        decide_url(in_review, "PERF-01"),
        {f"f{perf.pk}-decision": "accept_risk", f"f{perf.pk}-justification": "short"},
        **HTMX,
    )
    body = text_of(response)
    assert response.status_code == 400 and "<html" not in body
    assert body.startswith(f'<article class="finding-card" id="finding-{perf.pk}"')
    assert "Accepting a risk needs a written reason of at least 10 characters" in body
    assert re.search(r'value="accept_risk"[^>]*checked', body)
    assert re.search(r'name="f\d+-justification"[^>]*>\s*short</textarea>', body)
    assert not FindingDecision.objects.exists()
    assert not AuditEvent.objects.filter(verb="finding.decided").exists()


def test_without_javascript_a_decision_returns_to_the_same_finding_on_the_page(in_review, auditor):
    perf = finding(in_review, "PERF-01")
    client = client_for(auditor)
    page = text_of(client.get(reverse("certification:submission_detail", args=[in_review.pk])))
    # The form's own address carries the anchor, so a refusal's full page opens at the finding too.
    assert f'action="{decide_url(in_review, "PERF-01")}#finding-{perf.pk}"' in page
    response = client.post(
        decide_url(in_review, "PERF-01"),
        {f"f{perf.pk}-decision": "accept_risk", f"f{perf.pk}-justification": "Human review of every rejection."},
    )
    assert response.status_code == 302
    assert (
        response["Location"] == reverse("certification:submission_detail", args=[in_review.pk]) + f"#finding-{perf.pk}"
    )


def test_the_review_page_does_not_load_the_chart_library_with_the_page(in_review, auditor):
    page = client_for(auditor).get(reverse("certification:submission_detail", args=[in_review.pk])).content.decode()
    assert not re.search(r'<script src="[^"]*plotly\.min\.js"', page)
    assert re.search(r'data-plotly-src="[^"]*vendor/plotly/plotly\.min\.js"', page)
    assert 'data-testid="charts-PERF-01"' in page
