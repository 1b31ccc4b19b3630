import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOME_HEADINGS = {
    "engineer": "Your models and systems",
    "auditor": "Your audit work",
    "compliance": "Compliance overview",
    "admin": "Organisation administration",
    "globex.engineer": "Your models and systems",
}


@pytest.fixture
def demo_users(db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")


@pytest.mark.parametrize("username", list(HOME_HEADINGS))
def test_each_demo_role_logs_in_sees_its_home_page_and_logs_out(live_server, page, screenshot, demo_users, username):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == HOME_HEADINGS[username]
    assert page.is_visible("[data-testid=card-me]")
    nav = page.inner_text("nav.sidenav")
    for area in ("Home", "Inventory", "Validations", "Classification", "Obligations", "Risk register"):
        assert area in nav
    screenshot(f"home-{username}")
    page.click("[data-testid=logout]")
    page.wait_for_url("**/accounts/login/")


def test_an_admin_invites_a_user_and_finds_the_event_in_the_audit_trail(live_server, page, screenshot, demo_users):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.sidenav >> text=Users")
    form = page.locator("[data-testid=user-create-form]")
    form.locator("input[name=username]").fill("new.auditor")
    form.locator("input[name=email]").fill("new.auditor@acme-bank.example")
    form.locator("select[name=role]").select_option("auditor")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=was created and invited")
    page.wait_for_selector("[data-testid=object-trail] >> text=user.created")
    screenshot("user-created")
    page.click("nav.sidenav >> text=Audit trail")
    page.select_option("select[name=verb]", "user.created")
    page.wait_for_selector("[data-testid=audit-table] >> text=new.auditor")
    assert "user.created" in page.inner_text("[data-testid=audit-table]")
    screenshot("audit-trail-filtered")


@pytest.mark.parametrize("username", ["engineer", "compliance"])
def test_on_a_phone_every_area_is_reachable_from_the_menu_and_no_page_scrolls_sideways(
    live_server, page, screenshot, demo_users, username
):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    assert page.is_visible("[data-testid=logout]"), "the header wraps instead of pushing Log out off screen"
    for area in ("Inventory", "Validations", "Risk register", "Home"):
        link = page.locator("nav.sidenav a", has_text=area).first
        link.scroll_into_view_if_needed()
        assert link.is_visible(), f"{area} is not in the phone menu"
        link.click()
        page.wait_for_selector("h1")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{page.url} is {width} px wide on a 390 px phone"
    screenshot(f"phone-home-{username}")
