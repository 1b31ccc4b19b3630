"""Validation-run evidence is a pick of the system's real, succeeded runs: linked by id with a
snapshot, dated by the run, refused clearly otherwise; in the service, the page and the API."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import NotAllowed, ValidationFailed
from governance import evidence_sources, services
from governance.models import Evidence
from tests.governance.conftest import events, make_model_version, make_validation_run

pytestmark = pytest.mark.django_db

FAIRNESS = "validation_run:fairness"


def _link(obligation, actor, run_id, kind=FAIRNESS):
    return services.evidence_add_validation_run(obligation=obligation, actor=actor, validation_kind=kind, run_id=run_id)


@pytest.fixture
def run(credit_system, ml_engineer):
    return make_validation_run(
        credit_system, ml_engineer, version=make_model_version(credit_system, ml_engineer, label="1.4.0")
    )


@pytest.fixture
def second_system(organisation, ml_engineer):
    from models_registry.models import AISystem

    return AISystem.objects.create(
        organisation=organisation, name="Fraud detection", purpose="Flags fraud.", created_by=ml_engineer
    )


# --- the service ----------------------------------------------------------------------------------


def test_a_succeeded_run_is_linked_by_its_id_with_a_snapshot_of_its_results(obligation, compliance_officer, run):
    evidence = _link(obligation, compliance_officer, run.pk)
    evidence.refresh_from_db()
    assert (evidence.validation_run_id, evidence.validation_ref) == (run.pk, str(run.pk))
    summary = evidence.validation_summary
    assert summary["run"] == run.pk and summary["suite"] == "standard" and summary["model_version"] == "1.4.0"
    assert summary["counts"] == {"pass": 3, "fail": 1, "warn": 1}
    assert (summary["family"], summary["family_counts"]) == ("fairness", {"pass": 1, "fail": 1})
    assert evidence.title == f"Fairness results of validation #{run.pk}"
    event = events("obligation.evidence_added").get()
    assert event.after["validation"] == str(run.pk) and event.after["validation_summary"]["run"] == run.pk


def test_the_evidence_is_dated_by_when_the_run_finished_not_when_it_was_linked(
    obligation, compliance_officer, credit_system, ml_engineer
):
    finished = timezone.now() - timedelta(days=42)
    run = make_validation_run(credit_system, ml_engineer, finished_at=finished)
    assert _link(obligation, compliance_officer, run.pk).dated_at == finished


@pytest.mark.parametrize("days_ago, stale", [(400, True), (10, False)])
def test_the_staleness_sweep_judges_run_evidence_by_the_run_date(
    obligation, compliance_officer, ml_engineer, credit_system, days_ago, stale
):
    services.obligation_assign(
        obligation=obligation, actor=compliance_officer, owner=ml_engineer, due_date=None, evidence_max_age_days=365
    )
    services.obligation_transition(obligation=obligation, to_status="in_progress", actor=ml_engineer)
    run = make_validation_run(credit_system, ml_engineer, finished_at=timezone.now() - timedelta(days=days_ago))
    _link(obligation, ml_engineer, run.pk)  # submits the obligation for review
    assert services.evidence_staleness_sweep() == ([obligation.pk] if stale else [])
    obligation.refresh_from_db()
    assert obligation.status == ("needs_rework" if stale else "evidence_submitted")


@pytest.mark.parametrize(
    "case, code",
    [
        ("another_system", "wrong_system"),
        ("another_organisation", "unknown_validation_run"),
        ("failed", "run_not_succeeded"),
        ("queued", "run_not_succeeded"),
        ("running", "run_not_succeeded"),
        ("made_up", "unknown_validation_run"),
        ("not_a_number", "invalid_validation_run"),
    ],
)
def test_a_run_that_is_not_a_succeeded_run_of_this_system_is_refused_and_nothing_is_stored(
    case, code, obligation, compliance_officer, ml_engineer, second_system, other_system, outsider, run
):
    run_id = {
        "another_system": lambda: make_validation_run(second_system, ml_engineer).pk,
        "another_organisation": lambda: make_validation_run(other_system, outsider).pk,
        "failed": lambda: make_validation_run(obligation.system, ml_engineer, status="failed").pk,
        "queued": lambda: make_validation_run(obligation.system, ml_engineer, status="queued").pk,
        "running": lambda: make_validation_run(obligation.system, ml_engineer, status="running").pk,
        "made_up": lambda: 987654,
        "not_a_number": lambda: "run-42",
    }[case]()
    with pytest.raises(ValidationFailed) as caught:
        _link(obligation, compliance_officer, run_id)
    assert caught.value.code == code
    assert str(run_id) in caught.value.message
    assert not Evidence.objects.exists() and not events("obligation.evidence_added").exists()


def test_a_run_of_another_organisation_is_not_told_apart_from_a_made_up_one(
    obligation, compliance_officer, other_system, outsider
):
    foreign = make_validation_run(other_system, outsider)
    with pytest.raises(ValidationFailed) as caught:
        _link(obligation, compliance_officer, foreign.pk)
    assert caught.value.message == f"There is no validation run #{foreign.pk} in your organisation."


def test_a_run_without_checks_of_the_chosen_family_is_refused(
    obligation, compliance_officer, credit_system, ml_engineer
):
    run = make_validation_run(credit_system, ml_engineer, results=(("performance", "pass"),))
    with pytest.raises(ValidationFailed) as caught:
        _link(obligation, compliance_officer, run.pk)
    assert caught.value.code == "family_not_in_run" and "covers performance" in caught.value.message
    assert not Evidence.objects.exists()


def test_only_the_owner_or_a_compliance_officer_links_a_run(obligation, auditor, run):
    with pytest.raises(NotAllowed):
        _link(obligation, auditor, run.pk)
    assert not Evidence.objects.exists()


def test_without_a_registered_source_no_run_can_be_linked(obligation, compliance_officer, run, monkeypatch):
    monkeypatch.setattr(evidence_sources, "_sources", {})
    with pytest.raises(ValidationFailed) as caught:
        _link(obligation, compliance_officer, run.pk)
    assert caught.value.code == "no_validation_source"
    assert evidence_sources.validation_run_choices(user=compliance_officer, system_id=run.system_id) == []


def test_the_audits_app_registers_its_runs_as_the_source_at_start_up():
    from audits.evidence_source import ValidationRunEvidenceSource

    assert isinstance(evidence_sources._sources["validation_run"], ValidationRunEvidenceSource)


def test_governance_imports_nothing_from_audits_but_the_trail_writer():
    root = Path(evidence_sources.__file__).resolve().parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [
                f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] == "audits" and n != "core.trail"
            ]
    assert offenders == []


# --- the page -------------------------------------------------------------------------------------


def _page(client, user, obligation):
    client.force_login(user)
    return client.get(reverse("governance:obligation_detail", args=[obligation.pk])).content.decode()


def test_the_evidence_form_offers_only_the_succeeded_runs_of_the_system(
    client, obligation, compliance_officer, ml_engineer, run, second_system, other_system, outsider
):
    excluded = [
        make_validation_run(obligation.system, ml_engineer, status="failed"),
        make_validation_run(obligation.system, ml_engineer, status="queued"),
        make_validation_run(second_system, ml_engineer),
        make_validation_run(other_system, outsider),
    ]
    select = re.search(
        r'<select name="validation_run".*?</select>', _page(client, compliance_officer, obligation), re.S
    ).group(0)
    assert f'<option value="{run.pk}">#{run.pk} · 1.4.0 · standard suite · finished ' in select
    assert "3 pass / 1 warn / 1 fail</option>" in select
    assert all(f'<option value="{other.pk}"' not in select for other in excluded)
    assert select.count("<option") == 2  # "choose a run" and the one eligible run


def test_the_form_says_so_when_the_system_has_no_succeeded_run(client, obligation, compliance_officer, ml_engineer):
    make_validation_run(obligation.system, ml_engineer, status="failed")
    body = _page(client, compliance_officer, obligation)
    assert 'data-testid="no-runs"' in body and 'name="validation_run"' not in body


def test_linking_a_run_from_the_page_shows_a_link_to_the_run(client, obligation, compliance_officer, run):
    client.force_login(compliance_officer)
    client.post(
        reverse("governance:evidence_add", args=[obligation.pk]),
        {"kind": "validation_run", "validation_kind": FAIRNESS, "validation_run": run.pk},
    )
    assert Evidence.objects.get().validation_run_id == run.pk
    body = _page(client, compliance_officer, obligation)
    assert f'href="{reverse("audits:validation_detail", args=[run.pk])}" data-testid="evidence-run-link"' in body


def test_posting_a_run_that_is_not_offered_stores_nothing_and_says_why(
    client, obligation, compliance_officer, second_system, ml_engineer
):
    foreign = make_validation_run(second_system, ml_engineer)
    client.force_login(compliance_officer)
    response = client.post(
        reverse("governance:evidence_add", args=[obligation.pk]),
        {"kind": "validation_run", "validation_kind": FAIRNESS, "validation_run": foreign.pk},
        follow=True,
    )
    assert "Choose one of this system&#x27;s succeeded validation runs." in response.content.decode()
    assert not Evidence.objects.exists()


# --- the API --------------------------------------------------------------------------------------


def _post(client, user, obligation, **body):
    client.force_login(user)
    return client.post(reverse("api:obligation-evidence", args=[obligation.pk]), body, content_type="application/json")


def test_the_api_links_a_run_by_id_and_answers_with_the_snapshot(client, obligation, compliance_officer, run):
    response = _post(
        client, compliance_officer, obligation, kind="validation_run", validation_kind=FAIRNESS, validation_run=run.pk
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["validation_run"] == run.pk and body["validation_summary"]["counts"]["pass"] == 3
    assert body["dated_at"].startswith(run.finished_at.date().isoformat())
    listed = client.get(reverse("api:obligation-evidence", args=[obligation.pk])).json()
    assert [e["validation_run"] for e in listed] == [run.pk]


@pytest.mark.parametrize(
    "case, code",
    [("another_system", "wrong_system"), ("failed", "run_not_succeeded"), ("made_up", "unknown_validation_run")],
)
def test_the_api_refuses_what_the_service_refuses_and_stores_nothing(
    case, code, client, obligation, compliance_officer, ml_engineer, second_system
):
    run_id = {
        "another_system": lambda: make_validation_run(second_system, ml_engineer).pk,
        "failed": lambda: make_validation_run(obligation.system, ml_engineer, status="failed").pk,
        "made_up": lambda: 987654,
    }[case]()
    response = _post(
        client, compliance_officer, obligation, kind="validation_run", validation_kind=FAIRNESS, validation_run=run_id
    )
    assert response.status_code == 400 and response.json()["code"] == code
    assert not Evidence.objects.exists()


def test_the_api_needs_the_run_id_for_run_evidence(client, obligation, compliance_officer):
    response = _post(client, compliance_officer, obligation, kind="validation_run", validation_kind=FAIRNESS)
    assert response.status_code == 400 and "validation_run" in response.json()["extra"]["fields"]


def test_the_api_lists_the_runs_that_may_be_linked(client, obligation, compliance_officer, ml_engineer, run):
    make_validation_run(obligation.system, ml_engineer, status="failed")
    client.force_login(compliance_officer)
    runs = client.get(reverse("api:obligation-validation-runs", args=[obligation.pk])).json()
    assert [r["id"] for r in runs] == [run.pk] and runs[0]["label"].startswith(f"#{run.pk} · 1.4.0")


def test_another_organisation_cannot_reach_the_obligation_through_the_api(client, obligation, outsider, run):
    response = _post(
        client, outsider, obligation, kind="validation_run", validation_kind=FAIRNESS, validation_run=run.pk
    )
    assert response.status_code == 404 and not Evidence.objects.exists()
