"""The risk heatmap is quick with few risks (issue #13, speed): its figures are small plain JSON
(no plotly.py figure objects, no embedded template), and the 4.8 MB chart library is not a
blocking script of the page but loaded when a chart comes into view."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from tests.governance.test_risk_support import make_risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_risk(client, compliance_officer, credit_system):
    make_risk(compliance_officer, [credit_system], title="Crafted applications", likelihood=4, impact=5)
    client.force_login(compliance_officer)
    return client


def test_the_heatmap_page_shows_without_waiting_for_the_chart_library(one_risk):
    page = one_risk.get(reverse("governance:risk_heatmap")).content.decode()
    assert not re.search(r'<script src="[^"]*plotly\.min\.js"', page)
    loader = re.search(r'<script src="[^"]*plotly-on-demand\.js" data-plotly-src="([^"]*)" defer>', page)
    assert loader and loader.group(1).endswith("vendor/plotly/plotly.min.js")
    assert re.search(r'<script src="[^"]*risk-charts\.js" defer>', page)


def test_the_heatmap_figures_are_small_and_outline_the_cells_above_the_appetite(one_risk):
    response = one_risk.get(reverse("governance:risk_heatmap"))
    appetite = response.context["settings"].appetite
    inherent = response.context["inherent_figure"]
    assert "template" not in inherent["layout"]
    assert len(json.dumps(inherent)) < 8000
    above = {(s["x0"] + 0.5, s["y0"] + 0.5) for s in inherent["layout"]["shapes"]}
    assert above == {(lk, i) for lk in range(1, 6) for i in range(1, 6) if lk * i > appetite}
    assert inherent["data"][0]["text"][5 - 1][4 - 1] == "1"
    trend = response.context["trend_figure"]
    assert "template" not in trend["layout"] and trend["data"][0]["y"][-1] == 1
