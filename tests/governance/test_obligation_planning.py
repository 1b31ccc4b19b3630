"""Obligations usable on day one (issue #13): the law's applies-from date is not the organisation's
plan date; bulk assignment of owners and plan dates; an evidence form that shows one kind's fields,
in words, submits the obligation, and warns about runs that failed the checks the obligation is about."""

import importlib
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.choices import Role
from core.errors import NotAllowed, NotFound, ValidationFailed
from governance import selectors, services
from governance.models import Obligation
from governance.rules.dates import DatesError, default_plan_date
from tests.conftest import make_user
from tests.governance.conftest import events, make_validation_run

pytestmark = pytest.mark.django_db
API = "/api/v1"
LOGIN = 302


def today():
    return timezone.localdate()


@pytest.fixture
def other_officer(other_organisation):
    return make_user(other_organisation, "oscar", Role.COMPLIANCE_OFFICER)


def _login(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def officer_client(client, compliance_officer):
    return _login(client, compliance_officer)


def _api_client(user):
    from rest_framework.test import APIClient

    from core.models import ApiToken

    _, secret = ApiToken.objects.create(user=user, name="test")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return api


# --- applies-from vs plan date ------------------------------------------------------------------------


def test_the_default_plan_date_is_the_lead_time_after_classification_or_the_legal_date_when_later():
    classified = date(2026, 12, 2)
    assert default_plan_date(applies_from=date(2025, 2, 2), classified_on=classified) == date(2027, 3, 2)
    assert default_plan_date(applies_from=date(2027, 8, 2), classified_on=classified) == date(2027, 8, 2)
    assert default_plan_date(applies_from=date(2026, 12, 20), classified_on=classified, lead_days=10) == date(
        2026, 12, 20
    )
    with pytest.raises(DatesError):
        default_plan_date(applies_from=classified, classified_on=classified, lead_days=-1)


def test_a_newly_classified_systems_obligations_are_not_overdue_on_day_one(approved, compliance_officer):
    obligations = selectors.obligation_list(user=compliance_officer).filter(system=approved.system)
    assert obligations.filter(applies_from__lt=today()).exists()  # the law already applies to some
    assert not obligations.filter(is_overdue=True).exists()
    assert all(o.due_date >= today() + timedelta(days=90) for o in obligations)


def test_the_plan_date_follows_the_organisations_lead_time(submitted, compliance_officer):
    services.obligation_settings_update(actor=compliance_officer, plan_lead_days=30)
    services.determination_approve(determination=submitted, actor=compliance_officer)
    art4 = Obligation.objects.get(system=submitted.system, article="Art. 4")
    later = Obligation.objects.filter(system=submitted.system, applies_from__gt=today() + timedelta(days=30)).first()
    assert art4.due_date == today() + timedelta(days=30)
    if later is not None:
        assert later.due_date == later.applies_from


def test_an_obligation_is_overdue_once_its_plan_date_passes_not_when_the_law_begins_to_apply(
    obligation, compliance_officer
):
    Obligation.objects.filter(pk=obligation.pk).update(
        applies_from=today() - timedelta(days=200), due_date=today() + timedelta(days=5)
    )
    assert not selectors.obligation_list(user=compliance_officer).get(pk=obligation.pk).is_overdue
    Obligation.objects.filter(pk=obligation.pk).update(due_date=today() - timedelta(days=1))
    assert selectors.obligation_list(user=compliance_officer).get(pk=obligation.pk).is_overdue
    Obligation.objects.filter(pk=obligation.pk).update(status="accepted")
    assert not selectors.obligation_list(user=compliance_officer).get(pk=obligation.pk).is_overdue


def test_only_a_compliance_officer_sets_the_lead_time_and_it_is_bounded(compliance_officer, ml_engineer):
    with pytest.raises(NotAllowed):
        services.obligation_settings_update(actor=ml_engineer, plan_lead_days=10)
    with pytest.raises(ValidationFailed):
        services.obligation_settings_update(actor=compliance_officer, plan_lead_days=-1)
    services.obligation_settings_update(actor=compliance_officer, plan_lead_days=45)
    assert selectors.obligation_plan_lead_days(compliance_officer.organisation_id) == 45


def test_the_migration_gives_obligations_due_on_their_legal_date_a_plan_date_and_keeps_chosen_ones(approved):
    migration = importlib.import_module("governance.migrations.0007_obligation_plan_date")
    legal, chosen = approved.obligations.filter(applies_from__lt=today())[:2]
    Obligation.objects.filter(pk=legal.pk).update(due_date=legal.applies_from)
    Obligation.objects.filter(pk=chosen.pk).update(due_date=date(2030, 1, 1))
    migration.set_plan_dates(apps, None)
    legal.refresh_from_db()
    chosen.refresh_from_db()
    assert legal.due_date == max(legal.applies_from, timezone.localtime(approved.approved_at).date() + timedelta(90))
    assert chosen.due_date == date(2030, 1, 1)


def test_the_board_says_applies_since_without_overdue_until_the_plan_date_passes(officer_client, obligation):
    page = officer_client.get(reverse("governance:obligation_board")).content.decode()
    assert "applies since" in page
    assert 'badge bad">overdue' not in page
    Obligation.objects.filter(pk=obligation.pk).update(due_date=today() - timedelta(days=1))
    page = officer_client.get(reverse("governance:obligation_detail", args=[obligation.pk])).content.decode()
    assert "applies since" in page and "overdue" in page


# --- bulk assignment ------------------------------------------------------------------------------------


def test_a_compliance_officer_sets_owner_and_plan_date_on_several_obligations_with_one_event_each(
    approved, compliance_officer, ml_engineer
):
    ids = list(approved.obligations.values_list("pk", flat=True)[:3])
    before = events("obligation.assigned").count()
    services.obligation_bulk_assign(
        obligation_ids=ids, actor=compliance_officer, owner=ml_engineer, plan_date=date(2027, 6, 30)
    )
    rows = Obligation.objects.filter(pk__in=ids)
    assert {(o.owner_id, o.due_date) for o in rows} == {(ml_engineer.pk, date(2027, 6, 30))}
    assert events("obligation.assigned").count() == before + 3


def test_bulk_assignment_leaves_a_field_not_given_as_it_is(approved, compliance_officer, ml_engineer):
    ids = list(approved.obligations.values_list("pk", flat=True)[:2])
    plans = dict(Obligation.objects.filter(pk__in=ids).values_list("pk", "due_date"))
    services.obligation_bulk_assign(obligation_ids=ids, actor=compliance_officer, owner=ml_engineer)
    assert dict(Obligation.objects.filter(pk__in=ids).values_list("pk", "due_date")) == plans
    services.obligation_bulk_assign(obligation_ids=ids, actor=compliance_officer, owner=None)
    assert not Obligation.objects.filter(pk__in=ids, owner__isnull=False).exists()


def test_bulk_assignment_with_another_organisations_obligation_changes_nothing(
    approved, compliance_officer, ml_engineer, other_system, other_officer
):
    mine = list(approved.obligations.values_list("pk", flat=True)[:2])
    with pytest.raises(NotFound) as excinfo:
        services.obligation_bulk_assign(obligation_ids=mine, actor=other_officer, plan_date=date(2027, 1, 1))
    assert f"#{mine[0]}" in excinfo.value.message
    assert not Obligation.objects.filter(pk__in=mine, due_date=date(2027, 1, 1)).exists()


def test_bulk_assignment_refuses_nothing_to_set_and_a_foreign_owner(approved, compliance_officer, outsider):
    ids = list(approved.obligations.values_list("pk", flat=True)[:2])
    with pytest.raises(ValidationFailed) as excinfo:
        services.obligation_bulk_assign(obligation_ids=ids, actor=compliance_officer)
    assert excinfo.value.code == "nothing_to_set"
    with pytest.raises(ValidationFailed) as excinfo:
        services.obligation_bulk_assign(obligation_ids=ids, actor=compliance_officer, owner=outsider)
    assert excinfo.value.code == "invalid_owner"


def test_the_board_bulk_form_assigns_the_ticked_obligations(officer_client, approved, ml_engineer):
    ids = list(approved.obligations.values_list("pk", flat=True)[:2])
    response = officer_client.post(
        reverse("governance:obligation_bulk_assign"),
        {"obligations": ids, "owner": str(ml_engineer.pk), "plan_date": "2027-05-01"},
    )
    assert response.status_code == 302
    assert Obligation.objects.filter(pk__in=ids, owner=ml_engineer, due_date=date(2027, 5, 1)).count() == 2


def test_the_board_bulk_form_without_a_selection_is_a_400_that_keeps_the_input(officer_client, approved, ml_engineer):
    response = officer_client.post(
        reverse("governance:obligation_bulk_assign"), {"owner": str(ml_engineer.pk), "plan_date": "2027-05-01"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Select at least one obligation." in page
    assert f'value="{ml_engineer.pk}" selected' in page and 'value="2027-05-01"' in page


def test_the_board_bulk_form_with_a_bad_date_names_it_and_keeps_the_ticks(officer_client, approved):
    first = approved.obligations.first()
    response = officer_client.post(
        reverse("governance:obligation_bulk_assign"), {"obligations": [first.pk], "plan_date": "next week"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter the plan date as a date" in page
    assert f'value="{first.pk}" aria-label' in page and "checked" in page


def test_the_bulk_form_is_for_compliance_officers(permission_matrix, obligation):
    result = permission_matrix(
        lambda c: c.post(
            reverse("governance:obligation_bulk_assign"), {"obligations": [obligation.pk], "plan_date": "2027-01-01"}
        )
    )
    assert result == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 302,
        "org_admin": 403,
        "outsider": 403,
    }


def test_a_compliance_officer_of_another_organisation_gets_404_for_bulk_assignment(client, obligation, other_officer):
    _login(client, other_officer)
    response = client.post(
        reverse("governance:obligation_bulk_assign"), {"obligations": [obligation.pk], "plan_date": "2027-01-01"}
    )
    assert response.status_code == 404
    obligation.refresh_from_db()
    assert obligation.due_date != date(2027, 1, 1)


def test_the_bulk_api_is_for_compliance_officers(permission_matrix, obligation):
    body = {"obligations": [obligation.pk], "plan_date": "2027-01-01"}
    result = permission_matrix(lambda c: c.post(f"{API}/obligations/bulk-assign/", body, format="json"), api=True)
    assert result == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }


def test_the_bulk_api_sets_owner_and_plan_date_and_names_bad_input(approved, compliance_officer, ml_engineer):
    ids = list(approved.obligations.values_list("pk", flat=True)[:2])
    client = _api_client(compliance_officer)
    response = client.post(
        f"{API}/obligations/bulk-assign/",
        {"obligations": ids, "owner": ml_engineer.pk, "plan_date": "2027-02-01"},
        format="json",
    )
    assert response.status_code == 200
    assert {(row["owner"]["username"], row["plan_date"]) for row in response.json()} == {("mia", "2027-02-01")}
    response = client.post(f"{API}/obligations/bulk-assign/", {"obligations": ids}, format="json")
    assert response.status_code == 400 and "owner or a plan date" in response.json()["message"]
    response = client.post(f"{API}/obligations/bulk-assign/", {"obligations": ids, "owner": 999999}, format="json")
    assert response.status_code == 400 and "no user #999999" in response.json()["message"]
    response = client.post(
        f"{API}/obligations/bulk-assign/", {"obligations": [ids[0], 999999], "owner": None}, format="json"
    )
    assert response.status_code == 404 and "#999999" in response.json()["message"]


def test_the_settings_page_is_for_compliance_officers(permission_matrix, organisation):
    assert permission_matrix(lambda c: c.get(reverse("governance:obligation_settings"))) == {
        "anonymous": LOGIN,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }


def test_a_bad_lead_time_is_a_400_that_keeps_what_was_typed(officer_client):
    response = officer_client.post(reverse("governance:obligation_settings"), {"plan_lead_days": "-5"})
    assert response.status_code == 400
    assert 'value="-5"' in response.content.decode()
    response = officer_client.post(reverse("governance:obligation_settings"), {"plan_lead_days": "60"})
    assert response.status_code == 302


# --- the evidence form -------------------------------------------------------------------------------


def test_adding_the_first_evidence_submits_the_obligation_for_review(obligation, compliance_officer):
    services.evidence_add_document(
        obligation=obligation, actor=compliance_officer, uploaded_file=SimpleUploadedFile("plan.txt", b"plan")
    )
    obligation.refresh_from_db()
    assert obligation.status == "evidence_submitted"
    event = events("obligation.status_changed").get(object_id=str(obligation.pk))
    assert (event.before, event.after) == ({"status": "not_started"}, {"status": "evidence_submitted"})


def test_more_evidence_on_an_accepted_obligation_leaves_its_status(obligation, compliance_officer):
    Obligation.objects.filter(pk=obligation.pk).update(status="accepted")
    services.evidence_add_document(
        obligation=obligation, actor=compliance_officer, uploaded_file=SimpleUploadedFile("plan.txt", b"plan")
    )
    obligation.refresh_from_db()
    assert obligation.status == "accepted"


def test_the_evidence_form_uses_words_and_groups_fields_by_kind(officer_client, obligation):
    page = officer_client.get(reverse("governance:obligation_detail", args=[obligation.pk])).content.decode()
    assert "Dataset card" in page and "(dataset_card)" not in page and "(validation_run:" not in page
    for kind in ("document", "model_card", "validation_run"):
        assert f'data-evidence-kind="{kind}"' in page
    assert "js/evidence-form.js" in page


def test_evidence_without_the_chosen_kinds_field_is_a_400_that_keeps_the_input(officer_client, obligation):
    response = officer_client.post(
        reverse("governance:evidence_add", args=[obligation.pk]), {"kind": "model_card", "title": "Our card"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose a model version." in page and 'value="Our card"' in page
    obligation.refresh_from_db()
    assert obligation.status == "not_started"


def test_a_run_that_failed_the_obligations_checks_is_warned_about_by_name(
    officer_client, obligation, compliance_officer, credit_system, ml_engineer
):
    run = make_validation_run(credit_system, ml_engineer)  # FAIR-02 fails
    url = reverse("governance:obligation_detail", args=[obligation.pk])
    assert "FAIR-02 fairness check 2" in officer_client.get(url).content.decode()  # on the form, before linking
    services.evidence_add_validation_run(
        obligation=obligation, actor=compliance_officer, validation_kind="validation_run:fairness", run_id=run.pk
    )
    page = officer_client.get(url).content.decode()
    assert 'data-testid="evidence-warning"' in page and "FAIR-02 fairness check 2" in page


def test_a_run_whose_failed_checks_are_about_something_else_is_not_warned_about(
    officer_client, obligation, credit_system, ml_engineer
):
    make_validation_run(credit_system, ml_engineer, results=(("fairness", "pass"), ("performance", "fail")))
    page = officer_client.get(reverse("governance:obligation_detail", args=[obligation.pk])).content.decode()
    assert 'data-testid="run-warning"' not in page


def test_the_settings_api_reads_for_everyone_and_changes_for_compliance_officers(permission_matrix, organisation):
    read = permission_matrix(lambda c: c.get(f"{API}/obligations/settings/"), api=True)
    assert read == {
        "anonymous": 401,
        "ml_engineer": 200,
        "auditor": 200,
        "compliance_officer": 200,
        "org_admin": 200,
        "outsider": 200,  # their own organisation's settings
    }
    change = permission_matrix(
        lambda c: c.put(f"{API}/obligations/settings/", {"plan_lead_days": 45}, format="json"), api=True
    )
    assert change == {
        "anonymous": 401,
        "ml_engineer": 403,
        "auditor": 403,
        "compliance_officer": 200,
        "org_admin": 403,
        "outsider": 403,
    }
    assert selectors.obligation_plan_lead_days(organisation.pk) == 45


def test_the_settings_api_changes_the_lead_time_in_the_trail_and_refuses_nonsense(
    compliance_officer, other_organisation
):
    client = _api_client(compliance_officer)
    response = client.put(f"{API}/obligations/settings/", {"plan_lead_days": 120}, format="json")
    assert response.status_code == 200 and response.json() == {"plan_lead_days": 120}
    assert client.get(f"{API}/obligations/settings/").json() == {"plan_lead_days": 120}
    assert events("obligation.settings_changed").order_by("seq").last().after == {"plan_lead_days": 120}
    for bad in (-1, 5000, "soon", None):
        response = client.put(f"{API}/obligations/settings/", {"plan_lead_days": bad}, format="json")
        assert response.status_code == 400, bad
        assert "plan_lead_days" in str(response.json())
    assert selectors.obligation_plan_lead_days(compliance_officer.organisation_id) == 120
    assert selectors.obligation_plan_lead_days(other_organisation.pk) != 120
