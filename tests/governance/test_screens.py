"""Issue #14, fewer questions: the blocks an ordinary business system answers "no" to (the Art. 2
exclusions, the eight Art. 5 practices, the Art. 50 triggers) get one "none of these applies" each,
while the record keeps one answer per element and nothing already answered is overwritten."""

from __future__ import annotations

import pytest

from governance.rules import QUESTION_BY_ID, classify, visible_questions
from governance.rules.schema import YES_NO_UNSURE
from governance.rules.screens import SCREENS, answer_none_of, screen_states

START = {"is_ai_system": "yes", "involves_gpai": "no", "eu_nexus": "yes", "roles": ["provider"]}


@pytest.mark.parametrize("screen", SCREENS, ids=[screen.id for screen in SCREENS])
def test_every_screen_head_is_a_yes_no_question_of_the_screen_s_section(screen):
    for qid in screen.heads:
        question = QUESTION_BY_ID[qid]
        assert question.kind == YES_NO_UNSURE and question.section == screen.section


def test_none_of_the_art_5_practices_answers_no_to_each_of_the_eight_points_one_by_one():
    answers = answer_none_of("art5_practices", START)

    heads = next(screen for screen in SCREENS if screen.id == "art5_practices").heads
    assert all(answers[qid] == "no" for qid in heads) and len(heads) == 8
    state = next(state for state in screen_states(answers) if state.id == "art5_practices")
    assert state.folded and not state.unanswered
    assert classify(answers).art_5_points == ()


def test_none_of_these_keeps_an_answer_already_given_and_its_follow_ups_stay_asked():
    answers = answer_none_of("art5_practices", {**START, "emotion_recognition": "yes"})

    assert answers["emotion_recognition"] == "yes"
    assert answers["art5_c_social_scoring"] == "no"
    state = next(state for state in screen_states(answers) if state.id == "art5_practices")
    assert not state.folded
    assert "art5_f_workplace_education" in {question.id for question in visible_questions(answers)}


def test_a_screen_whose_questions_are_hidden_is_not_offered():
    not_ai = {"is_ai_system": "no"}

    assert [state.id for state in screen_states(not_ai)] == []


def test_an_unknown_screen_is_refused():
    with pytest.raises(KeyError):
        answer_none_of("art99", START)


@pytest.mark.django_db
def test_the_questionnaire_offers_none_of_these_and_folds_the_block_with_its_list_still_visible(
    client, compliance_officer, credit_system
):
    from django.urls import reverse

    from governance.models import ClassificationDraft

    client.force_login(compliance_officer)
    url = reverse("governance:classify", args=[credit_system.pk])
    client.post(url, START, HTTP_HX_REQUEST="true")
    page = client.get(url).content.decode()
    assert 'data-testid="screen-none-art5_practices"' in page

    response = client.post(url, {**START, "screen_none": "art5_practices"}, HTTP_HX_REQUEST="true")

    draft = ClassificationDraft.objects.get(system=credit_system)
    assert draft.answers["art5_c_social_scoring"] == "no" and draft.answers["biometric_identification"] == "no"
    body = response.content.decode()
    assert "None of these practices applies" in body and 'data-testid="screen-list-art5_practices"' in body
    assert "Subliminal, manipulative or deceptive techniques" in body
    assert body.count("q-folded") == 8  # each point still on the page, folded, with its own answer


@pytest.mark.django_db
def test_an_unknown_block_in_the_form_changes_no_answer(client, compliance_officer, credit_system):
    from django.urls import reverse

    from governance.models import ClassificationDraft

    client.force_login(compliance_officer)
    url = reverse("governance:classify", args=[credit_system.pk])
    response = client.post(url, {**START, "screen_none": "art99"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert ClassificationDraft.objects.get(system=credit_system).answers == START


@pytest.mark.django_db
def test_the_role_can_be_answered_from_the_system_s_registry_record_with_one_click(
    client, compliance_officer, credit_system
):
    from django.urls import reverse

    from governance.models import ClassificationDraft

    credit_system.operator_role = "deployer"
    credit_system.save(update_fields=["operator_role"])
    client.force_login(compliance_officer)
    url = reverse("governance:classify", args=[credit_system.pk])
    no_role = {key: value for key, value in START.items() if key != "roles"}
    page = client.post(url, no_role, HTTP_HX_REQUEST="true").content.decode()
    assert "The system's record says: <strong>Deployer</strong>" in page

    client.post(url, {**no_role, "from_record": "roles"}, HTTP_HX_REQUEST="true")

    assert ClassificationDraft.objects.get(system=credit_system).answers["roles"] == ["deployer"]
