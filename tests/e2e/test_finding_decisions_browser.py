"""The submission review page in Chromium (issue #13, speed): the chart library is not loaded until
a chart is opened, and a finding is decided in place -- no reload, the scroll position kept, a
refusal shown on the card with the input kept."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.audits.certification_support import certifiable, in_review, submission  # noqa: F401
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLOTLY_REQUESTED = "() => performance.getEntriesByType('resource').some(r => r.name.includes('plotly.min.js'))"


def test_an_auditor_decides_a_finding_in_place_keeping_the_scroll_and_plotly_waits_for_a_chart(
    live_server, page, screenshot, in_review, auditor
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "400" not in m.text else None)
    page.set_viewport_size({"width": 1366, "height": 600})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", auditor.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")
    page.goto(live_server.url + reverse("certification:submission_detail", args=[in_review.pk]))
    page.wait_for_load_state("load")
    assert page.evaluate("() => window.Plotly === undefined") and not page.evaluate(PLOTLY_REQUESTED)
    page.evaluate("window.__not_reloaded = true")

    card = page.locator("[data-testid=finding-FAIR-02]")
    form = page.locator("[data-testid=decision-form-FAIR-02]")
    form.scroll_into_view_if_needed()
    scrolled = page.evaluate("() => window.scrollY")
    assert scrolled > 200, "the finding is far enough down the page for a jump to the top to show"

    # A refusal: accepting a risk needs a justification; the card says so and keeps the choice.
    form.locator("input[name$='-decision'][value=accept_risk]").check()
    form.locator("textarea[name$='-justification']").fill("short")
    form.locator("[data-testid=decide-FAIR-02]").click()
    card.locator(".errorlist, [role=alert]").first.wait_for()
    assert "at least 10 characters" in card.inner_text()
    assert form.locator("input[value=accept_risk]").is_checked()
    assert form.locator("textarea[name$='-justification']").input_value() == "short"
    assert abs(page.evaluate("() => window.scrollY") - scrolled) < 5

    # Then the decision: recorded on the card and in the counter, the page where it was.
    form.locator("textarea[name$='-justification']").fill("Within the documented appetite for this model.")
    form.locator("[data-testid=decide-FAIR-02]").click()
    card.locator("[data-testid=current-decision]").wait_for()
    assert "Accept the risk" in card.locator("[data-testid=current-decision]").inner_text()
    assert "1 of 2 findings decided" in page.inner_text("[data-testid=triage-progress]")
    assert abs(page.evaluate("() => window.scrollY") - scrolled) < 5
    assert page.evaluate("() => window.__not_reloaded === true"), "the page was not reloaded"
    assert not page.evaluate(PLOTLY_REQUESTED), "no chart shown yet, so no chart library"
    screenshot("finding-decided-in-place")

    # Opening a chart loads plotly and draws it.
    chart = page.locator("[data-testid=charts-PERF-01]")
    chart.locator("summary").click()
    chart.locator(".js-plotly-plot").first.wait_for(timeout=30000)
    assert page.evaluate(PLOTLY_REQUESTED)
    assert errors == [], "no script errors"


def test_the_pdf_report_button_shows_the_jobs_progress_and_then_the_download(
    live_server, page, in_review, auditor, monkeypatch
):
    from audits.reports import jobs, tasks

    held = []  # the job waits here, as on a busy worker, until the test lets it run
    monkeypatch.setattr(jobs, "task_send", lambda name, *, args=(), kwargs=None: held.append(args) or True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", auditor.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")
    page.goto(live_server.url + reverse("certification:submission_detail", args=[in_review.pk]))
    page.click("[data-testid=report-pdf]")
    page.wait_for_selector("#report-job-preparing:not([hidden])")
    assert "Preparing the PDF… Waiting for a worker (0%)" in page.inner_text("#report-job-preparing")
    assert held, "the job was handed to the worker queue"
    tasks.report_pdf_prepare.apply(args=held[0], throw=True)
    page.wait_for_selector("[data-testid=report-job-download]:visible", timeout=15000)  # found by polling
    assert page.is_hidden("#report-job-preparing")
    with page.expect_download(timeout=60000) as download:
        page.click("[data-testid=report-job-download]")
    assert download.value.suggested_filename.endswith(".pdf")
