"""The run page: the "queued" message shown when a run is started goes once the status card,
updated in place, reports the run finished. The test plays the worker's part."""

import pytest
from django.urls import reverse

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.audits.certification_support import RESULTS
from tests.audits.validation_support import finish_with_results, register_credit_system

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_users(db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")


def test_the_start_message_goes_once_the_run_has_finished(live_server, page, screenshot, demo_users, monkeypatch):
    from audits.models import ValidationRun
    from core.models import User

    monkeypatch.setattr("audits.validation.services._enqueue", lambda run_id: None)
    credit = register_credit_system(User.objects.get(username="engineer"), name="Credit scoring (run page)")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "engineer")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")
    page.goto(live_server.url + reverse("audits:validation_create", args=[credit.system.pk]))
    page.click("[data-testid=validation-form] [data-testid=start-run]")
    page.wait_for_selector("[data-testid=run-status][data-status=queued]")
    assert "started" in page.inner_text("#messages")
    page.evaluate("window.__not_reloaded = true")

    finish_with_results(ValidationRun.objects.get(), RESULTS)
    page.wait_for_selector("[data-testid=run-status][data-status=succeeded]", timeout=20000)
    page.wait_for_function("!document.getElementById('messages') || !document.getElementById('messages').textContent")
    assert page.evaluate("window.__not_reloaded === true")
    assert "queued" not in page.inner_text("main").lower()
    assert "started with" not in page.inner_text("main")
    screenshot("run-page-finished")
