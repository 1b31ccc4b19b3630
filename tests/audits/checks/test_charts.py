"""Chart dicts carry their titles and margins, keep what the builder set, and no plotly template."""

from __future__ import annotations

from audits.checks import charts


def test_a_chart_has_its_title_axis_titles_and_margins_and_no_template():
    figure = charts.roc_curve([0, 0.5, 1], [0, 0.8, 1], 0.87)
    assert figure["layout"] == {
        "title": {"text": "ROC curve"},
        "xaxis": {"title": {"text": "False positive rate"}},
        "yaxis": {"title": {"text": "True positive rate"}},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "template": {},
    }
    assert [trace["name"] for trace in figure["data"]] == ["model (AUC 0.870)", "chance"]


def test_layout_the_builder_set_is_kept_beside_the_titles():
    figure = charts.bars(
        ["a", "b"], [0.7, 0.9], "Selection rate ratio", "Ratio", "Group", horizontal=True, band=(0.8, 1.25)
    )
    layout = figure["layout"]
    assert layout["yaxis"] == {"autorange": "reversed", "title": {"text": "Group"}}
    assert layout["xaxis"] == {"title": {"text": "Ratio"}} and layout["title"] == {"text": "Selection rate ratio"}
    assert layout["shapes"][0]["x0"] == 0.8 and layout["shapes"][0]["x1"] == 1.25
    grouped = charts.grouped_bars(["g1", "g2"], {"tpr": [0.5, 0.6], "fpr": [0.1, 0.2]}, "By group", "Rate")
    assert grouped["layout"]["barmode"] == "group" and grouped["layout"]["xaxis"]["title"] == {"text": "Group"}
