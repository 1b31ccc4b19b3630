"""Issue #14 in Chromium: a compliance officer classifies an open-weights general-purpose AI model
(a model, not a system) and an authorised representative's HR screening system through the form,
using "None of these applies" for the Art. 5 block and giving a reason for one answer."""

import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.governance.rules.helpers import complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPEN_WEIGHTS_MODEL = complete(
    involves_gpai="yes", provider_offering="gpai_model", gpai_open_source="yes", gpai_third_country="yes"
)
REPRESENTATIVE = complete(roles=["authorised_representative"], annex3_areas=["employment"], annex3_4a_recruitment="yes")
UNANSWERED = """els => els.filter(e => !e.querySelector('input:checked')).map(e => e.dataset.question)"""
BUSY = "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"


@pytest.fixture
def systems(db):
    from django.core.management import call_command

    from core.models import Organisation, User
    from models_registry.models import AISystem

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    bank, engineer = Organisation.objects.get(slug="acme-bank"), User.objects.get(username="engineer")
    model = AISystem.objects.create(
        organisation=bank, name="Open-weights base model", purpose="A base LLM we publish.", created_by=engineer
    )
    screening = AISystem.objects.create(
        organisation=bank,
        name="CV screening (for a US provider)",
        purpose="Ranks job applicants; we represent the provider in the EU.",
        created_by=engineer,
    )
    return model, screening


def _log_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "compliance")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def _posting(page):
    return page.expect_response(lambda r: "/classify/" in r.url and r.request.method == "POST")


def _fill(page, answers, *, screens=()):
    """Answer question by question as they appear; a screen's block is answered with its button."""
    answered = []
    while pending := page.eval_on_selector_all("fieldset[data-question]", UNANSWERED):
        question_id = pending[0]
        assert question_id not in answered, f"{question_id} lost its answer"
        screen = next((s for s in screens if page.locator(f"[data-testid=screen-none-{s}]").count()), None)
        if screen and question_id in page.get_attribute(f"[data-screen={screen}]", "data-heads"):
            with _posting(page):
                page.click(f"[data-testid=screen-none-{screen}]")
            page.wait_for_function(BUSY)
            assert page.locator(f"[data-screen={screen}].is-folded").count() == 1
            continue
        values = answers[question_id]
        for value in values if isinstance(values, list) else [values]:
            with _posting(page):
                page.check(f"fieldset[data-question='{question_id}'] input[value='{value}']")
            page.wait_for_function(BUSY)
        answered.append(question_id)
    return answered


def test_an_open_weights_model_and_an_authorised_representative_are_classified_through_the_form(
    live_server, page, screenshot, systems
):
    model, screening = systems
    _log_in(page, live_server.url)

    # 1. The model: asked what it places on the market, then only the model's questions.
    page.goto(f"{live_server.url}/classification/systems/{model.pk}/classify/")
    answered = _fill(page, OPEN_WEIGHTS_MODEL)
    assert "provider_offering" in answered
    assert not {"art5_a_techniques", "annex3_areas", "art50_2_synthetic_content"} & set(answered)
    screenshot("classification-gpai-model-questionnaire")
    page.click("[data-testid=submit-classification]")
    page.wait_for_selector("[data-testid=headline]")
    assert page.inner_text("[data-testid=headline]") == "General-purpose AI model (Art. 53)"
    bases = page.inner_text("[data-testid=legal-bases]")
    assert "Art. 53(2)" in bases and "Art. 54(6)" in bases and "Art. 50(2)" not in bases
    screenshot("classification-gpai-model-result")

    # 2. The representative: one click for the eight Art. 5 points, a reason under the Annex III answer.
    page.goto(f"{live_server.url}/classification/systems/{screening.pk}/classify/")
    answered = _fill(page, REPRESENTATIVE, screens=("art5_practices",))
    assert "art5_c_social_scoring" not in answered  # answered by "None of these practices applies"
    page.locator("[data-testid=note-annex3_4a_recruitment] summary").click()
    with _posting(page):
        page.fill("#reason-annex3_4a_recruitment", "The provider's instructions for use say it ranks CVs.")
        page.locator("#reason-annex3_4a_recruitment").blur()
    page.wait_for_function(BUSY)
    screenshot("classification-representative-questionnaire")
    page.click("[data-testid=submit-classification]")
    page.wait_for_selector("[data-testid=headline]")
    assert "Annex III point 4(a)" in page.inner_text("[data-testid=headline]")
    assert "Art. 22" in page.inner_text("[data-testid=legal-bases]")
    whys = page.inner_text("[data-testid=obligation-whys]")
    assert "mandate" in whys.lower()
    assert "The provider's instructions for use say it ranks CVs." in page.content()
    screenshot("classification-representative-result")
