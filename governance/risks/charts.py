"""Plotly figures of the register, built server-side as plain JSON-able dicts and drawn in the page
with Plotly.newPlot (static/js/risk-charts.js). Plain dicts rather than plotly.graph_objects: the
figure objects validated every property and embedded plotly.py's whole default template (about
10 kB a figure) for three small charts; plotly.js needs neither."""

from __future__ import annotations

from datetime import date

from governance.risks import scoring

# White paper and plot and plotly.py's default font colour: as the figures looked with its template.
_PLAIN = {
    "plot_bgcolor": "#ffffff",
    "paper_bgcolor": "#ffffff",
    "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "color": "#2a3f5f"},
}


def _colourscale(bands: list[dict]) -> list[list]:
    stops = []
    for band in bands:
        stops += [
            [(band["min"] - 1) / 25, band.get("colour", "#999999")],
            [band["max"] / 25, band.get("colour", "#999999")],
        ]
    return stops


def heatmap_figure(
    *,
    counts: list[list[int]],
    bands: list[dict],
    appetite: int,
    title: str,
    likelihood_labels: list[str],
    impact_labels: list[str],
) -> dict:
    """A 5×5 grid coloured by score band, each cell showing how many risks are in it; cells above
    the appetite are outlined. Cell (likelihood, impact) is point (x, y)."""
    levels = [1, 2, 3, 4, 5]
    scores = [[lk * i for lk in levels] for i in levels]
    hover = [
        [
            f"Likelihood {lk} ({likelihood_labels[lk - 1]}) × impact {i} ({impact_labels[i - 1]}) = {lk * i}"
            f" — {(scoring.band_of(lk * i, bands) or {}).get('label', '')}<br>{counts[i - 1][lk - 1]} risk(s)"
            + ("<br>above appetite" if lk * i > appetite else "")
            for lk in levels
        ]
        for i in levels
    ]
    heatmap = {
        "type": "heatmap",
        "x": levels,
        "y": levels,
        "z": scores,
        "zmin": 0.5,
        "zmax": 25.5,
        "colorscale": _colourscale(bands),
        "showscale": False,
        "customdata": counts,
        "text": [[str(n) if n else "" for n in row] for row in counts],
        "texttemplate": "%{text}",
        "textfont": {"size": 18, "color": "#ffffff"},
        "hovertext": hover,
        "hoverinfo": "text",
        "xgap": 3,
        "ygap": 3,
    }
    above = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "y",
            "x0": lk - 0.5,
            "x1": lk + 0.5,
            "y0": i - 0.5,
            "y1": i + 0.5,
            "line": {"color": "#1b1f2a", "width": 1.5, "dash": "dot"},
        }
        for i in levels
        for lk in levels
        if lk * i > appetite
    ]
    layout = {
        "title": {"text": title, "font": {"size": 15}},
        "height": 400,
        "margin": {"l": 60, "r": 10, "t": 40, "b": 50},
        "xaxis": {"title": {"text": "Likelihood"}, "tickvals": levels, "fixedrange": True},
        "yaxis": {"title": {"text": "Impact"}, "tickvals": levels, "fixedrange": True},
        "shapes": above,
        **_PLAIN,
    }
    return {"data": [heatmap], "layout": layout}


def trend_figure(points: list[tuple[date, int]]) -> dict:
    line = {
        "type": "scatter",
        "x": [d.isoformat() for d, _ in points],
        "y": [n for _, n in points],
        "mode": "lines+markers",
        "line": {"color": "#1f5fbf"},
        "name": "Open risks",
        "hovertemplate": "%{x}: %{y} open<extra></extra>",
    }
    layout = {
        "title": {"text": "Open risks, end of each week", "font": {"size": 15}},
        "height": 300,
        "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
        "yaxis": {
            "rangemode": "tozero",
            "title": {"text": "Risks"},
            "tickformat": ",d",
            # whole-number ticks: with few risks plotly steps by 0.2
            "dtick": max(1, -(-max([n for _, n in points] or [1]) // 5)),
        },
        **_PLAIN,
    }
    return {"data": [line], "layout": layout}
