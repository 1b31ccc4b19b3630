"""A compliance officer raises a risk from a validation finding in Chromium, finds it on the
heatmap (clicking its cell lists it) and exports the register as CSV and XLSX."""

from __future__ import annotations

import csv
import io

import pytest

from audits.management.commands.seed_demo import DEMO_PASSWORD
from tests.governance.test_risk_support import make_finding, make_run, seed_threat_library

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def finding(db):
    from django.core.management import call_command

    from core.models import Organisation, User
    from models_registry.models import AISystem

    call_command("seed_demo", "--quiet-summary", "--force", "--without-examples")
    seed_threat_library()
    engineer = User.objects.get(username="engineer")
    system = AISystem.objects.create(
        organisation=Organisation.objects.get(slug="acme-bank"),
        name="Consumer credit scoring",
        purpose="Scores applicants for consumer loans.",
        lifecycle_stage="validation",
        created_by=engineer,
    )
    return make_finding(
        make_run(system, engineer),
        check_id="FAIR-02",
        severity="critical",
        category="fairness",
        title="Approval rates differ by sex beyond the policy's limit",
    )


def _log_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")


CELL_CENTRE = """([el, x, y]) => {
  const layout = el._fullLayout, box = el.getBoundingClientRect();
  return {x: box.left + layout.xaxis._offset + layout.xaxis.l2p(x),
          y: box.top + layout.yaxis._offset + layout.yaxis.l2p(y)};
}"""


def test_a_compliance_officer_raises_a_risk_from_a_finding_sees_it_on_the_heatmap_and_exports_the_register(
    live_server, page, screenshot, finding
):
    _log_in(page, live_server.url, "compliance")
    page.click("nav.sidenav >> text=Risk register")
    page.wait_for_selector("[data-testid=risk-table]")
    assert "No risks match." in page.inner_text("[data-testid=risk-table]")

    # The dashboard lists the open finding with its one-click button.
    page.click("nav.subnav >> text=Compliance dashboard")
    page.wait_for_selector("[data-testid=open-findings]")
    assert page.inner_text("[data-testid=findings-critical]") == "1 critical"
    assert page.inner_text("[data-testid=certificates-valid]") == "0"  # no certificate issued yet
    screenshot("risk-dashboard-before")
    page.click(f"[data-testid=raise-risk-{finding.pk}]")

    page.wait_for_selector("[data-testid=risk-title]")
    assert "R-1 · Approval rates differ by sex" in page.inner_text("[data-testid=risk-title]")
    facts = page.inner_text("[data-testid=risk-facts]")
    assert "Validation finding" in facts and "Bias and discrimination" in facts and "= 20" in facts
    assert page.is_visible("[data-testid=above-appetite]")  # 4 × 5 = 20, above the default appetite of 9
    assert "risk.raised_from_source" in page.inner_text("[data-testid=risk-history]")
    screenshot("risk-raised-from-finding")
    # The link goes both ways: the risk names its finding, the dashboard names the risk.
    assert page.get_attribute("[data-testid=source-link]", "href") == f"/findings/?run={finding.run_id}"
    page.goto(f"{live_server.url}/compliance/")
    assert page.inner_text(f"[data-testid=finding-risks-{finding.pk}] [data-testid=raised-risk]") == "R-1"
    assert page.inner_text("[data-testid=risks-above-appetite]") == "1"

    # The heatmap shows it in the likelihood 4 × impact 5 cell; clicking the cell lists it.
    page.goto(f"{live_server.url}/risks/heatmap/")
    page.wait_for_selector("#heatmap-inherent[data-drawn=true]")
    page.wait_for_selector("#heatmap-inherent .hm text, #heatmap-inherent text.textpoint, #heatmap-inherent g.text")
    assert page.evaluate("() => document.getElementById('heatmap-inherent').data[0].text[4][3]") == "1"
    assert "1" in page.eval_on_selector_all("#heatmap-inherent svg text", "els => els.map(e => e.textContent)")
    screenshot("risk-heatmap")
    centre = page.evaluate(CELL_CENTRE, [page.query_selector("#heatmap-inherent"), 4, 5])
    with page.expect_navigation():
        page.mouse.click(centre["x"], centre["y"])
    assert "likelihood=4" in page.url and "impact=5" in page.url
    page.wait_for_selector("[data-testid=risk-row-R-1]")
    screenshot("risk-register-cell")

    # Export the register.
    page.click("nav.subnav >> text=Register")
    page.wait_for_selector("[data-testid=risk-row-R-1]")
    with page.expect_download() as download_info:
        page.click("[data-testid=export-csv]")
    rows = list(csv.DictReader(io.StringIO(open(download_info.value.path(), encoding="utf-8").read())))
    assert [(r["reference"], r["inherent_score"], r["source_type"]) for r in rows] == [("R-1", "20", "audits.finding")]
    with page.expect_download() as download_info:
        page.click("[data-testid=export-xlsx]")
    from openpyxl import load_workbook

    assert download_info.value.suggested_filename.endswith(".xlsx")
    with open(download_info.value.path(), "rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
    assert sheet["A2"].value == "R-1" and sheet.max_row == 2
    screenshot("risk-register")
