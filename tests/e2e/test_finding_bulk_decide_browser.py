"""In Chromium: an auditor ticks findings on the findings list and decides them with one
justification; the engineer finds one digest notification for the batch, marks it read with the
ticks, and chooses "portal only" for it. The pages fit a phone and a desktop."""

import pytest
from django.urls import reverse

from tests.audits.certification_support import make_certifiable
from tests.conftest import PASSWORD
from tests.e2e.test_responsive_layout_browser import measure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
JUSTIFICATION = "Known limitation, documented in the model card."


def log_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")


def log_out(page):
    page.click("[data-testid=logout]")
    page.wait_for_selector("input[name=username]")


def test_an_auditor_decides_ticked_findings_and_the_engineer_gets_one_digest(
    live_server, page, screenshot, ml_engineer, auditor, compliance_officer, org_admin
):
    from audits.certification.services import reviewer_assign, submission_create

    ready = make_certifiable(ml_engineer, compliance_officer)
    submission = submission_create(actor=ml_engineer, model_version=ready.version)
    reviewer_assign(actor=org_admin, submission=submission, reviewer=auditor)
    findings = list(ready.run.findings.order_by("pk"))
    problems: list[str] = []

    log_in(page, live_server.url, auditor.username)
    measure(page, screenshot, live_server.url + reverse("audits:finding_list"), "findings-bulk-decide", problems)
    page.set_viewport_size({"width": 390, "height": 900})
    page.check(f"[data-testid=choose-finding-{findings[0].pk}]")
    assert page.evaluate("document.querySelector('[data-testid=select-all-findings]').indeterminate")
    page.check("[data-testid=select-all-findings]")  # "tick all" of the page
    assert all(page.is_checked(f"[data-testid=choose-finding-{finding.pk}]") for finding in findings)
    page.select_option("select[name=decision]", "false_positive")
    page.fill("textarea[name=justification]", JUSTIFICATION)
    page.click("[data-testid=bulk-decide-submit]")
    page.wait_for_selector(f"text={len(findings)} findings decided.")
    screenshot("findings-bulk-decided-390")
    log_out(page)

    log_in(page, live_server.url, ml_engineer.username)
    measure(page, screenshot, live_server.url + reverse("notification_list"), "notifications-digest", problems)
    digest = page.locator("[data-testid=notification-list] li", has_text="decided")
    assert digest.count() == 1
    assert f"decided {len(findings)} findings on {submission.reference} ({len(findings)} false positive)" in (
        digest.inner_text()
    )
    digest.locator("input[type=checkbox]").check()
    page.click("[data-testid=notifications-read-selected]")
    page.wait_for_selector("text=1 notification marked as read.")

    page.click("[data-testid=notification-preferences-link]")
    page.check("[data-testid='portal-finding.decided']")
    page.click("[data-testid=preferences-save]")
    page.wait_for_selector("text=Your notification choices are saved.")
    assert page.is_checked("[data-testid='portal-finding.decided']")
    measure(page, screenshot, page.url, "notification-preferences", problems)
    assert problems == [], "\n".join(problems)
