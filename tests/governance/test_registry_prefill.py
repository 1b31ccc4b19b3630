"""Issue #14, fewer questions: what the system's registry record already says (its role, its
Annex III sector, the groups it affects) is offered next to the question it answers, "The
system's record says: ...", with one button that answers it. Nothing is preselected, and an
answer already given is never replaced."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from governance.record_answers import answer_from_record, record_offers
from models_registry.choices import AffectedGroup, OperatorRole, Sector
from tests.governance.rules.helpers import complete

# Everything answered up to the Annex III area question, which is left open.
BEFORE_AREAS = {key: value for key, value in complete(roles=["provider"]).items() if key != "annex3_areas"}
# Emotion recognition in the workplace, with whose emotions it reads left open.
EMOTIONS_AT_WORK = {
    key: value
    for key, value in complete(roles=["provider"], emotion_recognition="yes", art5_f_workplace_education="yes").items()
    if key not in ("art5_f_workers_or_students", "art5_f_medical_safety")
}


@dataclass
class Record:
    """A registry record as record_answers reads it, without a database."""

    operator_role: str = "provider"
    sector: str = ""
    affected_groups: list[str] = field(default_factory=list)

    def get_operator_role_display(self) -> str:
        return OperatorRole(self.operator_role).label

    def get_sector_display(self) -> str:
        return Sector(self.sector).label

    @property
    def affected_group_labels(self) -> list[str]:
        return [AffectedGroup(group).label for group in self.affected_groups]


# --- the mapping ---------------------------------------------------------------------------------


def test_the_sector_is_offered_as_the_annex_iii_area():
    offer = record_offers(Record(sector="employment"), {})["annex3_areas"]

    assert offer.answer == ["employment"] and offer.says.startswith("Employment")


def test_a_sector_of_none_is_offered_as_none_of_the_areas():
    assert record_offers(Record(sector="none"), {})["annex3_areas"].answer == ["none"]


@pytest.mark.parametrize("group", ["employees", "job_applicants", "students"])
def test_workers_candidates_or_students_among_the_affected_suggest_yes_to_the_workers_emotions_question(group):
    offer = record_offers(Record(affected_groups=["customers", group]), {})["art5_f_workers_or_students"]

    assert offer.answer == "yes" and offer.answer_label == "Yes"
    assert "Customers" in offer.says


@pytest.mark.parametrize("groups", [[], ["customers"], ["patients", "public", "children"]])
def test_other_affected_groups_suggest_nothing_for_the_workers_emotions_question(groups):
    assert "art5_f_workers_or_students" not in record_offers(Record(affected_groups=groups), {})


def test_a_blank_record_offers_only_its_role():
    assert set(record_offers(Record(), {})) == {"roles"}


def test_an_answered_question_gets_no_offer_and_the_button_does_not_replace_the_answer():
    record = Record(sector="employment", affected_groups=["employees"])
    answers = {"annex3_areas": ["none"], "art5_f_workers_or_students": "no", "roles": ["deployer"]}

    assert record_offers(record, answers) == {}
    assert answer_from_record("annex3_areas", record, answers) == answers


def test_a_question_the_record_says_nothing_about_is_not_answered_by_the_button():
    assert answer_from_record("emotion_recognition", Record(sector="education"), {}) == {}


# --- the classification page ------------------------------------------------------------------


def classify_url(system) -> str:
    return reverse("governance:classify", args=[system.pk])


def set_record(system, **fields) -> None:
    for name, value in fields.items():
        setattr(system, name, value)
    system.save(update_fields=list(fields))


@pytest.mark.django_db
def test_the_page_offers_the_sector_and_one_click_answers_the_area_question(client, compliance_officer, credit_system):
    from governance.models import ClassificationDraft

    set_record(credit_system, sector="essential_services")
    client.force_login(compliance_officer)
    page = client.post(classify_url(credit_system), BEFORE_AREAS, HTTP_HX_REQUEST="true").content.decode()

    assert 'data-testid="annex3_areas-from-record"' in page
    assert "The system's record says: <strong>Essential private and public services and benefits</strong>" in page
    assert 'value="essential_services" checked' not in page  # offered, never preselected
    assert "annex3_areas" not in ClassificationDraft.objects.get(system=credit_system).answers

    response = client.post(
        classify_url(credit_system), {**BEFORE_AREAS, "from_record": "annex3_areas"}, HTTP_HX_REQUEST="true"
    )

    assert ClassificationDraft.objects.get(system=credit_system).answers["annex3_areas"] == ["essential_services"]
    body = response.content.decode()
    assert 'value="essential_services" checked' in body
    assert 'data-question="annex3_5b_creditworthiness"' in body  # the area's own questions follow
    assert 'data-testid="annex3_areas-from-record"' not in body


@pytest.mark.django_db
def test_the_page_offers_yes_for_employees_emotions_and_one_click_answers_it(client, compliance_officer, credit_system):
    from governance.models import ClassificationDraft

    set_record(credit_system, affected_groups=["employees"])
    client.force_login(compliance_officer)
    page = client.post(classify_url(credit_system), EMOTIONS_AT_WORK, HTTP_HX_REQUEST="true").content.decode()

    assert "The system's record says: <strong>it affects Employees</strong>" in page
    assert re.search(r'value="art5_f_workers_or_students"[^>]*>Answer “Yes” from the record</button>', page)
    assert 'id="q-art5_f_workers_or_students-yes" name="art5_f_workers_or_students" value="yes" checked' not in page

    client.post(
        classify_url(credit_system),
        {**EMOTIONS_AT_WORK, "from_record": "art5_f_workers_or_students"},
        HTTP_HX_REQUEST="true",
    )

    assert ClassificationDraft.objects.get(system=credit_system).answers["art5_f_workers_or_students"] == "yes"


@pytest.mark.django_db
def test_a_saved_draft_shows_the_offer_when_the_page_is_opened_again(client, compliance_officer, credit_system):
    set_record(credit_system, sector="employment")
    client.force_login(compliance_officer)
    client.post(classify_url(credit_system), BEFORE_AREAS, HTTP_HX_REQUEST="true")

    page = client.get(classify_url(credit_system)).content.decode()

    assert "The system's record says: <strong>Employment, workers&#x27; management" in page


@pytest.mark.django_db
def test_a_blank_record_offers_no_sector_and_no_workers_answer(client, compliance_officer, credit_system):
    from governance.models import ClassificationDraft

    client.force_login(compliance_officer)
    areas = client.post(classify_url(credit_system), BEFORE_AREAS, HTTP_HX_REQUEST="true").content.decode()
    emotions = client.post(classify_url(credit_system), EMOTIONS_AT_WORK, HTTP_HX_REQUEST="true").content.decode()
    client.post(classify_url(credit_system), {**BEFORE_AREAS, "from_record": "annex3_areas"}, HTTP_HX_REQUEST="true")

    assert 'data-question="annex3_areas"' in areas and "annex3_areas-from-record" not in areas
    assert 'data-question="art5_f_workers_or_students"' in emotions
    assert "art5_f_workers_or_students-from-record" not in emotions
    assert "annex3_areas" not in ClassificationDraft.objects.get(system=credit_system).answers


@pytest.mark.django_db
def test_customers_only_give_no_workers_offer(client, compliance_officer, credit_system):
    set_record(credit_system, affected_groups=["customers"])
    client.force_login(compliance_officer)
    page = client.post(classify_url(credit_system), EMOTIONS_AT_WORK, HTTP_HX_REQUEST="true").content.decode()

    assert 'data-question="art5_f_workers_or_students"' in page
    assert "art5_f_workers_or_students-from-record" not in page


@pytest.mark.django_db
def test_the_button_never_replaces_an_answer_already_given(client, compliance_officer, credit_system):
    from governance.models import ClassificationDraft

    set_record(credit_system, sector="employment")
    client.force_login(compliance_officer)
    client.post(
        classify_url(credit_system),
        {**BEFORE_AREAS, "annex3_areas": ["none"], "from_record": "annex3_areas"},
        HTTP_HX_REQUEST="true",
    )

    assert ClassificationDraft.objects.get(system=credit_system).answers["annex3_areas"] == ["none"]


@pytest.mark.django_db
def test_another_organisation_s_user_gets_404_and_answers_nothing_from_the_record(
    client, compliance_officer, other_system
):
    from governance.models import ClassificationDraft

    set_record(other_system, sector="employment")
    client.force_login(compliance_officer)  # of Acme; the system is Globex's

    assert client.get(classify_url(other_system)).status_code == 404
    response = client.post(
        classify_url(other_system), {**BEFORE_AREAS, "from_record": "annex3_areas"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 404
    assert not ClassificationDraft.objects.filter(system=other_system).exists()
