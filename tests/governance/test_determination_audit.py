"""Auditability of a determination (issue #14): a reason and evidence link per answer, the Art. 5
screen point by point, short question forms in the rationale, and why each obligation applies."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from governance.models import ClassificationDraft, Determination
from governance.presentation import art_5_screen, obligation_why, rationale_steps
from governance.rules import QUESTION_BY_ID, QUESTIONS
from governance.rules.content.short_forms import SHORT_FORMS
from tests.governance.conftest import CHATBOT, CREDIT_SCORING, events
from tests.governance.rules.helpers import area, complete

pytestmark = pytest.mark.django_db

API = "/api/v1/classification/systems"
REASON = "The scores feed loan decisions for consumers; see the product sheet."
LINK = "https://wiki.example.com/credit/product-sheet?v=3"
SOCIAL_SCORING = complete(roles=["provider"], art5_c_social_scoring="yes", art5_c_unrelated_context="yes")


def api(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="test")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def url(name, *args):
    return reverse(f"governance:{name}", args=args)


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


def test_a_reason_and_link_typed_in_the_questionnaire_reach_the_record_its_trail_and_the_approval_page(
    officer_client, credit_system
):
    form = dict(
        CREDIT_SCORING, **{"reason-annex3_5b_creditworthiness": REASON, "link-annex3_5b_creditworthiness": LINK}
    )
    officer_client.post(url("classify", credit_system.pk), dict(form, action="save"))
    draft = ClassificationDraft.objects.get(system=credit_system)
    assert draft.answer_notes == {"annex3_5b_creditworthiness": {"reason": REASON, "link": LINK}}
    page = officer_client.get(url("classify", credit_system.pk)).content.decode()
    assert REASON in page and LINK in page  # resumed with the note

    response = officer_client.post(url("classify", credit_system.pk), dict(form, action="submit"))
    determination = Determination.objects.get(system=credit_system)
    assert determination.answer_notes == draft.answer_notes
    assert events("classification.submitted").get().after["answer_notes"] == draft.answer_notes
    page = officer_client.get(response["Location"]).content.decode()
    assert REASON in page
    assert f'href="{LINK.replace("&", "&amp;")}" rel="noopener noreferrer"' in page


def test_the_api_round_trips_notes_from_the_draft_to_the_determination(credit_system, ml_engineer):
    client = api(ml_engineer)
    notes = {"annex3_5b_creditworthiness": {"reason": REASON, "link": LINK}}
    saved = client.put(
        f"{API}/{credit_system.pk}/draft/", {"answers": CREDIT_SCORING, "answer_notes": notes}, format="json"
    )
    assert saved.status_code == 200 and saved.json()["answer_notes"] == notes
    # A later save of the answers alone keeps the notes of the answers still given.
    client.put(f"{API}/{credit_system.pk}/draft/", {"answers": CREDIT_SCORING}, format="json")
    assert client.get(f"{API}/{credit_system.pk}/draft/").json()["answer_notes"] == notes
    created = client.post(f"{API}/{credit_system.pk}/submit/", {}, format="json").json()
    assert created["answer_notes"] == notes


def test_notes_of_questions_not_answered_or_hidden_are_dropped(credit_system, ml_engineer):
    notes = {
        "annex3_5b_creditworthiness": {"reason": REASON, "link": ""},
        "art5_c_unrelated_context": {"reason": "hidden: social scoring was answered No", "link": ""},
    }
    response = api(ml_engineer).put(
        f"{API}/{credit_system.pk}/draft/", {"answers": CREDIT_SCORING, "answer_notes": notes}, format="json"
    )
    assert response.json()["answer_notes"] == {"annex3_5b_creditworthiness": {"reason": REASON, "link": ""}}


@pytest.mark.parametrize(
    "note, field",
    [
        ({"reason": "x" * 2001, "link": ""}, "reason"),
        ({"reason": "", "link": "ftp://files.example.com/sheet.pdf"}, "link"),
        ({"reason": "", "link": "https://example.com/" + "a" * 500}, "link"),
        ({"reason": "", "link": "not a link"}, "link"),
    ],
    ids=["reason over 2000 characters", "ftp link", "link over 500 characters", "not a web address"],
)
def test_a_bad_link_or_too_long_reason_is_refused_with_400_and_the_draft_keeps_its_answers(
    credit_system, ml_engineer, note, field
):
    client = api(ml_engineer)
    client.put(f"{API}/{credit_system.pk}/draft/", {"answers": CREDIT_SCORING}, format="json")
    response = client.put(
        f"{API}/{credit_system.pk}/draft/",
        {"answers": {"is_ai_system": "yes"}, "answer_notes": {"annex3_5b_creditworthiness": note}},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert (
        body["code"] == "invalid_answer_notes" and field in body["extra"]["answer_notes"]["annex3_5b_creditworthiness"]
    )
    assert QUESTION_BY_ID["annex3_5b_creditworthiness"].text in body["message"]
    assert ClassificationDraft.objects.get(system=credit_system).answers == CREDIT_SCORING


def test_a_javascript_link_is_refused_in_the_form_and_what_was_typed_stays_on_the_page(officer_client, credit_system):
    evil = "javascript:alert(document.cookie)"
    form = dict(
        CREDIT_SCORING, **{"reason-annex3_5b_creditworthiness": REASON, "link-annex3_5b_creditworthiness": evil}
    )
    response = officer_client.post(url("classify", credit_system.pk), dict(form, action="submit"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "must be a web address starting with https://" in page
    assert REASON in page and 'value="javascript:alert(document.cookie)"' in page
    assert not Determination.objects.exists() and not ClassificationDraft.objects.exists()
    refused = api(credit_system.created_by).post(
        f"{API}/{credit_system.pk}/submit/",
        {"answers": CREDIT_SCORING, "answer_notes": {"is_ai_system": {"reason": "", "link": evil}}},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_answer_notes"


def test_a_javascript_link_already_in_a_record_is_never_rendered_as_a_link(officer_client, submitted):
    Determination.objects.filter(pk=submitted.pk).update(
        answer_notes={"is_ai_system": {"reason": "", "link": "javascript:alert(1)"}}
    )
    page = officer_client.get(url("determination_detail", submitted.pk)).content.decode()
    assert 'href="javascript:' not in page and "not a web address, not linked" in page


def _conclusions(answers):
    return {row["point"]: row["conclusion"] for row in art_5_screen(answers)}


def test_the_art_5_screen_has_eight_rows_with_social_scoring_applying_in_a_prohibited_case():
    rows = art_5_screen(SOCIAL_SCORING)
    assert [row["letter"] for row in rows] == ["(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)", "(h)"]
    assert _conclusions(SOCIAL_SCORING) == {
        **{f"5(1)({letter})": "does_not_apply" for letter in "abdefgh"},
        "5(1)(c)": "applies",
    }
    social = rows[2]
    assert social["name"] == "social scoring"
    assert [(a["short"], a["answer"]) for a in social["relied_on"]][:2] == [
        (SHORT_FORMS["art5_c_social_scoring"], "Yes"),
        (SHORT_FORMS["art5_c_unrelated_context"], "Yes"),
    ]


def test_the_art_5_screen_of_a_clean_case_shows_every_point_not_applying_with_the_answer_relied_on():
    rows = art_5_screen(CREDIT_SCORING)
    assert len(rows) == 8 and {row["conclusion"] for row in rows} == {"does_not_apply"}
    assert all(row["relied_on"] and row["relied_on"][0]["answer"] == "No" for row in rows)


def test_an_exception_is_its_own_conclusion_in_the_art_5_screen():
    medical = complete(
        roles=["provider"], emotion_recognition="yes", art5_f_workplace_education="yes", art5_f_medical_safety="yes"
    )
    assert _conclusions(medical)["5(1)(f)"] == "exception"


def test_the_determination_page_shows_the_art_5_table_with_eight_rows(officer_client, credit_system, ml_engineer):
    from governance.services import determination_submit

    determination = determination_submit(system=credit_system, actor=ml_engineer, answers=SOCIAL_SCORING)
    page = officer_client.get(url("determination_detail", determination.pk)).content.decode()
    assert 'data-testid="art5-screen"' in page and page.count('data-testid="art5-conclusion"') == 8
    assert "Applies: prohibited" in page and "social scoring" in page


def test_every_question_has_a_short_form_of_at_most_80_characters():
    assert {q.id for q in QUESTIONS} <= set(SHORT_FORMS)
    too_long = {qid: len(text) for qid, text in SHORT_FORMS.items() if len(text) > 80}
    assert not too_long
    assert all(text.strip() for text in SHORT_FORMS.values())


def test_rationale_steps_quote_the_short_form_with_the_full_text_one_click_away():
    question = QUESTION_BY_ID["art50_1_interacts"]
    step = f'You answered "Yes" to "{question.text}" → Art. 50(1) transparency duties apply'
    (html,) = rationale_steps([step])
    assert f'<q class="q-short" title="{question.text}">{SHORT_FORMS["art50_1_interacts"]}</q> → Art. 50(1)' in html
    assert f"<summary>Full question</summary><ul><li>{question.text}</li></ul></details>" in html
    assert html.count(question.text) == 2  # the hover title and the fold, not the step's sentence
    # A stored step that quotes no known question (older rules) is shown as it was, escaped.
    (old,) = rationale_steps(['You answered "Yes" to "<b>A question of 2025</b>"'])
    assert old == "You answered &quot;Yes&quot; to &quot;&lt;b&gt;A question of 2025&lt;/b&gt;&quot;"


def test_the_why_line_of_an_art_50_1_obligation_names_the_article_and_the_answer(
    officer_client, credit_system, ml_engineer, compliance_officer
):
    from governance.services import determination_approve, determination_submit

    determination = determination_submit(system=credit_system, actor=ml_engineer, answers=CHATBOT)
    page = officer_client.get(url("determination_detail", determination.pk)).content.decode()
    expected = "Applies because of Art. 50(1): you answered “Yes” to “Talks to people (chatbot, voice assistant)”."
    assert expected in page  # before approval: the obligations that will follow
    determination_approve(determination=determination, actor=compliance_officer)
    obligation = credit_system.obligations.get(code="art_50_1_interaction_disclosure")
    assert expected in officer_client.get(url("determination_detail", determination.pk)).content.decode()
    assert expected in officer_client.get(url("obligation_detail", obligation.pk)).content.decode()


def test_a_high_risk_obligation_says_which_annex_iii_answer_it_rests_on():
    result = {"annex_iii_points": ["5(b)"], "legal_bases": []}
    line = obligation_why(code="art_9_risk_management", article="Art. 9", result=result, answers=CREDIT_SCORING)
    assert line.startswith("Applies because of Annex III point 5(b) (Art. 6(2)): you answered “Yes” to “Creditworth")


def test_a_role_switch_is_named_on_the_provider_duties_it_brings_not_on_the_deployer_duties():
    result = {"annex_iii_points": ["4(a)"], "role_switches": ["Art. 25(1)(a)"], "legal_bases": []}
    answers = complete(roles=["deployer"], art25_own_name="yes", **area("employment", annex3_4a_recruitment="yes"))
    common = {"result": result, "answers": answers}
    provider = obligation_why(code="art_9_risk_management", article="Art. 9", role="provider", **common)
    deployer = obligation_why(code="art_26_deployer_obligations", article="Art. 26", role="deployer", **common)
    assert provider.endswith("; Art. 25(1)(a) makes you the provider.")
    assert "Annex III point 4(a)" in deployer and "Art. 25" not in deployer


def test_without_a_clean_derivation_the_why_line_is_the_article_and_its_legal_basis():
    result = {"legal_bases": [{"article": "Art. 99", "text": "A basis the presentation cannot trace."}]}
    assert obligation_why(code="art_99_unknown", article="Art. 99", result=result, answers={}) == (
        "Art. 99: A basis the presentation cannot trace."
    )
