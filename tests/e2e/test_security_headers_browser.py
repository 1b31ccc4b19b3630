"""The Content-Security-Policy does not break the portal (issue #12 item 14): in Chromium, the main
pages -- plotly charts on a validation run and the risk heatmap, htmx polling of a running
validation, the API docs -- render with the policy on and the browser reports no violation."""

from __future__ import annotations

import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.governance.test_risk_support import make_risk, make_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = {
    "data": [{"type": "bar", "x": ["women", "men"], "y": [0.61, 0.72]}],
    "layout": {"title": {"text": "Approval rate by sex"}},
}
WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
"""


@pytest.fixture
def portal(db):
    from django.core.management import call_command

    from audits.models import CheckResultRecord
    from core.models import Organisation, User
    from models_registry.models import AISystem

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    engineer, officer = User.objects.get(username="engineer"), User.objects.get(username="compliance")
    system = AISystem.objects.create(
        organisation=Organisation.objects.get(slug="acme-bank"),
        name="Consumer credit scoring",
        purpose="Scores applicants for consumer loans.",
        lifecycle_stage="validation",
        created_by=engineer,
    )
    finished = make_run(system, engineer)
    CheckResultRecord.objects.create(
        run=finished,
        check_id="FAIR-02",
        family="fairness",
        name="Demographic parity",
        status="fail",
        severity="high",
        value=0.61,
        summary="Approval rates differ.",
        charts=[CHART],
    )
    running = make_run(system, engineer)
    running.status, running.stage, running.checks_total = "running", "Checking fairness", 10
    running.save()
    for likelihood, impact in ((4, 5), (2, 1)):
        make_risk(officer, [system], likelihood=likelihood, impact=impact)
    return {"finished": finished, "running": running}


def log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


def test_the_main_pages_render_under_the_content_security_policy_without_a_violation(live_server, browser, portal):
    from tests.e2e.conftest import SCREENSHOTS

    context = browser.new_context(viewport={"width": 1366, "height": 860})
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15000)
    reports, headers = [], {}
    page.on(
        "console",
        lambda m: (
            reports.append(m.text)
            if "Content Security Policy" in m.text or "Permissions-Policy" in m.text or "Permissions policy" in m.text
            else None
        ),
    )
    page.on("pageerror", lambda error: reports.append(f"page error: {error}"))
    page.on("response", lambda r: headers.setdefault(r.url.split("?")[0], r.headers))
    base = live_server.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def screenshot(name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def visit(path: str) -> None:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        reports.extend(page.evaluate("window.__csp.splice(0)"))

    log_in(page, base, "engineer")
    for path in ("/", "/systems/", "/validations/", "/findings/", "/audit-trail/"):
        visit(path)
    # htmx: a running validation polls its status and swaps it in place.
    with page.expect_response(lambda r: f"/validations/{portal['running'].pk}/status/" in r.url):
        visit(f"/validations/{portal['running'].pk}/")
    page.wait_for_selector("[data-testid=run-status]")
    reports.extend(page.evaluate("window.__csp.splice(0)"))
    # plotly: a check's charts are fetched and drawn when opened.
    visit(f"/validations/{portal['finished'].pk}/results/")
    page.locator("details.js-charts summary").first.click()
    page.wait_for_selector("details.js-charts .main-svg")
    screenshot("csp-validation-chart")
    reports.extend(page.evaluate("window.__csp.splice(0)"))
    visit("/api/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=20000)
    reports.extend(page.evaluate("window.__csp.splice(0)"))

    context.clear_cookies()
    log_in(page, base, "compliance")
    for path in ("/risks/", "/obligations/", "/compliance/"):
        visit(path)
    visit("/risks/heatmap/")
    page.wait_for_selector(".js-plotly-plot .main-svg")
    screenshot("csp-risk-heatmap")
    reports.extend(page.evaluate("window.__csp.splice(0)"))
    visit("/certificates/verify/")
    context.close()

    assert reports == [], "\n".join(reports)
    page_headers = headers[f"{base}/risks/heatmap/"]
    assert "script-src 'self'" in page_headers["content-security-policy"]
    assert "unsafe-eval" not in page_headers["content-security-policy"]
    assert "camera=()" in page_headers["permissions-policy"]
    assert "no-store" in page_headers["cache-control"]
