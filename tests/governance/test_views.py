"""The questionnaire, result, board and export pages, as a user meets them."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import ClassificationDraft, Determination, Obligation
from tests.governance.conftest import CREDIT_SCORING, MINIMAL

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"governance:{name}", args=args)


def _post_data(answers):
    return dict(answers)  # the test client posts lists as repeated fields, like checkboxes


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


def test_the_questionnaire_starts_with_the_first_question_and_its_article_one_click_away(officer_client, credit_system):
    page = officer_client.get(url("classify", credit_system.pk)).content.decode()
    assert "Does the system infer from the input" in page
    assert "<details>" in page and "Art. 3(1)" in page and "machine-based system" in page
    # Later questions depend on the first answer, so they are not shown yet.
    assert 'data-question="roles"' not in page


def test_an_htmx_change_saves_the_draft_and_returns_only_the_questions_that_now_matter(officer_client, credit_system):
    response = officer_client.post(url("classify", credit_system.pk), {"is_ai_system": "yes"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="questionnaire-body">')
    assert 'data-question="eu_nexus"' in page and 'data-question="roles"' in page
    assert ClassificationDraft.objects.get(system=credit_system).answers == {"is_ai_system": "yes"}


def test_without_javascript_save_draft_redirects_back_to_the_resumed_questionnaire(officer_client, credit_system):
    response = officer_client.post(url("classify", credit_system.pk), {"is_ai_system": "yes", "action": "save"})
    assert response.status_code == 302
    page = officer_client.get(response["Location"]).content.decode()
    assert "Draft saved" in page
    assert 'name="is_ai_system" value="yes" checked' in page
    assert 'data-question="roles"' in page


def test_contradictions_are_shown_next_to_the_questions(officer_client, credit_system):
    answers = dict(CREDIT_SCORING, annex3_5b_fraud_detection_only="yes")
    response = officer_client.post(url("classify", credit_system.pk), _post_data(answers), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert 'data-testid="contradictions"' in page
    assert "has-problem" in page


def test_an_invalid_answer_is_refused_with_a_clear_message_not_a_500(officer_client, credit_system):
    response = officer_client.post(url("classify", credit_system.pk), {"is_ai_system": "maybe", "action": "save"})
    assert response.status_code == 422
    assert "Some answers are not valid" in response.content.decode()
    assert not ClassificationDraft.objects.exists()


def test_submitting_the_credit_scoring_answers_shows_annex_iii_point_5b_on_the_result(officer_client, credit_system):
    response = officer_client.post(url("classify", credit_system.pk), dict(_post_data(CREDIT_SCORING), action="submit"))
    determination = Determination.objects.get(system=credit_system)
    assert response["Location"] == url("determination_detail", determination.pk)
    page = officer_client.get(response["Location"]).content.decode()
    assert "High-risk via Annex III point 5(b) (Art. 6(2))" in page
    assert "Annex III point 5(b)" in page and "creditworthiness" in page  # legal basis and quoted answer
    assert "Rules version" in page and determination.rules_version in page
    assert 'data-testid="approve"' in page


def test_approving_from_the_result_page_lists_obligations(officer_client, submitted):
    response = officer_client.post(url("determination_approve", submitted.pk), {"note": "Checked with legal."})
    page = officer_client.get(response["Location"]).content.decode()
    assert "Classification approved" in page
    assert "Obligations (19)" in page


def test_approving_an_incomplete_determination_shows_why_it_is_refused(officer_client, credit_system, ml_engineer):
    from governance.services import determination_submit

    determination = determination_submit(system=credit_system, actor=ml_engineer, answers={"is_ai_system": "yes"})
    page = officer_client.get(url("determination_detail", determination.pk)).content.decode()
    assert "Provisional" in page and "Unanswered:" in page
    response = officer_client.post(url("determination_approve", determination.pk), follow=True)
    assert "incomplete and cannot be approved" in response.content.decode()


def test_an_override_without_justification_is_refused_on_the_page(officer_client, submitted):
    response = officer_client.post(
        url("determination_override", submitted.pk), {"outcome": "minimal_risk", "justification": ""}, follow=True
    )
    assert "written justification" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_an_override_is_shown_as_an_override_with_its_justification(
    officer_client, credit_system, ml_engineer, compliance_officer
):
    from governance.services import determination_override, determination_submit

    determination = determination_submit(system=credit_system, actor=ml_engineer, answers=MINIMAL)
    determination_override(
        determination=determination,
        actor=compliance_officer,
        outcome="high_risk_annex_iii",
        justification="Treated as 5(b) after legal review.",
    )
    page = officer_client.get(url("determination_detail", determination.pk)).content.decode()
    assert 'data-testid="override"' in page and "Treated as 5(b) after legal review." in page
    assert "The questionnaire's result was: Minimal risk" in page


def test_the_system_page_keeps_the_history_of_determinations(officer_client, approved, credit_system, ml_engineer):
    from governance.services import determination_submit

    determination_submit(system=credit_system, actor=ml_engineer, answers=CREDIT_SCORING)
    page = officer_client.get(url("system_classification", credit_system.pk)).content.decode()
    assert "#1" in page and "#2" in page and "Awaiting approval" in page and "Approved" in page


def test_needs_review_is_shown_on_the_pages(officer_client, approved, credit_system, ml_engineer):
    from models_registry.models import AISystem
    from models_registry.signals import system_changed

    system_changed.send(sender=AISystem, system=credit_system, changed_fields={"intended_use"}, actor=ml_engineer)
    for page in (url("system_classification", credit_system.pk), url("determination_detail", approved.pk)):
        assert 'data-testid="needs-review"' in officer_client.get(page).content.decode()


def test_the_board_shows_days_remaining_and_filters_by_status_article_and_overdue(officer_client, approved):
    today = timezone.localdate()
    Obligation.objects.update(due_date=today + timedelta(days=30), applies_from=today + timedelta(days=10))
    Obligation.objects.filter(article="Art. 10").update(due_date=today - timedelta(days=1), status="in_progress")
    page = officer_client.get(url("obligation_board")).content.decode()
    assert "10 days" in page and "Data and data governance" in page
    assert officer_client.get(url("obligation_board"), {"overdue": "true"}).context["page"].paginator.count == 1
    assert officer_client.get(url("obligation_board"), {"status": "in_progress"}).context["page"].paginator.count == 1
    assert officer_client.get(url("obligation_board"), {"article": "Art. 1"}).context["page"].paginator.count == 0
    assert officer_client.get(url("obligation_board"), {"article": "10"}).context["page"].paginator.count == 1


def test_bad_filter_values_give_an_empty_board_not_an_error(officer_client, approved):
    response = officer_client.get(url("obligation_board"), {"system": "abc", "owner": "999999", "status": "bogus"})
    assert response.status_code == 200


def test_the_board_does_not_query_per_row(
    officer_client, approved, credit_system, ml_engineer, compliance_officer, django_assert_max_num_queries
):
    from governance.services import determination_approve, determination_submit
    from models_registry.models import AISystem

    for name in ("Second", "Third"):
        system = AISystem.objects.create(
            organisation=credit_system.organisation, name=name, purpose="x", created_by=ml_engineer
        )
        determination_approve(
            determination=determination_submit(system=system, actor=ml_engineer, answers=CREDIT_SCORING),
            actor=compliance_officer,
        )
    Obligation.objects.update(owner=ml_engineer)
    with django_assert_max_num_queries(12):
        response = officer_client.get(url("obligation_board"))
    assert len(response.context["rows"]) == 57


def test_the_csv_export_lists_the_filtered_obligations_and_neutralises_formulas(officer_client, approved):
    Obligation.objects.filter(article="Art. 4").update(title="=HYPERLINK(1)")
    response = officer_client.get(url("obligation_export"), {"article": "Art. 4"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["system", "article", "title"]
    assert len(rows) == 2 and rows[1][2] == "'=HYPERLINK(1)"


@pytest.mark.parametrize("title", ["\t=1+1", "\r=1+1", "@SUM(A1)", "+1", "-1"])
def test_the_obligation_export_neutralises_tab_and_carriage_return_triggers_too(officer_client, approved, title):
    Obligation.objects.filter(article="Art. 4").update(title=title)
    response = officer_client.get(url("obligation_export"), {"article": "Art. 4"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert rows[1][2] == "'" + title


def test_the_obligation_page_offers_only_the_moves_the_table_allows(officer_client, obligation):
    page = officer_client.get(url("obligation_detail", obligation.pk)).content.decode()
    assert '<option value="in_progress">' in page
    assert '<option value="accepted">' not in page


def test_an_uploaded_document_can_be_downloaded_again(officer_client, obligation):
    from django.core.files.uploadedfile import SimpleUploadedFile

    officer_client.post(
        url("evidence_add", obligation.pk),
        {"kind": "document", "title": "Bias report", "file": SimpleUploadedFile("bias.txt", b"gaps")},
    )
    evidence = obligation.evidence.get()
    response = officer_client.get(url("evidence_download", evidence.pk))
    assert b"".join(response.streaming_content) == b"gaps"
    assert "bias.txt" in response["Content-Disposition"]


def test_evidence_of_the_wrong_shape_is_refused_with_a_message(officer_client, obligation):
    response = officer_client.post(url("evidence_add", obligation.pk), {"kind": "model_card"}, follow=True)
    assert "Choose a model version." in response.content.decode()
    assert not obligation.evidence.exists()


def test_the_assign_form_keeps_the_due_date_so_saving_an_owner_does_not_erase_it(officer_client, obligation):
    page = officer_client.get(url("obligation_detail", obligation.pk)).content.decode()
    assert f'name="due_date" value="{obligation.due_date.isoformat()}"' in page


def test_an_export_with_invalid_filters_answers_400_with_the_reason(officer_client, approved):
    response = officer_client.get(url("obligation_export"), {"status": "bogus"})
    assert response.status_code == 400 and b"status" in response.content
