"""A compliance officer classifies the bank's credit-scoring system in Chromium; a second compliance
officer approves the high-risk result (the four-eyes rule) and finds its obligations on the board."""

import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.governance.rules.helpers import area, complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CREDIT_SCORING = complete(
    roles=["provider"], **area("essential_services", annex3_5b_creditworthiness="yes", art6_3_profiling="yes")
)
UNANSWERED = """els => els.filter(e => !e.querySelector('input:checked')).map(e => e.dataset.question)"""


@pytest.fixture
def credit_system(db):
    from django.core.management import call_command

    from core.models import Organisation, User
    from models_registry.models import AISystem

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    second = User.objects.create(
        username="compliance2",
        first_name="Conrad",
        last_name="Second",
        organisation=Organisation.objects.get(slug="acme-bank"),
        role="compliance_officer",
    )
    second.set_password(DEMO_PASSWORD)
    second.save()
    return AISystem.objects.create(
        organisation=Organisation.objects.get(slug="acme-bank"),
        name="Consumer credit scoring",
        purpose="Scores applicants for consumer loans.",
        intended_use="Credit officers see a score and reasons.",
        created_by=User.objects.get(username="engineer"),
    )


def _log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def _answer(page, question_id, value):
    """Tick one answer; htmx saves the draft and re-renders the questions that now matter."""
    with page.expect_response(lambda r: "/classify/" in r.url and r.request.method == "POST"):
        page.check(f"fieldset[data-question='{question_id}'] input[value='{value}']")
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")


def test_a_compliance_officer_classifies_credit_scoring_approves_it_and_sees_the_obligations(
    live_server, page, screenshot, credit_system
):
    _log_in(page, live_server.url, "compliance")
    page.click("nav.sidenav >> text=Classification")
    page.wait_for_selector("[data-testid=classification-table]")
    screenshot("classification-list")
    page.click(f"tr:has-text('{credit_system.name}') >> text=Classify")
    page.wait_for_selector("fieldset[data-question='is_ai_system']")
    assert page.locator("fieldset[data-question='roles']").count() == 0  # appears once in scope

    answered = []
    while pending := page.eval_on_selector_all("fieldset[data-question]", UNANSWERED):
        question_id = pending[0]
        assert question_id not in answered, f"{question_id} lost its answer"
        values = CREDIT_SCORING[question_id]
        for value in values if isinstance(values, list) else [values]:
            _answer(page, question_id, value)
        answered.append(question_id)
        if question_id == "annex3_5b_creditworthiness":
            law = "fieldset[data-question='annex3_5b_creditworthiness'] details:not(.q-note)"
            page.locator(f"{law} summary").click()
            assert "creditworthiness" in page.inner_text(law)
    assert set(answered) == set(CREDIT_SCORING)
    assert f"{len(answered)} of {len(answered)} questions answered" in page.inner_text(
        "[data-testid=questionnaire-progress]"
    )
    screenshot("classification-questionnaire")

    # Leaving and coming back resumes the saved draft.
    page.reload()
    assert page.eval_on_selector_all("fieldset[data-question]", UNANSWERED) == []

    page.click("[data-testid=submit-classification]")
    page.wait_for_selector("[data-testid=headline]")
    assert "Annex III point 5(b)" in page.inner_text("[data-testid=headline]")
    assert "Annex III point 5(b)" in page.inner_text("[data-testid=legal-bases]")
    assert "creditworthiness" in page.inner_text("[data-testid=rationale]").lower()
    screenshot("classification-result")

    # She answered and submitted a high-risk result: the page says another officer must approve it.
    assert "another compliance officer must approve it" in page.inner_text("[data-testid=four-eyes]")
    assert page.is_disabled("[data-testid=approve]")
    screenshot("classification-four-eyes")
    determination_url = page.url
    page.context.clear_cookies()
    _log_in(page, live_server.url, "compliance2")
    page.goto(determination_url)
    page.click("[data-testid=approve]")
    page.wait_for_selector("text=Classification approved")
    assert page.inner_text("[data-testid=determination-status]") == "Approved"
    record = page.inner_text("[data-testid=record]")
    assert "Chloé Compliance" in record and "Conrad Second" in record and "Rules version" in record

    page.click("text=Obligations (19)")
    page.wait_for_selector("[data-testid=obligation-table]")
    table = page.inner_text("[data-testid=obligation-table]")
    for article in ("Art. 4", "Art. 9", "Art. 10", "Art. 15", "Art. 43", "Art. 72", "Art. 73"):
        assert article in table
    screenshot("obligations-board")

    page.click("nav.sidenav >> text=Obligations")
    page.select_option("select[name=status]", "not_started")
    page.wait_for_url("**status=not_started**")
    page.wait_for_selector("[data-testid=obligation-table] >> text=Risk management system")
    screenshot("obligations-board-org")

    # Work one obligation through: owner, evidence, submitted, accepted.
    page.click("[data-testid=obligation-table] >> text=Data and data governance")
    page.select_option("[data-testid=assign-form] select[name=owner]", label="Mia Engineer (ML engineer)")
    page.click("[data-testid=assign-form] button[type=submit]")
    page.wait_for_selector("text=Obligation updated.")
    assert "Mia Engineer" in page.inner_text("dl.facts") and "2 Aug 2026" in page.inner_text("dl.facts")
    for status in ("in_progress",):
        page.select_option("[data-testid=transition-form] select[name=to_status]", status)
        page.click("[data-testid=transition-form] button[type=submit]")
        page.wait_for_selector("text=Status updated.")
    evidence = page.locator("[data-testid=evidence-form]")
    evidence.locator("select[name=kind]").select_option("document")
    evidence.locator("input[name=title]").fill("Bias examination report Q3")
    evidence.locator("input[name=file]").set_input_files(
        files=[{"name": "bias-report.txt", "mimeType": "text/plain", "buffer": b"per-group gaps with CIs"}]
    )
    evidence.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=evidence-table] >> text=Bias examination report Q3")
    # the first evidence submits the obligation for review (issue #13)
    assert page.inner_text("[data-testid=obligation-status]") == "Evidence submitted"
    for status in ("accepted",):
        page.select_option("[data-testid=transition-form] select[name=to_status]", status)
        page.click("[data-testid=transition-form] button[type=submit]")
        page.wait_for_selector("text=Status updated.")
    assert page.inner_text("[data-testid=obligation-status]") == "Accepted"
    page.wait_for_selector("[data-testid=object-trail] >> text=obligation.status_changed")
    screenshot("obligation-detail")
