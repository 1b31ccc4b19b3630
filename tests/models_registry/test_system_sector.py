"""Issue #14, fewer questions: a system's record says its Annex III area (sector) and who it
affects (affected groups), so the classification can offer those answers. Unknown values are
refused with nothing saved, and the audit trail records both facts."""

import csv
import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken, AuditEvent
from governance.rules import QUESTION_BY_ID
from models_registry.choices import Sector
from models_registry.models import AISystem
from models_registry.services import system_update

pytestmark = pytest.mark.django_db

FORM = {"name": "Shift planner", "purpose": "Plans staff shifts", "lifecycle_stage": "development"}
FORM_ROLE = {**FORM, "operator_role": "deployer"}


def api(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_the_sector_codes_are_exactly_the_annex_iii_area_codes_of_the_questionnaire():
    question = QUESTION_BY_ID["annex3_areas"]
    assert [option.value for option in question.options] == Sector.values


def test_the_api_registers_a_system_with_its_sector_and_affected_groups(ml_engineer):
    response = api(ml_engineer).post(
        "/api/v1/systems/",
        {
            "name": "Shift planner",
            "purpose": "Plans staff shifts",
            "sector": "employment",
            "affected_groups": ["employees", "customers", "employees"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["sector"] == "employment"
    assert response.json()["affected_groups"] == ["customers", "employees"]  # each once, in a fixed order
    system = AISystem.objects.get(name="Shift planner")
    assert system.sector == "employment" and system.affected_groups == ["customers", "employees"]


def test_without_a_sector_or_groups_the_api_records_them_as_not_stated(ml_engineer):
    response = api(ml_engineer).post("/api/v1/systems/", {"name": "Chatbot", "purpose": "Answers"}, format="json")

    assert response.status_code == 201
    assert response.json()["sector"] == "" and response.json()["affected_groups"] == []


@pytest.mark.parametrize("sector", ["banking", "Employment", "employment,education"])
def test_the_api_refuses_an_unknown_sector_and_saves_nothing(ml_engineer, sector):
    response = api(ml_engineer).post(
        "/api/v1/systems/", {"name": "Shift planner", "purpose": "Plans", "sector": sector}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_sector" and response.json()["extra"] == {"field": "sector"}
    assert not AISystem.objects.filter(name="Shift planner").exists()
    assert not AuditEvent.objects.filter(verb="system.created").exists()


@pytest.mark.parametrize("groups", [["employees", "aliens"], "employees", [1], {"employees": True}])
def test_the_api_refuses_unknown_affected_groups_and_saves_nothing(ml_engineer, groups):
    response = api(ml_engineer).post(
        "/api/v1/systems/", {"name": "Shift planner", "purpose": "Plans", "affected_groups": groups}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_affected_groups"
    assert not AISystem.objects.filter(name="Shift planner").exists()


def test_the_api_changes_the_sector_and_refuses_a_bad_change_leaving_the_record_as_it_was(system, ml_engineer):
    client = api(ml_engineer)
    url = f"/api/v1/systems/{system.pk}/"

    assert client.patch(url, {"sector": "essential_services"}, format="json").status_code == 200
    refused = client.patch(url, {"sector": "retail", "affected_groups": ["customers"]}, format="json")
    refused_groups = client.patch(url, {"affected_groups": ["customers", "robots"]}, format="json")

    assert refused.status_code == 400 and refused.json()["code"] == "invalid_sector"
    assert refused_groups.status_code == 400 and refused_groups.json()["code"] == "invalid_affected_groups"
    system.refresh_from_db()
    assert system.sector == "essential_services" and system.affected_groups == []
    assert AuditEvent.objects.filter(verb="system.updated").count() == 1


def test_the_form_registers_a_system_with_its_sector_and_affected_groups(client, ml_engineer):
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("registry:system_create")).content.decode()
    assert 'name="sector"' in page and 'value="job_applicants"' in page

    response = client.post(
        reverse("registry:system_create"),
        {**FORM_ROLE, "sector": "employment", "affected_groups": ["job_applicants", "employees"]},
    )

    system = AISystem.objects.get(name="Shift planner")
    assert response.status_code == 302
    assert system.sector == "employment" and system.affected_groups == ["employees", "job_applicants"]
    detail = client.get(reverse("registry:system_detail", args=[system.pk])).content.decode()
    assert "Employees, Job applicants" in detail
    assert "Employment, workers&#x27; management, access to self-employment" in detail


def test_the_form_records_a_blank_sector_as_not_stated(client, ml_engineer):
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    client.post(reverse("registry:system_create"), {**FORM_ROLE, "sector": ""})

    system = AISystem.objects.get(name="Shift planner")
    assert system.sector == "" and system.affected_groups == []


def test_the_form_refuses_an_unknown_sector_with_an_error_next_to_it_and_saves_nothing(client, ml_engineer):
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(reverse("registry:system_create"), {**FORM_ROLE, "sector": "banking"})

    assert response.status_code == 400
    assert "sector" in response.context["form"].errors
    assert not AISystem.objects.filter(name="Shift planner").exists()


def test_the_form_refuses_an_unknown_affected_group_and_the_edit_changes_nothing(client, ml_engineer, system):
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        reverse("registry:system_edit", args=[system.pk]),
        {
            "name": system.name,
            "purpose": system.purpose,
            "lifecycle_stage": "development",
            "operator_role": "provider",
            "sector": "education",
            "affected_groups": ["students", "martians"],
        },
    )

    assert response.status_code == 400
    assert "affected_groups" in response.context["form"].errors
    system.refresh_from_db()
    assert system.sector == "" and system.affected_groups == []
    assert not AuditEvent.objects.filter(verb="system.updated").exists()


def test_the_edit_form_shows_the_recorded_groups_ticked(client, ml_engineer, system):
    system_update(actor=ml_engineer, system=system, sector="education", affected_groups=["students"])
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("registry:system_edit", args=[system.pk])).content.decode()

    assert 'value="students" id="id_affected_groups_3" checked' in page
    assert '<option value="education" selected>' in page


def test_the_registration_event_carries_the_sector_and_affected_groups(ml_engineer):
    api(ml_engineer).post(
        "/api/v1/systems/",
        {"name": "Tutor", "purpose": "Marks essays", "sector": "education", "affected_groups": ["students"]},
        format="json",
    )

    event = AuditEvent.objects.get(verb="system.created")
    assert event.after["sector"] == "education" and event.after["affected_groups"] == ["students"]


def test_a_change_of_sector_or_groups_is_recorded_before_and_after(system, ml_engineer):
    system_update(
        actor=ml_engineer, system=system, sector="essential_services", affected_groups=["customers"], reason="scope"
    )

    event = AuditEvent.objects.get(verb="system.updated")
    assert event.before == {"sector": "", "affected_groups": []}
    assert event.after == {"sector": "essential_services", "affected_groups": ["customers"]}
    assert event.reason == "scope"


def test_another_organisation_cannot_change_the_sector(system, outsider):
    response = api(outsider).patch(f"/api/v1/systems/{system.pk}/", {"sector": "none"}, format="json")

    assert response.status_code == 404
    system.refresh_from_db()
    assert system.sector == ""


def test_the_database_refuses_a_sector_the_service_would_refuse(ml_engineer):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AISystem.objects.create(
            organisation=ml_engineer.organisation, name="Raw", purpose="p", sector="banking", created_by=ml_engineer
        )


def test_the_csv_export_has_the_sector_and_affected_groups(client, ml_engineer, system):
    system_update(
        actor=ml_engineer, system=system, sector="essential_services", affected_groups=["public", "customers"]
    )
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(reverse("registry:system_export"))

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert rows[0]["sector"] == "essential_services" and rows[0]["affected_groups"] == "customers, public"
