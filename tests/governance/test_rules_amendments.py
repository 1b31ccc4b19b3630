"""Issue #14, amendments: a new rules version (a date moved by the Digital Omnibus, an added
prohibition, a corrected rule) never rewrites a stored determination. The portal shows what the
current rules would change, lists the determination for re-assessment, and only a new submission
approved by a person replaces the result and re-derives the obligations and their dates."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from governance.models import Determination, Obligation
from governance.rules import RULES_VERSION, classify
from governance.rules.changes import RELEASES, reassess, releases_after
from governance.services import determination_approve, determination_submit
from tests.governance.conftest import CHATBOT, MINIMAL

OLD = "2026.11-1"


def _as_made_under_the_old_rules(determination: Determination) -> Determination:
    """What 2026.11-1 stored for the chatbot: outcome 'minimal_risk', though Art. 50(1) applied."""
    result = {**determination.result, "outcome": "minimal_risk", "rules_version": OLD}
    Determination.objects.filter(pk=determination.pk).update(rules_version=OLD, outcome="minimal_risk", result=result)
    determination.refresh_from_db()
    return determination


@pytest.fixture
def old_chatbot(credit_system, compliance_officer):
    submitted = determination_submit(system=credit_system, actor=compliance_officer, answers=CHATBOT)
    determination = _as_made_under_the_old_rules(
        determination_approve(determination=submitted, actor=compliance_officer)
    )
    # The obligation as the old rules dated it, a day before today's application date.
    Obligation.objects.filter(system=credit_system, code="art_50_1_interaction_disclosure").update(
        applies_from=date(2026, 8, 1)
    )
    return determination


def test_every_rules_version_has_a_release_note_and_the_newest_is_the_running_version():
    versions = [release.version for release in RELEASES]

    assert versions[-1] == RULES_VERSION
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert all(release.changes for release in RELEASES)
    assert [release.version for release in releases_after(OLD)] == versions[versions.index(OLD) + 1 :]


def test_a_result_under_the_current_rules_is_not_affected_by_a_reassessment():
    stored = classify(CHATBOT).to_dict()

    reassessment = reassess(CHATBOT, stored)

    assert not reassessment.outdated and not reassessment.affected and reassessment.lines() == []


def test_reassessment_names_the_outcome_the_current_rules_give_an_old_chatbot_result():
    stored = {**classify(CHATBOT).to_dict(), "outcome": "minimal_risk", "rules_version": OLD}

    reassessment = reassess(CHATBOT, stored)

    assert reassessment.outdated and reassessment.affected
    assert reassessment.outcome == ("minimal_risk", "transparency_obligations")
    assert "outcome minimal_risk → transparency_obligations" in reassessment.lines()


@pytest.mark.django_db
def test_an_old_determination_is_not_silently_rewritten_by_the_new_rules(client, old_chatbot, compliance_officer):
    before = Determination.objects.values().get(pk=old_chatbot.pk)
    dates_before = dict(old_chatbot.system.obligations.values_list("code", "applies_from"))

    client.force_login(compliance_officer)
    system_page = client.get(reverse("governance:system_classification", args=[old_chatbot.system_id]))
    detail_page = client.get(reverse("governance:determination_detail", args=[old_chatbot.pk]))
    home = client.get("/")

    assert Determination.objects.values().get(pk=old_chatbot.pk) == before
    assert dict(old_chatbot.system.obligations.values_list("code", "applies_from")) == dates_before
    for page in (system_page, detail_page):
        text = page.content.decode()
        assert f"Determined under rules {OLD}; version {RULES_VERSION} changes this result" in text
        assert "outcome minimal_risk → transparency_obligations" in text
        assert "art_50_1_interaction_disclosure: 2026-08-01 → 2026-08-02" in text
    assert "Classifications to re-assess under the current rules" in home.content.decode()
    assert f"{old_chatbot.system.name}: re-assess" in home.content.decode()


@pytest.mark.django_db
def test_a_new_submission_approved_under_the_current_rules_replaces_the_old_result_and_re_derives_the_dates(
    client, old_chatbot, compliance_officer
):
    new = determination_submit(system=old_chatbot.system, actor=compliance_officer, answers=CHATBOT)
    determination_approve(determination=new, actor=compliance_officer)

    new.refresh_from_db()
    old_chatbot.refresh_from_db()
    assert (new.rules_version, new.outcome, new.status) == (RULES_VERSION, "transparency_obligations", "approved")
    assert old_chatbot.status == "superseded" and old_chatbot.outcome == "minimal_risk"
    assert old_chatbot.system.obligations.get(code="art_50_1_interaction_disclosure").applies_from == date(2026, 8, 2)
    client.force_login(compliance_officer)
    page = client.get(reverse("governance:system_classification", args=[old_chatbot.system_id])).content.decode()
    assert 'data-testid="rules-changes"' not in page
    assert "Classifications to re-assess" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_an_old_determination_the_new_rules_do_not_change_is_listed_but_not_flagged_as_affected(
    client, credit_system, compliance_officer
):
    submitted = determination_submit(system=credit_system, actor=compliance_officer, answers=MINIMAL)
    approved = determination_approve(determination=submitted, actor=compliance_officer)
    Determination.objects.filter(pk=approved.pk).update(
        rules_version=OLD, result={**approved.result, "rules_version": OLD}
    )

    client.force_login(compliance_officer)
    page = client.get(reverse("governance:system_classification", args=[credit_system.pk])).content.decode()

    assert f"Determined under rules {OLD}; version {RULES_VERSION} changes nothing in this result" in page
    assert 'data-testid="rules-changes-diff"' not in page
    assert "made under rules 2026.11-1" in client.get("/").content.decode()


@pytest.mark.django_db
def test_another_organisation_never_sees_a_determination_to_re_assess(client, old_chatbot, outsider):
    client.force_login(outsider)

    home = client.get("/").content.decode()

    assert old_chatbot.system.name not in home
    assert client.get(reverse("governance:system_classification", args=[old_chatbot.system_id])).status_code == 404


@pytest.mark.django_db
def test_the_api_reports_what_the_current_rules_change_for_an_old_determination(old_chatbot, compliance_officer):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(compliance_officer)

    body = api.get(f"/api/v1/classification/determinations/{old_chatbot.pk}/").json()

    assert body["rules_version"] == OLD and body["outcome"] == "minimal_risk"
    assert body["rules_changes"]["affected"] is True
    assert "outcome minimal_risk → transparency_obligations" in body["rules_changes"]["changes"]
    assert [release["version"] for release in body["rules_changes"]["releases"]] == [RULES_VERSION]
