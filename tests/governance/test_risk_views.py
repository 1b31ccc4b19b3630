"""The register's pages: filters, sorting, saved views, exports, the heatmap and trend, the risk
form and page, controls, the threat library and model, and the settings."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.risks.models import Risk, RiskSavedView
from tests.governance.conftest import events
from tests.governance.test_risk_support import control, credit_risk, make_risk  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


@pytest.fixture
def register(compliance_officer, ml_engineer, credit_system, control):
    yesterday = timezone.localdate() - timedelta(days=1)
    return {
        "high": make_risk(
            compliance_officer,
            [credit_system],
            title="Crafted applications",
            category="security",
            likelihood=4,
            impact=5,
            controls=[control],
        ),
        "low": make_risk(
            compliance_officer,
            [credit_system],
            title="Stale documentation",
            category="transparency",
            likelihood=1,
            impact=2,
            owner=ml_engineer,
        ),
        "overdue": make_risk(
            compliance_officer,
            [credit_system],
            title="Unreviewed drift",
            category="robustness",
            likelihood=2,
            impact=3,
            next_review_date=yesterday,
        ),
    }


def _titles(response) -> list[str]:
    return [r.title for r in response.context["page"].object_list]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("category=security", ["Crafted applications"]),
        ("owner={engineer}", ["Stale documentation"]),
        ("band=critical", ["Crafted applications"]),
        ("overdue=true", ["Unreviewed drift"]),
        ("above_appetite=true", ["Crafted applications"]),
        ("q=drift", ["Unreviewed drift"]),
        ("likelihood=4&impact=5", ["Crafted applications"]),
        ("sort=title", ["Crafted applications", "Stale documentation", "Unreviewed drift"]),
        ("sort=-score", ["Stale documentation", "Unreviewed drift", "Crafted applications"]),
    ],
)
def test_the_register_filters_and_sorts(officer, register, ml_engineer, query, expected):
    response = officer.get(reverse("governance:risk_list") + "?" + query.format(engineer=ml_engineer.pk))
    assert _titles(response) == expected


def test_rows_above_appetite_and_overdue_reviews_are_highlighted(officer, register):
    body = officer.get(reverse("governance:risk_list")).content.decode()
    assert 'class="above-appetite"' in body and "review overdue" in body


def test_htmx_filtering_returns_only_the_table(officer, register):
    response = officer.get(reverse("governance:risk_list") + "?category=security", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith("{% load") is False and 'id="register"' in body and "<html" not in body


def test_the_register_paginates(officer, compliance_officer, credit_system):
    for n in range(55):
        make_risk(compliance_officer, [credit_system], title=f"Risk {n}", likelihood=1, impact=1)
    first = officer.get(reverse("governance:risk_list"))
    assert len(first.context["page"].object_list) == 50 and first.context["page"].paginator.num_pages == 2


def test_a_saved_view_remembers_the_filters_per_user(officer, register, compliance_officer, ml_engineer, client):
    response = officer.post(
        reverse("governance:risk_view_save"),
        {"name": "Security above appetite", "query": "category=security&above_appetite=true"},
    )
    assert response.status_code == 302 and response["Location"].endswith("?category=security&above_appetite=true")
    view = RiskSavedView.objects.get()
    assert view.user == compliance_officer
    assert "Security above appetite" in officer.get(reverse("governance:risk_list")).content.decode()
    client.force_login(ml_engineer)
    assert "Security above appetite" not in client.get(reverse("governance:risk_list")).content.decode()
    assert client.post(reverse("governance:risk_view_delete", args=[view.pk])).status_code == 404


def test_the_csv_export_follows_the_filters(officer, register):
    response = officer.get(reverse("governance:risk_export", args=["csv"]) + "?category=security")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["title"] for r in rows] == ["Crafted applications"]
    assert rows[0]["inherent_score"] == "20" and rows[0]["above_appetite"] == "yes"
    assert rows[0]["controls"] == "Quarterly fairness review"


def test_the_xlsx_export_is_a_workbook_with_typed_cells(officer, register):
    from openpyxl import load_workbook

    response = officer.get(reverse("governance:risk_export", args=["xlsx"]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in row])) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 3 and {r["inherent_score"] for r in rows} == {20, 2, 6}


def test_exports_neutralise_spreadsheet_formulas(officer, compliance_officer, credit_system):
    make_risk(compliance_officer, [credit_system], title='=HYPERLINK("http://evil")')
    body = b"".join(officer.get(reverse("governance:risk_export", args=["csv"])).streaming_content).decode()
    assert "'=HYPERLINK" in body


TRIGGERS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("title", TRIGGERS)
def test_the_csv_export_neutralises_every_formula_trigger_tab_and_carriage_return_included(
    officer, compliance_officer, credit_system, title
):
    make_risk(compliance_officer, [credit_system], title=title)
    body = b"".join(officer.get(reverse("governance:risk_export", args=["csv"])).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["title"] for r in rows] == ["'" + title]


@pytest.mark.parametrize("title", TRIGGERS)
def test_the_xlsx_export_neutralises_every_formula_trigger_and_keeps_numbers_typed(
    officer, compliance_officer, credit_system, title
):
    from openpyxl import load_workbook

    make_risk(compliance_officer, [credit_system], title=title)
    response = officer.get(reverse("governance:risk_export", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    # XML turns a carriage return into a line feed on the way back; the apostrophe is what counts.
    assert row["title"].replace("\n", "\r") == "'" + title.replace("\n", "\r")
    assert sheet.cell(2, header.index("title") + 1).data_type == "s"
    assert isinstance(row["inherent_score"], int)


def test_the_heatmap_counts_risks_per_cell_and_links_to_them(officer, register):
    response = officer.get(reverse("governance:risk_heatmap"))
    counts = response.context["counts"]["inherent"]
    assert counts[5 - 1][4 - 1] == 1 and counts[2 - 1][1 - 1] == 1 and sum(map(sum, counts)) == 3
    figure = response.context["inherent_figure"]
    assert figure["data"][0]["type"] == "heatmap" and figure["data"][0]["customdata"][4][3] == 1
    body = response.content.decode()
    assert "likelihood=4&impact=5" in body and 'data-cell-url="/risks/?likelihood=__L__&amp;impact=__I__"' in body


def test_the_trend_counts_open_risks_from_creation_and_closing(officer, register, compliance_officer):
    from governance.risks.selectors import risk_open_trend, risk_queryset
    from governance.risks.services import risk_transition

    two_weeks_ago = timezone.now() - timedelta(days=15)
    Risk.objects.filter(pk=register["high"].pk).update(created_at=two_weeks_ago)
    risk_transition(risk=register["low"], actor=compliance_officer, to_status="closed")
    points = risk_open_trend(risk_queryset(user=compliance_officer), weeks=4)
    assert [n for _, n in points] == [0, 1, 1, 2]  # high since 15 days; low closed today; overdue open
    assert officer.get(reverse("governance:risk_heatmap")).context["trend_figure"]["data"][0]["y"][-1] == 2


def test_the_form_shows_the_scale_definitions_and_records_a_risk(officer, credit_system, compliance_officer):
    page = officer.get(reverse("governance:risk_create")).content.decode()
    assert "Expected about once a year." in page and "Serious or irreversible harm" in page
    response = officer.post(
        reverse("governance:risk_create"),
        {
            "title": "Vendor model changes silently",
            "category": "third_party",
            "source": "vendor_review",
            "systems": [credit_system.pk],
            "owner": compliance_officer.pk,
            "likelihood": 3,
            "impact": 3,
            "treatment": "transfer",
        },
    )
    risk = Risk.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("governance:risk_detail", args=[risk.pk])


def test_the_form_explains_a_refused_acceptance(officer, credit_system, compliance_officer):
    response = officer.post(
        reverse("governance:risk_create"),
        {
            "title": "x",
            "category": "bias",
            "source": "assessment",
            "systems": [credit_system.pk],
            "owner": compliance_officer.pk,
            "likelihood": 2,
            "impact": 2,
            "treatment": "accept",
        },
    )
    assert response.status_code == 422 and not Risk.objects.exists()
    assert "Accepting a risk needs a written justification" in response.content.decode()


def test_a_risk_page_shows_its_history_and_links(officer, credit_risk, compliance_officer):
    from governance.risks.services import risk_update

    risk_update(risk=credit_risk, actor=compliance_officer, changes={"impact": 5}, reason="New evidence")
    body = officer.get(reverse("governance:risk_detail", args=[credit_risk.pk])).content.decode()
    assert "risk.updated" in body and "New evidence" in body and "above the organisation's appetite" in body


def test_the_edit_page_saves_changes(officer, credit_risk, compliance_officer, credit_system):
    response = officer.post(
        reverse("governance:risk_edit", args=[credit_risk.pk]),
        {
            "title": "Renamed",
            "category": "bias",
            "source": "assessment",
            "systems": [credit_system.pk],
            "owner": compliance_officer.pk,
            "likelihood": 3,
            "impact": 4,
            "residual_likelihood": 1,
            "residual_impact": 2,
            "treatment": "mitigate",
            "reason": "After the fairness fix",
        },
    )
    assert response.status_code == 302
    credit_risk.refresh_from_db()
    assert (credit_risk.title, credit_risk.residual_score) == ("Renamed", 2)
    assert credit_risk.revisions.get(number=2).reason == "After the fairness fix"


def test_a_threat_prefills_the_risk_form(officer, credit_system):
    from governance.risks.models import Threat

    threat = Threat.objects.get(code="prompt_injection", organisation=None)
    response = officer.get(reverse("governance:risk_create") + f"?threat={threat.pk}&system={credit_system.pk}")
    form = response.context["form"]
    assert form.initial["title"] == "Prompt injection" and form.initial["systems"] == [credit_system.pk]


def test_the_threat_model_page_adds_components_and_lists_threats(officer, credit_system):
    response = officer.post(
        reverse("governance:component_add", args=[credit_system.pk]),
        {"kind": "serving_endpoint", "name": "Scoring API"},
    )
    assert response.status_code == 302
    body = officer.get(reverse("governance:threat_model", args=[credit_system.pk])).content.decode()
    assert "Scoring API" in body and "Adversarial input manipulation" in body and "Record a risk" in body


def test_controls_page_adds_a_control(officer, compliance_officer):
    response = officer.post(
        reverse("governance:control_list"),
        {
            "name": "Output moderation",
            "control_type": "detective",
            "effectiveness": "partial",
            "owner": compliance_officer.pk,
        },
    )
    assert response.status_code == 302 and events("control.created").count() == 1


def test_the_library_takes_an_organisations_own_threat(officer):
    response = officer.post(
        reverse("governance:threat_library"),
        {
            "code": "vendor_drift",
            "name": "Vendor model drift",
            "description": "The vendor swaps the model.",
            "references": "internal",
            "typical_controls": "Contractual notice\nCanary tests",
            "components": ["third_party_model"],
        },
    )
    assert response.status_code == 302
    assert "Vendor model drift" in officer.get(reverse("governance:threat_library")).content.decode()


def test_settings_change_the_scale_shown_in_the_form(officer):
    page = officer.get(reverse("governance:risk_settings"))
    form = page.context["form"]
    data = {name: form.initial.get(name, field.initial) for name, field in form.fields.items()}
    data.update(appetite=12, likelihood_4_definition="At least once a quarter.")
    assert officer.post(reverse("governance:risk_settings"), data).status_code == 302
    assert "At least once a quarter." in officer.get(reverse("governance:risk_create")).content.decode()
    event = events("risk_settings.changed").get()
    assert event.before["appetite"] == 9 and event.after["appetite"] == 12


def test_figures_are_plain_json(officer, register):
    response = officer.get(reverse("governance:risk_heatmap"))
    assert json.loads(json.dumps(response.context["trend_figure"]))["data"][0]["mode"] == "lines+markers"
