"""Issue #13: a Chromium walk-through of the four roles' home pages. Each role logs in and finds what
waits for them; the admin assigns a submission's reviewers from the home page; each home is
photographed at desktop and phone width (artifacts/screenshots/home-queues-*)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.audits.certification_support import make_certifiable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def work(db):
    """A submission nobody reviews yet, a failed run of the engineer's, a determination the engineer
    answered and an obligation past its plan date."""
    from django.core.management import call_command

    from audits.certification.services import submission_create
    from audits.validation.services import validation_start
    from core.models import User
    from governance.models import Obligation
    from governance.services import determination_submit, obligation_bulk_assign
    from tests.audits.validation_support import finish_with_results, register_credit_system
    from tests.governance.conftest import CREDIT_SCORING

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    people = {user.username: user for user in User.objects.all()}
    ready = make_certifiable(people["engineer"], people["compliance"], name="Consumer credit scoring")
    submission = submission_create(actor=people["engineer"], model_version=ready.version, note="First certification.")
    run = validation_start(
        actor=people["engineer"], model_version=ready.version, test_dataset=ready.test, suite="standard"
    )
    failed = finish_with_results(run, [], status="failed")
    other = register_credit_system(people["engineer"], name="Credit line increases")
    determination_submit(system=other.system, actor=people["engineer"], answers=CREDIT_SCORING)
    obligation = Obligation.objects.filter(system=ready.system, applicable=True).order_by("pk").first()
    obligation_bulk_assign(
        obligation_ids=[obligation.pk],
        actor=people["compliance"],
        owner=people["engineer"],
        plan_date=timezone.localdate() - timedelta(days=3),
    )
    return {"submission": submission, "failed": failed, "obligation": obligation, "people": people}


def log_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=work-queues]")


def photograph(page, screenshot, name):
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        page.reload()
        page.wait_for_selector("[data-testid=work-queues]")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
        screenshot(f"home-queues-{name}-{width}")
    page.set_viewport_size({"width": 1440, "height": 1000})


def log_out(page):
    page.click("[data-testid=logout]")
    page.wait_for_selector("input[name=username]")


def test_four_roles_find_their_work_on_their_home_and_the_admin_assigns_reviewers_there(
    live_server, page, screenshot, work
):
    submission = work["submission"]

    log_in(page, live_server.url, "admin")
    unassigned = page.locator("[data-testid=queue-unassigned]")
    assert submission.reference in unassigned.inner_text()
    assert "needs auditor and compliance officer" in unassigned.inner_text()
    photograph(page, screenshot, "admin")
    for reviewer in ("auditor", "compliance"):
        form = page.locator("[data-testid=queue-unassigned] [data-testid=queue-action]").first
        name = work["people"][reviewer].get_full_name()
        label = next(o for o in form.locator("option").all_inner_texts() if o.startswith(name))
        form.locator("select").select_option(label=label)
        form.locator("button").click()
        page.wait_for_selector("#messages")
        assert f"is assigned to {submission.reference}" in page.inner_text("#messages")
        assert page.url.rstrip("/") == live_server.url
    assert page.locator("[data-testid=queue-unassigned]").get_attribute("data-count") == "0"
    assert "Every open submission has its reviewers." in page.inner_text("[data-testid=queue-unassigned]")
    log_out(page)

    log_in(page, live_server.url, "auditor")
    reviews = page.locator("[data-testid=queue-reviews]")
    assert submission.reference in reviews.inner_text() and "undecided" in reviews.inner_text()
    photograph(page, screenshot, "auditor")
    reviews.locator("a", has_text=submission.reference).click()
    page.wait_for_selector("[data-testid=submission-status]")
    assert f"/certification/submissions/{submission.pk}/" in page.url
    log_out(page)

    log_in(page, live_server.url, "engineer")
    assert f"Validation #{work['failed'].pk}" in page.inner_text("[data-testid=queue-failed_runs]")
    assert work["obligation"].title in page.inner_text("[data-testid=queue-obligations]")
    assert "overdue since" in page.inner_text("[data-testid=queue-obligations]")
    photograph(page, screenshot, "engineer")
    log_out(page)

    log_in(page, live_server.url, "compliance")
    determinations = page.inner_text("[data-testid=queue-determinations]")
    assert "Credit line increases" in determinations and "waiting for approval" in determinations
    assert submission.reference in page.inner_text("[data-testid=queue-reviews]")
    assert work["obligation"].title in page.inner_text("[data-testid=queue-obligations]")
    photograph(page, screenshot, "compliance")
