"""Every main page fits a 390 px phone and a 1440 px desktop without scrolling sideways: wide
tables scroll inside their own box, long words wrap, and charts keep their labels and titles in
view. One log-in per role; each page is measured at both widths and photographed."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.audits.certification_support import RESULTS, decide_all, make_certifiable
from tests.audits.validation_support import sample_result

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1440)
LONG_FEATURES = [
    "months_since_most_recent_delinquency_on_any_revolving_account",
    "ratio_of_outstanding_unsecured_debt_to_declared_annual_income",
    "age",
    "number_of_credit_enquiries_in_the_last_six_months",
]


@dataclass
class Demo:
    system: object
    version: object
    dataset: object
    run: object
    submission: object
    certificate: object
    risk: object


def shap_result() -> dict:
    """An explainability result with the engine's own chart builders and long feature names (the
    ones real credit data sets have), so clipped tick labels would show."""
    from audits.checks import charts

    result = sample_result("XAI-01", "pass", family="explainability")
    result["status"], result["severity"] = "info", "info"
    result["charts"] = [
        charts.bars(
            LONG_FEATURES, [0.31, 0.22, 0.12, 0.05], "Mean |SHAP| by feature", "Mean |SHAP|", "Feature", horizontal=True
        ),
        charts.strip(LONG_FEATURES, [[0.1, -0.2, 0.3]] * 4, [[1.0, 2.0, 3.0]] * 4),
    ]
    return result


@pytest.fixture
def demo(db):
    from django.core.management import call_command

    from audits.certification.services import reviewer_assign, submission_create, submission_sign
    from core.models import User
    from governance.risks.services import risk_create

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    people = {user.username: user for user in User.objects.all()}
    ready = make_certifiable(
        people["engineer"], people["compliance"], name="Consumer credit scoring", results=[*RESULTS, shap_result()]
    )
    submission = submission_create(
        actor=people["engineer"],
        model_version=ready.version,
        note="First certification of the credit model; see the_very_long_reference_without_any_spaces_" + "x" * 60,
    )
    for reviewer in ("auditor", "compliance"):
        reviewer_assign(actor=people["admin"], submission=submission, reviewer=people[reviewer])
    decide_all(submission, people["auditor"])
    submission_sign(
        actor=people["auditor"],
        submission=submission,
        decision="approve_with_conditions",
        password=DEMO_PASSWORD,
        reason="Every finding reviewed; approval once monitoring is live.",
        conditions=[
            {
                "text": "Set up drift monitoring for applicants over 60",
                "owner": people["engineer"],
                "due_date": timezone.localdate() + timedelta(days=30),
            }
        ],
        valid_until=timezone.localdate() + timedelta(days=180),
    )
    submission_sign(
        actor=people["compliance"],
        submission=submission,
        decision="approve",
        password=DEMO_PASSWORD,
        reason="Classification and obligations are in order.",
    )
    submission.refresh_from_db()
    risk = risk_create(
        actor=people["compliance"],
        data={
            "title": "Unfair declines for young applicants",
            "category": "bias",
            "likelihood": 3,
            "impact": 4,
            "systems": [ready.system],
        },
    )
    return Demo(ready.system, ready.version, ready.test, ready.run, submission, submission.certificate, risk)


def _pdf_job(submission):
    """A PDF report job waiting for a worker (its page shows the progress)."""
    from audits.reports.jobs import report_source_sha256
    from audits.reports.models import ReportJob

    return ReportJob.objects.create(
        organisation_id=submission.organisation_id,
        submission=submission,
        requested_by=submission.submitted_by,
        source_sha256=report_source_sha256(submission),
        stage="Waiting for a worker",
    )


def pages_for(role: str, demo: Demo) -> list[tuple[str, str]]:
    """(name, path) of the main pages each role works in."""
    common = [(f"home-{role}", reverse("home"))]
    by_role = {
        "engineer": [
            ("inventory", reverse("registry:system_list")),
            ("system", reverse("registry:system_detail", args=[demo.system.pk])),
            ("version", reverse("registry:version_detail", args=[demo.version.pk])),
            ("annex-iv", reverse("reports:annex_iv_edit", args=[demo.system.pk])),
            ("dataset", reverse("registry:dataset_detail", args=[demo.dataset.pk])),
            ("validations", reverse("audits:validation_list")),
            ("validation-form", reverse("audits:validation_create", args=[demo.system.pk])),
            ("validation-run", reverse("audits:validation_detail", args=[demo.run.pk])),
            ("validation-results", reverse("audits:validation_results", args=[demo.run.pk])),
            ("findings", reverse("audits:finding_list")),
            ("notifications", reverse("notification_list")),
            ("notification-preferences", reverse("notification_preferences")),
            ("api-tokens", reverse("token_list")),
        ],
        "auditor": [
            ("certification", reverse("certification:submission_list")),
            ("submission", reverse("certification:submission_detail", args=[demo.submission.pk])),
            ("findings-auditor", reverse("audits:finding_list")),
            ("pdf-job", reverse("reports:report_job", args=[_pdf_job(demo.submission).pk])),
        ],
        "compliance": [
            ("classification", reverse("governance:classification_list")),
            ("obligations", reverse("governance:obligation_board")),
            ("risk-register", reverse("governance:risk_list")),
            ("risk-form", reverse("governance:risk_create")),
            ("risk-edit", reverse("governance:risk_edit", args=[demo.risk.pk])),
            ("heatmap", reverse("governance:risk_heatmap")),
            ("compliance-dashboard", reverse("dashboard:compliance")),
        ],
        "admin": [
            ("audit-trail", reverse("audits:event_list")),
            ("users", reverse("user_list")),
            ("organisation-settings", reverse("organisation_settings")),
        ],
    }
    return common + by_role[role]


def log_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")


# Charts: every tick label inside the chart's box, and the title clear of plotly's toolbar.
CHART_PROBLEMS = """() => {
  const problems = [];
  document.querySelectorAll('.js-plotly-plot').forEach((plot) => {
    const box = plot.getBoundingClientRect();
    plot.querySelectorAll('.ytick text, .xtick text').forEach((tick) => {
      const r = tick.getBoundingClientRect();
      if (r.width && (r.left < box.left - 1 || r.right > box.right + 1)) problems.push('clipped tick ' + tick.textContent);
    });
    const title = plot.querySelector('.gtitle');
    const bar = plot.querySelector('.modebar');
    if (title && bar) {
      const t = title.getBoundingClientRect(), b = bar.getBoundingClientRect();
      if (t.left < b.right && b.left < t.right && t.top < b.bottom && b.top < t.bottom) problems.push('toolbar over ' + title.textContent);
    }
  });
  return problems;
}"""


# The elements that stick out of the window while their parent does not: where to look.
CULPRITS = """(width) => {
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
    + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '');
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const out = [];
  document.querySelectorAll('body *').forEach((el) => {
    if (scrolls(el)) return;
    const parent = el.parentElement;
    if (el.getBoundingClientRect().right > width + 1 && parent && parent.getBoundingClientRect().right <= width + 1) {
      out.push(name(parent) + ' > ' + name(el));
    }
  });
  return out.slice(0, 4);
}"""


# Fields of a two-column form grid (.form-grid): how many columns, by their distinct left edges.
FORM_COLUMNS = """() => new Set([...document.querySelectorAll('.form-grid > *')]
  .map((el) => Math.round(el.getBoundingClientRect().left))).size"""


def measure(page, screenshot, url: str, name: str, problems: list[str]) -> None:
    """Open `url` at each width (as a phone or a desktop loads it) and record what does not fit."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        page.wait_for_selector("h1")
        if name == "validation-results":
            open_charts(page)
        page.wait_for_timeout(150)  # plotly finishes drawing
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            culprits = ", ".join(page.evaluate(CULPRITS, width))
            problems.append(f"{name} is {scroll_width} px wide at {width} px ({culprits})")
        problems.extend(f"{name} at {width} px: {issue}" for issue in page.evaluate(CHART_PROBLEMS))
        text = page.inner_text("main")
        if "{#" in text or "{%" in text:
            problems.append(f"{name} shows template code: {text[text.find('{') :][:60]!r}")
        columns = page.evaluate(FORM_COLUMNS)
        if width < 700 and columns > 1:
            problems.append(f"{name}'s form has {columns} columns of fields at {width} px")
        screenshot(f"layout-{width}-{name}")


def open_charts(page) -> None:
    """Open a performance and the SHAP check's charts on the results page (drawn on first opening)."""
    for check_id in ("PERF-01", "XAI-01"):
        charts = page.locator(f"[data-testid=charts-{check_id}]")
        charts.locator("summary").click()
        charts.locator(".js-plotly-plot").first.wait_for(timeout=30000)


def test_every_main_page_fits_a_phone_and_a_desktop_without_scrolling_sideways(live_server, page, screenshot, demo):
    problems: list[str] = []
    for role in ("engineer", "auditor", "compliance", "admin"):
        log_in(page, live_server.url, role)
        for name, path in pages_for(role, demo):
            measure(page, screenshot, live_server.url + path, name, problems)
        page.click("[data-testid=logout]")
        page.wait_for_selector("input[name=username]")
    url = live_server.url + reverse("certificate_verify_id", args=[demo.certificate.pk])
    measure(page, screenshot, url, "public-verification", problems)
    assert problems == [], "\n".join(problems)
