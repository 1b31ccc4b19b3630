"""PDF report infrastructure: plotly figures to static SVG, HTML to PDF with no network."""

from __future__ import annotations

import inspect
import logging
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from audits.checks import charts
from audits.reports.chart_svg import PLACEHOLDER_TEXT, figure_to_svg, svg_data_uri
from audits.reports.pdf import ResourceRefused, html_to_pdf, static_url_fetcher

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
_rng = np.random.default_rng(7)

# One realistic call per chart function in audits/checks/charts.py, with the title it must show.
CHART_CASES = {
    "roc_curve": (lambda: charts.roc_curve(np.linspace(0, 1, 60), np.linspace(0, 1, 60) ** 0.4, 0.861), "ROC curve"),
    "pr_curve": (
        lambda: charts.pr_curve(np.linspace(0, 1, 60), 1 - 0.6 * np.linspace(0, 1, 60) ** 2, 0.742, 0.24),
        "Precision-recall curve",
    ),
    "confusion_matrix": (
        lambda: charts.confusion_matrix(np.array([[412, 37], [58, 93]]), ["<=50K", ">50K"]),
        "Confusion matrix",
    ),
    "calibration_curve": (
        lambda: charts.calibration_curve(
            np.linspace(0.05, 0.95, 10), np.linspace(0.03, 0.97, 10), np.arange(10) * 12 + 5
        ),
        "Reliability curve",
    ),
    "bars": (
        lambda: charts.bars(
            ["age < 25", "25-60", "> 60"],
            [0.71, 0.83, 0.78],
            "Recall by age band",
            "Slice",
            "Recall",
            ref=0.8,
            band=(0.75, 0.9),
        ),
        "Recall by age band",
    ),
    "grouped_bars": (
        lambda: charts.grouped_bars(
            ["female", "male"],
            {"selection_rate": [0.18, 0.31], "tpr": [0.61, 0.72], "fpr": [0.08, None], "precision": [0.70, 0.74]},
            "Fairness metrics by sex",
            "Rate",
            band=(0.8, 1.25),
        ),
        "Fairness metrics by sex",
    ),
    "lines": (
        lambda: charts.lines(
            [0.1, 0.3, 0.5, 0.7, 0.9],
            {"precision": [0.5, 0.6, 0.7, 0.8, 0.9], "recall": [0.95, 0.8, 0.6, 0.4, 0.2]},
            "Precision and recall by threshold",
            "Threshold",
            "Metric",
        ),
        "Precision and recall by threshold",
    ),
    "strip": (
        lambda: charts.strip(
            ["age", "income", "hours"],
            [_rng.normal(size=400) for _ in range(3)],
            [_rng.normal(size=400) for _ in range(3)],
        ),
        "SHAP values per feature",
    ),
}
# The same helpers in the shapes the checks also use them.
EXTRA_CASES = {
    "horizontal bars with a reference line": (
        lambda: charts.bars(
            ["income", "age", "hours_per_week"],
            [0.31, 0.22, 0.05],
            "Mean |SHAP| by feature",
            "Mean |SHAP|",
            "Feature",
            horizontal=True,
            ref=0.1,
        ),
        "Mean |SHAP| by feature",
    ),
    "disparity ratios with the four-fifths band": (
        lambda: charts.bars(
            ["female", "male"],
            [0.74, 1.0],
            "Selection rate ratio to reference",
            "Group",
            "Ratio",
            ref=1.0,
            band=(0.8, 1.25),
        ),
        "Selection rate ratio to reference",
    ),
    "a large SHAP strip": (
        lambda: charts.strip(
            [f"feature_{i}" for i in range(10)],
            [_rng.normal(size=500) for _ in range(10)],
            [_rng.normal(size=500) for _ in range(10)],
        ),
        "SHAP values per feature",
    ),
}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def drawn_text(root: ET.Element) -> str:
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def pdftotext(pdf: bytes) -> str:
    assert shutil.which("pdftotext"), "pdftotext is missing: run scripts/ensure-system-libs.sh --tests"
    return subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    ).stdout.decode()


def pdfinfo(pdf: bytes) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True, timeout=60).stdout.decode()
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def test_every_chart_function_in_the_checks_has_a_rendering_case():
    public = {
        name
        for name, fn in inspect.getmembers(charts, inspect.isfunction)
        if fn.__module__ == charts.__name__ and not name.startswith("_") and name != "to_dict"
    }
    assert public == set(CHART_CASES)


@pytest.mark.parametrize("case", [*CHART_CASES, *EXTRA_CASES])
def test_each_chart_becomes_a_valid_svg_that_shows_its_title(case):
    build, title = {**CHART_CASES, **EXTRA_CASES}[case]
    root = parse(figure_to_svg(build()))
    text = drawn_text(root)
    assert title in text
    assert PLACEHOLDER_TEXT not in text


def test_the_confusion_matrix_prints_its_counts_and_class_labels():
    text = drawn_text(parse(figure_to_svg(CHART_CASES["confusion_matrix"][0]())))
    for expected in ("412", "37", "58", "93", "<=50K", ">50K", "Predicted", "Actual"):
        assert expected in text


def test_a_multi_series_chart_has_a_legend_with_every_series_and_its_axis_titles():
    text = drawn_text(parse(figure_to_svg(CHART_CASES["grouped_bars"][0]())))
    for expected in ("selection_rate", "tpr", "fpr", "precision", "Group", "Rate"):
        assert expected in text


def test_a_large_point_cloud_is_embedded_as_one_bitmap_so_the_pdf_stays_fast():
    root = parse(figure_to_svg(EXTRA_CASES["a large SHAP strip"][0]()))
    assert len(list(root.iter(f"{SVG}image"))) == 2  # the points, and the colour bar's gradient
    assert len(list(root.iter(f"{SVG}use"))) < 100  # tick marks only, not 5,000 markers


def test_the_same_figure_gives_the_same_svg_bytes():
    figure = CHART_CASES["roc_curve"][0]()
    assert figure_to_svg(figure) == figure_to_svg(figure)


def test_charts_rendered_in_parallel_threads_equal_the_ones_rendered_alone():
    figures = [CHART_CASES[name][0]() for name in ("roc_curve", "confusion_matrix", "grouped_bars", "lines")] * 2
    alone = [figure_to_svg(f) for f in figures]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(figure_to_svg, figures))
    assert together == alone


def test_ids_are_scoped_per_chart_so_two_inlined_charts_do_not_share_an_id():
    a, b = (parse(figure_to_svg(CHART_CASES[n][0]())) for n in ("roc_curve", "pr_curve"))
    ids_a = {e.get("id") for e in a.iter() if e.get("id")}
    ids_b = {e.get("id") for e in b.iter() if e.get("id")}
    assert ids_a and ids_b and not ids_a & ids_b


def test_an_unknown_trace_type_prints_a_placeholder_with_the_title_instead_of_failing():
    figure = {
        "data": [{"type": "pie", "labels": ["a", "b"], "values": [3, 1]}],
        "layout": {"title": {"text": "Share of classes"}},
    }
    text = drawn_text(parse(figure_to_svg(figure)))
    assert PLACEHOLDER_TEXT in text and "Share of classes" in text and "'pie'" in text


def test_a_figure_mixing_a_known_and_an_unknown_trace_is_not_half_drawn():
    figure = CHART_CASES["lines"][0]()
    figure["data"].append({"type": "box", "y": [1, 2, 3]})
    assert PLACEHOLDER_TEXT in drawn_text(parse(figure_to_svg(figure)))


def test_the_pdf_text_contains_the_hash_and_the_chart_title():
    chart = figure_to_svg(CHART_CASES["roc_curve"][0]())
    html = (
        f"<html><head><title>Validation report</title></head><body><h1>Validation report</h1>"
        f'<p>Model file sha256: <code>{SHA}</code></p><img src="{svg_data_uri(chart)}">'
        f"{chart}</body></html>"
    )
    pdf = html_to_pdf(html, title="Validation report: credit scoring 1.4.0", author="Acme Bank")
    assert pdf.startswith(b"%PDF-")
    text = pdftotext(pdf)
    assert SHA in text.replace("\n", "")
    assert text.count("ROC curve") == 2  # the <img> chart and the inlined one
    info = pdfinfo(pdf)
    assert info["Title"].strip() == "Validation report: credit scoring 1.4.0"
    assert info["Author"].strip() == "Acme Bank"


def test_the_same_html_gives_the_same_pdf_bytes():
    html = f"<h1>Report</h1><p>{SHA}</p>"
    assert html_to_pdf(html) == html_to_pdf(html)


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to resolve or connect is recorded and fails before a packet leaves."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network used in a test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_a_template_pointing_at_the_internet_renders_quickly_without_touching_the_network(no_network, caplog):
    html = (
        """<html><head>
      <link rel="stylesheet" href="https://cdn.example.com/bootstrap.min.css">
      <style>@import url("http://cdn.example.com/theme.css");
             @font-face { font-family: Remote; src: url("https://fonts.example.com/r.woff2"); }
             body { font-family: Remote, sans-serif; }</style></head>
      <body><p>Report for model sha256 %s</p><img src="http://cdn.example.com/logo.png"></body>
      </html>"""
        % SHA
    )
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = html_to_pdf(html)
    assert time.monotonic() - started < 10
    assert no_network == []
    assert SHA in pdftotext(pdf).replace("\n", "")
    assert "network access refused" in caplog.text


def test_the_url_fetcher_refuses_files_outside_the_static_folders():
    fetcher = static_url_fetcher()
    for url in (
        "file:///etc/passwd",
        "file:///static/../etc/passwd",
        "file:///static/css/../../../../etc/passwd",
        "file://evil.example/etc/passwd",
    ):
        with pytest.raises(ResourceRefused):
            fetcher.fetch(url)


def test_the_url_fetcher_refuses_every_network_scheme(no_network):
    fetcher = static_url_fetcher()
    for url in ("http://example.com/a.css", "https://example.com/a.png", "ftp://example.com/f"):
        with pytest.raises(ResourceRefused):
            fetcher.fetch(url)
    assert no_network == []


def test_the_url_fetcher_serves_a_static_file_by_its_static_url_and_a_data_uri():
    fetcher = static_url_fetcher()
    response = fetcher.fetch("file:///static/css/portal.css")
    assert response.content_type == "text/css"
    assert response.read() == (ROOT / "static/css/portal.css").read_bytes()
    assert fetcher.fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"


def test_a_symlink_inside_a_static_folder_cannot_lead_outside_it(settings, tmp_path):
    (tmp_path / "leak.css").symlink_to("/etc/passwd")
    settings.STATICFILES_DIRS = [tmp_path]
    with pytest.raises(ResourceRefused):
        static_url_fetcher().fetch("file:///static/leak.css")


def test_a_stylesheet_from_the_static_folders_is_applied_to_the_pdf(settings, tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a5.css").write_text("@page { size: A5 }")
    settings.STATICFILES_DIRS = [tmp_path]
    html = '<link rel="stylesheet" href="/static/reports/a5.css"><p>Page size from a static file</p>'
    assert "419.528 x 595.276" in pdfinfo(html_to_pdf(html))["Page size"]  # A5 in points


def test_importing_the_report_modules_loads_neither_weasyprint_nor_matplotlib():
    code = (
        "import sys, audits.reports.pdf, audits.reports.chart_svg; "
        "print(sorted(m for m in ('weasyprint', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"
