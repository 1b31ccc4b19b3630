"""The Annex IV documentation in Chromium: an engineer opens it from the system page, writes a point
and saves; a compliance officer working on an older copy is stopped with her text kept."""

import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HARDWARE = "Two x86-64 servers with 16 GB of memory in our own data centre."


@pytest.fixture
def system(db):
    from django.core.management import call_command

    from core.models import User
    from models_registry.models import AISystem

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    engineer = User.objects.get(username="engineer")
    return AISystem.objects.create(
        organisation=engineer.organisation,
        name="Consumer credit scoring",
        purpose="Scores consumer loan applicants.",
        created_by=engineer,
    )


def log_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")
    return page


def test_an_engineer_writes_a_point_and_a_stale_copy_is_refused_with_its_text_kept(
    live_server, browser, page, screenshot, system
):
    from django.urls import reverse

    from tests.e2e.conftest import SCREENSHOTS

    officer_context = browser.new_context(viewport={"width": 1366, "height": 860})
    officer = log_in(officer_context.new_page(), live_server.url, "compliance")
    officer.goto(live_server.url + reverse("reports:annex_iv_edit", args=[system.pk]))  # before the engineer saves

    log_in(page, live_server.url, "engineer")
    page.goto(live_server.url + reverse("registry:system_detail", args=[system.pk]))
    page.click("[data-testid=system-annex-iv]")
    page.fill("[data-testid=annex-text-1e]", HARDWARE)
    page.click("[data-testid=annex-save] >> nth=0")
    page.wait_for_selector("text=Saved point 1(e).")
    assert "Last edited by" in page.inner_text("[data-testid=annex-edited-1e]")
    screenshot("annex-iv-saved")

    officer.fill("[data-testid=annex-text-1e]", "Runs in the cloud.")
    officer.click("[data-testid=annex-save] >> nth=0")
    officer.wait_for_selector("[data-testid=annex-error]")
    assert officer.input_value("[data-testid=annex-text-1e]") == "Runs in the cloud."
    assert HARDWARE in officer.inner_text("[data-testid=annex-conflict-1e]")
    officer.locator("[data-testid=annex-item-1e]").screenshot(path=str(SCREENSHOTS / "annex-iv-conflict.png"))
    officer_context.close()
