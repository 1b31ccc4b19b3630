"""Plotly figures as JSON-safe dicts (plotly's own encoder, then plain Python types).

Figures are built with plotly.graph_objects and stored as `fig.to_plotly_json()`-style dicts so
the portal can render them from static plotly.js without a CDN.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

MAX_POINTS = 500  # per trace: keeps stored results small


def to_dict(fig: go.Figure) -> dict:
    return json.loads(pio.to_json(fig, validate=False, engine="json"))


def _thin(x, y, n: int = MAX_POINTS):
    x, y = np.asarray(x), np.asarray(y)
    if len(x) <= n:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, n).astype(int))
    return x[idx], y[idx]


def _layout(fig: go.Figure, title: str, x: str, y: str) -> dict:
    # No template: it is deep-copied into every figure (slow, bulky); the portal styles charts.
    fig.layout.template = None
    # Titles and margins go into the serialised dict, merged as update_layout would: plotly's
    # update_layout validates each path and cost about 10 ms a chart, a few hundred ms a run.
    figure = to_dict(fig)
    layout = figure.setdefault("layout", {})
    layout.setdefault("title", {})["text"] = title
    layout.setdefault("xaxis", {}).setdefault("title", {})["text"] = x
    layout.setdefault("yaxis", {}).setdefault("title", {})["text"] = y
    layout.setdefault("margin", {}).update({"l": 60, "r": 20, "t": 50, "b": 50})
    layout["template"] = {}
    return figure


def roc_curve(fpr, tpr, auc: float) -> dict:
    fpr, tpr = _thin(fpr, tpr)
    fig = go.Figure(
        [
            go.Scatter(x=fpr, y=tpr, mode="lines", name=f"model (AUC {auc:.3f})"),
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash"}),
        ]
    )
    return _layout(fig, "ROC curve", "False positive rate", "True positive rate")


def pr_curve(recall, precision, ap: float, prevalence: float) -> dict:
    recall, precision = _thin(recall, precision)
    fig = go.Figure(
        [
            go.Scatter(x=recall, y=precision, mode="lines", name=f"model (AP {ap:.3f})"),
            go.Scatter(x=[0, 1], y=[prevalence, prevalence], mode="lines", name="baseline", line={"dash": "dash"}),
        ]
    )
    return _layout(fig, "Precision-recall curve", "Recall", "Precision")


def confusion_matrix(matrix, labels) -> dict:
    labels = [str(v) for v in labels]
    fig = go.Figure(go.Heatmap(z=np.asarray(matrix), x=labels, y=labels, colorscale="Blues", texttemplate="%{z}"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Confusion matrix", "Predicted", "Actual")


def calibration_curve(mean_conf, observed, counts) -> dict:
    fig = go.Figure(
        [
            go.Scatter(
                x=mean_conf, y=observed, mode="lines+markers", name="model", text=[f"n={int(c)}" for c in counts]
            ),
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash"}),
        ]
    )
    return _layout(fig, "Reliability curve", "Mean predicted probability", "Observed frequency")


def bars(
    labels,
    values,
    title: str,
    x: str,
    y: str,
    *,
    ref: float | None = None,
    band: tuple[float, float] | None = None,
    horizontal: bool = False,
) -> dict:
    labels = [str(v) for v in labels]
    trace = go.Bar(x=values, y=labels, orientation="h") if horizontal else go.Bar(x=labels, y=values)
    fig = go.Figure(trace)
    if ref is not None:
        (fig.add_vline if horizontal else fig.add_hline)(ref, line_dash="dash")
    if band is not None:
        (fig.add_vrect if horizontal else fig.add_hrect)(band[0], band[1], fillcolor="green", opacity=0.1, line_width=0)
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, x, y)


def grouped_bars(groups, series: dict[str, list], title: str, y: str, band: tuple[float, float] | None = None) -> dict:
    groups = [str(g) for g in groups]
    fig = go.Figure([go.Bar(name=name, x=groups, y=vals) for name, vals in series.items()])
    fig.update_layout(barmode="group")
    if band is not None:
        fig.add_hrect(band[0], band[1], fillcolor="green", opacity=0.1, line_width=0)
    return _layout(fig, title, "Group", y)


def lines(x, series: dict[str, list], title: str, xt: str, yt: str) -> dict:
    fig = go.Figure([go.Scatter(x=list(x), y=v, mode="lines+markers", name=k) for k, v in series.items()])
    return _layout(fig, title, xt, yt)


def strip(features, shap_values, feature_values) -> dict:
    """Beeswarm-like strip: one jittered row of SHAP values per feature, coloured by the feature's
    value (normalised per feature). One trace for all features keeps the figure cheap to build."""
    rng = np.random.default_rng(0)  # jitter is cosmetic; fixed so charts are reproducible
    xs, ys, cs = [], [], []
    for i in range(len(features)):
        sv, fv = np.asarray(shap_values[i], dtype=float), np.asarray(feature_values[i], dtype=float)
        if len(sv) > MAX_POINTS:
            keep = np.linspace(0, len(sv) - 1, MAX_POINTS).astype(int)
            sv, fv = sv[keep], fv[keep]
        finite = np.isfinite(fv)
        span = (fv[finite].max() - fv[finite].min()) if finite.any() else 0.0
        color = (fv - fv[finite].min()) / span if span > 0 else np.full(len(fv), 0.5)
        xs.append(np.round(sv, 5))
        ys.append(np.round(i + rng.uniform(-0.3, 0.3, len(sv)), 3))
        cs.append(np.round(np.nan_to_num(color, nan=0.5), 3))
    fig = go.Figure(
        go.Scatter(
            x=np.concatenate(xs) if xs else [],
            y=np.concatenate(ys) if ys else [],
            mode="markers",
            showlegend=False,
            marker={
                "size": 4,
                "color": np.concatenate(cs) if cs else [],
                "colorscale": "RdBu_r",
                "showscale": True,
                "colorbar": {"title": {"text": "value"}},
            },
        )
    )
    fig.update_yaxes(tickvals=list(range(len(features))), ticktext=[str(f) for f in features], autorange="reversed")
    return _layout(fig, "SHAP values per feature (colour = feature value, low to high)", "SHAP value", "Feature")
