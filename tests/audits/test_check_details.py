"""A check's details in words (issue #13, reading results): the results page and the PDF report
show the fairness checks' details, and any flat details, as small tables and definition lists with
words for keys ("False positive rate", not `fpr`); the raw JSON stays one click away for experts."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from audits.templatetags.check_details import KEY_WORDS, METRIC_KEY_WORDS, key_words, readable_details
from tests.audits.certification_support import *  # noqa: F403
from tests.audits.validation_support import credit, finish_with_results, sample_result  # noqa: F401

FAIR_03 = {
    "by_attribute": {
        "race": {
            "equalized_odds_difference": 0.2,
            "equalized_odds_difference_ci": [0.15, 0.26],
            "tpr_difference": 0.12,
            "fpr_difference": 0.2,
            "equal_opportunity_ratio": 0.84,
            "tpr_difference_ci": None,
            "groups": [
                {
                    "group": "African-American",
                    "n": 3175,
                    "positives": 1661,
                    "negatives": 1514,
                    "tpr": 0.72,
                    "fpr": 0.42,
                },
                {"group": "Caucasian", "n": 2103, "positives": 822, "negatives": 1281, "tpr": 0.5, "fpr": 0.22},
            ],
            "status": "warn",
        }
    }
}
FAIR_02 = {
    "by_attribute": {
        "sex": {
            "groups": ["Female", "Male"],
            "rates": [0.21, 0.42],
            "sizes": [1200, 4800],
            "ratio": 0.5,
            "diff": 0.21,
            "ratio_ci": [0.44, 0.57],
            "diff_ci": None,
            "reference_group": "Male",
            "ratio_to_reference": [0.5, 1.0],
            "lowest": "Female",
            "highest": "Male",
            "not_evaluable_groups": ["Other"],
            "status": "fail",
        }
    }
}


def tables(blocks):
    return [b for b in blocks if b["kind"] == "table"]


# --- the words ---------------------------------------------------------------------------------------


def test_the_key_words_are_the_words_the_fairness_charts_use():
    from audits.checks.fairness import METRIC_WORDS

    assert METRIC_KEY_WORDS == METRIC_WORDS
    assert all(KEY_WORDS[key] == words for key, words in METRIC_WORDS.items())


def test_a_key_without_an_entry_is_spelled_out_from_its_parts():
    assert key_words("fpr") == "False positive rate"
    assert key_words("fpr_gap_max") == "False positive rate gap maximum"
    assert key_words("n_rows") == "Number of rows"


def test_equalised_odds_details_become_a_table_per_attribute_with_each_groups_own_rates():
    blocks = readable_details("FAIR-03", FAIR_03)
    summary, groups = blocks
    assert summary["kind"] == "pairs" and summary["title"] == "By attribute: race"
    assert ("Equalised odds difference", "0.2") in summary["pairs"]
    assert ("Equalised odds difference, 95 % confidence interval", "[0.15, 0.26]") in summary["pairs"]
    assert ("Status", "Warning") in summary["pairs"]
    assert groups["columns"] == [
        "Group",
        "Rows",
        "Actual positives",
        "Actual negatives",
        "True positive rate",
        "False positive rate",
    ]
    assert groups["rows"][0] == ["African-American", "3175", "1661", "1514", "0.72", "0.42"]


def test_parallel_lists_of_demographic_parity_become_one_row_per_group_named_by_the_checks_rate():
    (groups,) = tables(readable_details("FAIR-02", FAIR_02))
    assert groups["columns"] == ["Group", "Selection rate", "Rows", "Ratio to the reference group"]
    assert groups["rows"] == [["Female", "0.21", "1200", "0.5"], ["Male", "0.42", "4800", "1"]]
    pairs = dict(readable_details("FAIR-02", FAIR_02)[0]["pairs"])
    assert pairs["Reference group (the largest)"] == "Male" and pairs["Groups too small to evaluate"] == "Other"
    assert pairs["Difference, 95 % confidence interval"] == "—"


def test_counts_stored_as_floats_read_as_whole_numbers():
    (table,) = tables(
        readable_details("FAIR-01", {"by_attribute": {"sex": {"groups": [{"group": "F", "count": 500.0}]}}})
    )
    assert table["rows"] == [["F", "500"]]


def test_flat_details_and_lists_of_dicts_of_any_check_are_readable_and_deeper_ones_are_left_to_the_json():
    assert readable_details("PERF-01", {"n": 240, "auc_ci": [0.7, 0.8]}) == [
        {"kind": "pairs", "title": None, "pairs": [("Rows", "240"), ("AUC confidence interval", "[0.7, 0.8]")]}
    ]
    (table,) = readable_details("DATA-03", [{"column": "age", "psi": 0.31}])
    assert table["columns"] == ["Column", "PSI"]
    assert readable_details("ROB-01", {"by_feature": {"age": {"drops": {"0.1": 0.02}}}}) is None
    assert readable_details("PERF-01", {}) is None


# --- the results page and the report -------------------------------------------------------------------


def fairness_run(engineer, credit):
    from audits.validation.services import validation_start

    run = validation_start(actor=engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")
    fair = sample_result("FAIR-03", "warn", family="fairness", severity="medium")
    fair["details"] = FAIR_03
    other = sample_result("ROB-01", "pass", family="robustness")
    other["details"] = {"by_feature": {"age": {"drops": {"0.1": 0.02}}}}
    return finish_with_results(run, [fair, other, sample_result("PERF-04", "pass")])


@pytest.mark.django_db
def test_the_results_page_shows_fairness_details_in_words_with_the_raw_json_folded(ml_engineer, credit):
    run = fairness_run(ml_engineer, credit)
    client = Client()
    client.force_login(ml_engineer, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("audits:validation_results", args=[run.pk])).content.decode()
    details = page[page.index('data-testid="details-FAIR-03"') : page.index('data-testid="raw-details-FAIR-03"')]
    assert '<th scope="col">False positive rate</th>' in details and "<td>0.42</td>" in details
    assert "<dt>Equalised odds difference</dt>" in details and "African-American" in details
    assert not re.search(r">\s*(fpr|tpr)\s*<", details), "no raw key is a heading or a label"
    assert re.search(r'<details class="raw-details" data-testid="raw-details-FAIR-03"><summary>', page)
    assert "&quot;fpr&quot;: 0.42" in page, "the raw JSON is still there for experts"
    assert 'data-testid="details-PERF-04"' in page and "<dt>Rows</dt><dd>240</dd>" in page
    assert 'data-testid="details-ROB-01"' not in page and "Technical details" in page


@pytest.mark.django_db
def test_the_pdf_report_prints_the_details_in_words_of_a_fairness_check_that_warned(
    ml_engineer, compliance_officer, auditor
):
    from audits.certification.services import submission_create
    from audits.reports.report import submission_report_html
    from tests.audits.certification_support import make_certifiable

    fair = sample_result("FAIR-02", "fail", family="fairness", severity="high")
    fair["details"] = FAIR_02
    passed = sample_result("FAIR-03", "pass", family="fairness")
    passed["details"] = FAIR_03
    certifiable = make_certifiable(ml_engineer, compliance_officer, results=[fair, passed])
    submission = submission_create(actor=ml_engineer, model_version=certifiable.version)
    html = submission_report_html(submission=submission)
    part = html[html.index('data-testid="report-details-FAIR-02"') :]
    assert "<th>Selection rate</th>" in part and "<th>Ratio to the reference group</th>" in part
    assert "<td>Female</td><td>0.21</td><td>1200</td><td>0.5</td>" in part
    assert 'data-testid="report-details-FAIR-03"' not in html, "a passing check's details stay in the portal"
    assert '"rates"' not in html and "ratio_to_reference" not in html
