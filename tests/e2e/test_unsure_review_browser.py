"""Issue #14 defect 7 in Chromium: a result that rests on an "unsure" answer reads "Needs review
(provisional)" with its open point; the compliance officer cannot approve it without justifying the
stricter reading, and the justification is shown on the page once approved."""

import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.governance.rules.helpers import complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCORING_UNSURE = complete(
    roles=["provider"], art5_c_social_scoring="yes", art5_c_unrelated_context="unsure", art5_c_disproportionate="no"
)
REASON = "The score is shared with the landlord association, so we prepare for Art. 5(1)(c) until legal confirms."


@pytest.fixture
def determination(db):
    from django.core.management import call_command

    from core.models import Organisation, User
    from governance.services import determination_submit
    from models_registry.models import AISystem

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    engineer = User.objects.get(username="engineer")
    system = AISystem.objects.create(
        organisation=Organisation.objects.get(slug="acme-bank"),
        name="Tenant reliability score",
        purpose="Scores tenants' payment behaviour over time.",
        created_by=engineer,
    )
    return determination_submit(system=system, actor=engineer, answers=SCORING_UNSURE)


def test_an_unsure_answer_keeps_the_result_provisional_until_the_officer_justifies_it(
    live_server, page, screenshot, determination
):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "compliance")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    page.goto(f"{live_server.url}/classification/determinations/{determination.pk}/")
    assert page.inner_text("[data-testid=headline]").startswith("Needs review (provisional)")
    point = page.inner_text("[data-testid=open-point-art5_c_unrelated_context]")
    assert "Art. 5(1)(c)" in point and '"Yes"' in point
    screenshot("classification-unsure-open-points")

    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=approval-error]")
    assert "justify relying on the stricter reading" in page.inner_text("[data-testid=approval-error]")

    page.fill("[data-testid=unsure-justification-art5_c_unrelated_context]", REASON)
    page.click("[data-testid=approve]")
    page.wait_for_selector("text=Classification approved")
    assert page.inner_text("[data-testid=determination-status]") == "Approved"
    assert REASON in page.inner_text("[data-testid=unsure-justification]")
    assert not page.inner_text("[data-testid=headline]").startswith("Needs review")
    screenshot("classification-unsure-justified")
