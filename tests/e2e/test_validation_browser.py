"""An ML engineer starts a validation in Chromium, watches it progress without reloading, and reads
the results with their charts and the findings. A real Celery worker runs the validation."""

import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.audits.validation_support import register_credit_system

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_users(db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")


def log_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_an_ml_engineer_starts_a_validation_watches_it_and_reads_results_and_findings(
    live_server, page, screenshot, demo_users, celery_worker_process
):
    from core.models import User

    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{message.text} {message.location.get('url', '')}")
            if message.type == "error" and "favicon" not in message.location.get("url", "")
            else None
        ),
    )
    credit = register_credit_system(
        User.objects.get(username="engineer"), name="Credit scoring (validation)", test_rows=3000
    )  # big enough for the run to take a few seconds
    log_in(page, live_server.url, "engineer")
    page.click("nav.sidenav >> text=Validations")
    page.select_option("[data-testid=start-validation] select[name=system]", label=credit.system.name)
    page.click("[data-testid=start-validation] button[type=submit]")

    form = page.locator("[data-testid=validation-form]")
    form.locator("select[name=train_dataset]").select_option(str(credit.train.pk))
    form.locator("select[name=suite]").select_option("full")
    form.locator("textarea[name=policy_overrides]").fill("performance.min_auc = 0.7")
    screenshot("validation-start-form")
    form.locator("[data-testid=start-run]").click()

    # The page polls the run's status: the bar moves without a reload.
    page.wait_for_selector(
        "[data-testid=run-status][data-status=running] [data-testid=current-check]:has-text('Now:')", timeout=90000
    )
    screenshot("validation-progress")  # taken while the run is running, the moment a check is shown
    page.evaluate("window.__not_reloaded = true")
    page.wait_for_selector("[data-testid=run-status][data-status=succeeded]", timeout=180000)
    assert page.evaluate("window.__not_reloaded === true"), "the page was updated in place, not reloaded"
    assert "Finished in" in page.inner_text("[data-testid=run-status]")

    page.click("[data-testid=open-results]")
    page.wait_for_selector("[data-testid=family-performance]")
    charts = page.locator("details.js-charts")
    assert charts.count() > 0
    assert page.locator(".js-plotly-plot").count() == 0, "charts are drawn only when opened"
    first = page.locator("[data-testid=family-performance] details.js-charts").first
    first.locator("summary").click()
    first.locator(".js-plotly-plot").first.wait_for(timeout=30000)
    assert page.locator(".plotly .main-svg").count() > 0
    screenshot("validation-results")
    first.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot("validation-results").with_name("validation-results-chart.png")))

    page.go_back()
    page.click("[data-testid=open-findings]")
    page.wait_for_selector("[data-testid=finding-table]")
    assert page.locator("[data-testid=finding-table] tbody tr.finding-row").count() > 0
    page.locator("[data-testid=finding-table] tbody tr.finding-row details summary").first.click()
    screenshot("validation-findings")
    page.click("nav.sidenav >> text=Validations")
    assert "Succeeded" in page.inner_text("[data-testid=validation-table]")
    screenshot("validation-list")
    assert errors == [], "no script errors on any page"
