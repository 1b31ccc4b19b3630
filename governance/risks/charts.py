"""Plotly figures of the register, built server-side and drawn in the page with Plotly.newPlot
from their JSON (static/js/risk-charts.js)."""

from __future__ import annotations

import json
from datetime import date

from governance.risks import scoring


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
    import plotly.graph_objects as go  # imported when a chart is drawn, not at web start-up

    figure = go.Figure(
        go.Heatmap(
            x=levels,
            y=levels,
            z=scores,
            zmin=0.5,
            zmax=25.5,
            colorscale=_colourscale(bands),
            showscale=False,
            customdata=counts,
            text=[[str(n) if n else "" for n in row] for row in counts],
            texttemplate="%{text}",
            textfont={"size": 18, "color": "#ffffff"},
            hovertext=hover,
            hoverinfo="text",
            xgap=3,
            ygap=3,
        )
    )
    for i in levels:
        for lk in levels:
            if lk * i > appetite:
                figure.add_shape(
                    type="rect",
                    x0=lk - 0.5,
                    x1=lk + 0.5,
                    y0=i - 0.5,
                    y1=i + 0.5,
                    line={"color": "#1b1f2a", "width": 1.5, "dash": "dot"},
                )
    figure.update_layout(
        title={"text": title, "font": {"size": 15}},
        height=400,
        margin={"l": 60, "r": 10, "t": 40, "b": 50},
        xaxis={"title": {"text": "Likelihood"}, "tickvals": levels, "fixedrange": True},
        yaxis={"title": {"text": "Impact"}, "tickvals": levels, "fixedrange": True},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
    )
    return json.loads(figure.to_json())


def trend_figure(points: list[tuple[date, int]]) -> dict:
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Scatter(
            x=[d.isoformat() for d, _ in points],
            y=[n for _, n in points],
            mode="lines+markers",
            line={"color": "#1f5fbf"},
            name="Open risks",
            hovertemplate="%{x}: %{y} open<extra></extra>",
        )
    )
    figure.update_layout(
        title={"text": "Open risks, end of each week", "font": {"size": 15}},
        height=300,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
        yaxis={
            "rangemode": "tozero",
            "title": {"text": "Risks"},
            "tickformat": ",d",
            # whole-number ticks: with few risks plotly steps by 0.2
            "dtick": max(1, -(-max([n for _, n in points] or [1]) // 5)),
        },
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
    )
    return json.loads(figure.to_json())
