"""Static SVG for the plotly figure dicts the checks store (audits/checks/charts.py), for printed
reports, where plotly.js cannot run.

Drawn with matplotlib's object API (a `Figure` of our own on an Agg canvas, never pyplot), so two
threads rendering at once share no figure state. Supported: scatter (lines, markers, both, colour
scales with a colour bar), bar (vertical, horizontal, grouped, stacked), heatmap (with cell text),
layout shapes (reference lines and bands), titles, axis titles, tick labels, reversed and log axes,
legend. A figure with any other trace type becomes a placeholder that says so, never a half-drawn
chart. The same figure gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import textwrap
from xml.sax.saxutils import escape

import numpy as np

PLACEHOLDER_TEXT = "Chart not available in print"
SUPPORTED_TRACES = frozenset({"scatter", "scattergl", "bar", "heatmap"})
# plotly.js's own colour sequence (the checks build figures with template=None).
COLORWAY = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
DASHES = {
    "solid": "-",
    "dot": ":",
    "dash": "--",
    "longdash": (0, (8, 3)),
    "dashdot": "-.",
    "longdashdot": (0, (8, 3, 2, 3)),
}
PX = 0.75  # plotly sizes are CSS pixels; matplotlib's are points
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 11, 9, 8
# WeasyPrint needs about 4 ms per SVG marker (20 s for the 5,000-point SHAP strip): clouds larger
# than this are embedded as one bitmap (at RASTER_DPI) inside the SVG, axes and text stay vector.
MAX_VECTOR_POINTS = 1000
RASTER_DPI = 150


class ChartNotPrintable(ValueError):
    """A figure this module cannot draw faithfully; it is printed as a placeholder."""


def figure_to_svg(figure: dict, *, width_in: float = 6.5, height_in: float = 3.2) -> str:
    """One `<svg>` element (no XML prolog, ready to inline in HTML) drawing the plotly `figure`."""
    layout = figure.get("layout") or {}
    title = _plain(_text_of(layout.get("title")))
    try:
        traces = _printable_traces(figure)
    except ChartNotPrintable as exc:
        return placeholder_svg(title, str(exc), width_in=width_in, height_in=height_in)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _pin_svg_settings()
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    categories = _Categories()
    bars = [t for t in traces if t["type"] == "bar"]
    for index, trace in enumerate(traces):
        color = COLORWAY[index % len(COLORWAY)]
        if trace["type"] == "bar":
            _draw_bar(ax, trace, bars, layout, categories, color)
        elif trace["type"] == "heatmap":
            _draw_heatmap(fig, ax, trace, categories)
        else:
            _draw_scatter(fig, ax, trace, categories, color)
    _draw_shapes(ax, layout.get("shapes") or [])
    _draw_annotations(ax, layout.get("annotations") or [])
    _style_axes(ax, layout, categories)
    _legend(ax, traces, layout)
    if title:
        fig.suptitle(_wrap(title, 90), fontsize=TITLE_SIZE)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", dpi=RASTER_DPI, metadata={"Date": None, "Title": title or None})
    svg = buffer.getvalue()
    return _scope_ids(svg[svg.index("<svg") :])


def svg_data_uri(svg: str) -> str:
    """`svg` as a data: URI for `<img src=...>`. WeasyPrint draws an SVG given this way several
    times faster than the same SVG inlined in the HTML (no HTML cascade over every element)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def placeholder_svg(title: str, reason: str, *, width_in: float = 6.5, height_in: float = 3.2) -> str:
    """A framed box saying the chart cannot be printed, with its title and the reason."""
    w, h = round(width_in * 72, 1), round(height_in * 72, 1)
    lines = [
        (_wrap(title, 80) or "Chart", 11, "bold", "#222"),
        (PLACEHOLDER_TEXT, 10, "normal", "#222"),
        (reason, 8, "normal", "#555"),
    ]
    texts, y = [], h / 2 - 14
    for text, size, weight, fill in lines:
        for line in text.split("\n"):
            texts.append(
                f'<text x="{w / 2}" y="{y:.1f}" text-anchor="middle" '
                f'font-family="DejaVu Sans, sans-serif" font-size="{size}" '
                f'font-weight="{weight}" fill="{fill}">{escape(line)}</text>'
            )
            y += size + 6
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" '
        f'viewBox="0 0 {w} {h}" role="img"><title>{escape(title or PLACEHOLDER_TEXT)}</title>'
        f'<rect x="0.5" y="0.5" width="{w - 1}" height="{h - 1}" fill="#f6f6f6" '
        f'stroke="#999999" stroke-dasharray="4 3"/>{"".join(texts)}</svg>'
    )


# ---- figure input ------------------------------------------------------------------------------


def _printable_traces(figure: dict) -> list[dict]:
    traces = figure.get("data")
    if not isinstance(traces, list) or not traces:
        raise ChartNotPrintable("the figure has no data")
    for trace in traces:
        kind = trace.get("type", "scatter") if isinstance(trace, dict) else None
        if kind not in SUPPORTED_TRACES:
            raise ChartNotPrintable(f"trace type {kind!r} has no print rendering")
        if trace.get("xaxis", "x") != "x" or trace.get("yaxis", "y") != "y":
            raise ChartNotPrintable("charts with several axes have no print rendering")
    return [{**trace, "type": trace.get("type", "scatter")} for trace in traces]


def _array(value):
    """Plotly's typed arrays ({"dtype", "bdata", "shape"}) as numpy; lists stay lists."""
    if isinstance(value, dict) and "bdata" in value:
        dtype = {"u1c": "u1"}.get(value.get("dtype", "f8"), value.get("dtype", "f8"))
        try:
            data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(dtype).newbyteorder("<"))
        except (TypeError, ValueError) as exc:
            raise ChartNotPrintable(f"unreadable data array ({exc})") from exc
        shape = value.get("shape")
        if shape:
            data = data.reshape([int(n) for n in str(shape).split(",")])
        return data.astype(float)
    return [] if value is None else value


def _is_categorical(values) -> bool:
    return not isinstance(values, np.ndarray) and any(isinstance(v, str) for v in values)


def _numbers(values) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


class _Categories:
    """Category positions per axis, in order of first appearance (plotly's default ordering)."""

    def __init__(self):
        self.names = {"x": [], "y": []}

    def positions(self, axis: str, values) -> np.ndarray:
        if not _is_categorical(values):
            return _numbers(values)
        names = self.names[axis]
        for value in values:
            if str(value) not in names:
                names.append(str(value))
        return np.asarray([names.index(str(v)) for v in values], dtype=float)


# ---- drawing -----------------------------------------------------------------------------------


def _draw_scatter(fig, ax, trace, categories, default_color):
    x, y = _array(trace.get("x")), _array(trace.get("y"))
    if not len(x) and len(y):
        x = list(range(len(y)))
    x, y = categories.positions("x", x), categories.positions("y", y)
    mode = trace.get("mode") or ("lines+markers" if len(x) < 20 else "lines")
    line, marker = trace.get("line") or {}, trace.get("marker") or {}
    label = _label(trace)
    color = _color(
        line.get("color") or (marker.get("color") if isinstance(marker.get("color"), str) else None), default_color
    )
    if "lines" in mode:
        ax.plot(
            x,
            y,
            color=color,
            linestyle=_dash(line.get("dash")),
            linewidth=float(line.get("width", 2)) * PX,
            label=label,
            zorder=2,
            marker="o" if "markers" in mode else None,
            markersize=float(marker.get("size", 6)) * PX,
        )
        return
    if "markers" not in mode:
        raise ChartNotPrintable(f"scatter mode {mode!r} has no print rendering")
    style = {
        "s": (float(marker.get("size", 6)) * PX) ** 2,
        "linewidths": 0,
        "label": label,
        "zorder": 2,
        "rasterized": len(x) > MAX_VECTOR_POINTS,
    }
    colors = marker.get("color")
    if colors is not None and not isinstance(colors, str):
        points = ax.scatter(x, y, c=_numbers(_array(colors)), cmap=_colormap(marker.get("colorscale")), **style)
        if marker.get("showscale"):
            _colorbar(fig, ax, points, marker.get("colorbar"))
    else:
        ax.scatter(x, y, color=color, **style)


def _draw_bar(ax, trace, bars, layout, categories, default_color):
    horizontal = trace.get("orientation") == "h"
    cats, values = (trace.get("y"), trace.get("x")) if horizontal else (trace.get("x"), trace.get("y"))
    values = _numbers(_array(values))
    cats = _array(cats) if cats is not None else list(range(len(values)))
    positions = categories.positions("y" if horizontal else "x", cats)
    mode = layout.get("barmode") or "group"
    width, offset, base = 0.8, 0.0, None
    if mode == "group" and len(bars) > 1:
        width = 0.8 / len(bars)
        offset = (bars.index(trace) - (len(bars) - 1) / 2) * width
    elif mode in ("stack", "relative"):
        base = _stack_base(trace, bars, horizontal, categories, positions)
    marker = trace.get("marker") or {}
    colors = marker.get("color")
    color = [_color(c, default_color) for c in colors] if isinstance(colors, list) else _color(colors, default_color)
    alpha = 0.6 if mode == "overlay" else 1.0
    draw = ax.barh if horizontal else ax.bar
    draw(
        positions + offset, np.nan_to_num(values), width, base, color=color, alpha=alpha, label=_label(trace), zorder=2
    )


def _stack_base(trace, bars, horizontal, categories, positions) -> np.ndarray:
    base = np.zeros(len(positions))
    for earlier in bars[: bars.index(trace)]:
        cats, values = (earlier.get("y"), earlier.get("x")) if horizontal else (earlier.get("x"), earlier.get("y"))
        earlier_values = np.nan_to_num(_numbers(_array(values)))
        earlier_pos = categories.positions(
            "y" if horizontal else "x", _array(cats) if cats is not None else list(range(len(earlier_values)))
        )
        for i, position in enumerate(positions):
            base[i] += earlier_values[earlier_pos == position].sum()
    return base


def _draw_heatmap(fig, ax, trace, categories):
    z = np.atleast_2d(np.asarray(_array(trace.get("z")), dtype=float))
    rows, cols = z.shape
    xs = _array(trace.get("x")) if trace.get("x") is not None else list(range(cols))
    ys = _array(trace.get("y")) if trace.get("y") is not None else list(range(rows))
    xpos = categories.positions("x", [str(v) for v in xs] if _is_categorical(xs) else xs)
    ypos = categories.positions("y", [str(v) for v in ys] if _is_categorical(ys) else ys)
    if len(xpos) != cols or len(ypos) != rows:
        raise ChartNotPrintable("heatmap axes do not match its values")
    mesh = ax.pcolormesh(
        _edges(xpos),
        _edges(ypos),
        np.ma.masked_invalid(z),
        cmap=_colormap(trace.get("colorscale")),
        shading="flat",
        edgecolors="white",
        linewidth=0.5,
    )
    if trace.get("showscale", True):
        _colorbar(fig, ax, mesh, trace.get("colorbar"))
    template = trace.get("texttemplate")
    if template:
        low, high = np.nanmin(z), np.nanmax(z)
        for r in range(rows):
            for c in range(cols):
                dark = high > low and (z[r, c] - low) / (high - low) > 0.55
                ax.text(
                    xpos[c],
                    ypos[r],
                    _cell_text(template, z[r, c]),
                    ha="center",
                    va="center",
                    fontsize=TICK_SIZE,
                    color="white" if dark else "black",
                )


def _edges(centres: np.ndarray) -> np.ndarray:
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mids = (centres[:-1] + centres[1:]) / 2
    return np.concatenate([[2 * centres[0] - mids[0]], mids, [2 * centres[-1] - mids[-1]]])


def _cell_text(template: str, value: float) -> str:
    def one(match):
        fmt = match.group(1)
        if np.isnan(value):
            return ""
        if fmt:
            try:
                return format(value, fmt)
            except ValueError:
                pass
        return str(int(value)) if float(value).is_integer() else f"{value:.4g}"

    return _plain(re.sub(r"%\{z(?::([^}]*))?\}", one, template))


def _draw_shapes(ax, shapes):
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import blended_transform_factory

    for shape in shapes:
        kind = shape.get("type")
        if kind not in ("line", "rect"):
            continue  # circles and paths are decoration our checks never draw
        transform = blended_transform_factory(
            _ref_transform(ax, shape.get("xref", "x")), _ref_transform(ax, shape.get("yref", "y"))
        )
        line = shape.get("line") or {}
        x0, x1, y0, y1 = (float(shape.get(k, 0)) for k in ("x0", "x1", "y0", "y1"))
        width = float(line.get("width", 2)) * PX
        edge = _color(line.get("color"), "#444444") if width > 0 else "none"
        if kind == "line":
            ax.plot(
                [x0, x1],
                [y0, y1],
                transform=transform,
                color=edge,
                linewidth=width,
                linestyle=_dash(line.get("dash")),
                zorder=3,
            )
        else:
            ax.add_patch(
                Rectangle(
                    (x0, y0),
                    x1 - x0,
                    y1 - y0,
                    transform=transform,
                    facecolor=_color(shape.get("fillcolor"), "none"),
                    edgecolor=edge,
                    linewidth=width,
                    alpha=float(shape.get("opacity", 1)),
                    zorder=1,
                )
            )


def _ref_transform(ax, ref: str):
    return ax.transData if ref in ("x", "y") else ax.transAxes  # "x domain", "paper"


def _draw_annotations(ax, annotations):
    from matplotlib.transforms import blended_transform_factory

    for note in annotations:
        text = _plain(_text_of(note.get("text")))
        if not text:
            continue
        transform = blended_transform_factory(
            _ref_transform(ax, note.get("xref", "x")), _ref_transform(ax, note.get("yref", "y"))
        )
        ax.text(
            float(note.get("x", 0)),
            float(note.get("y", 0)),
            text,
            transform=transform,
            fontsize=TICK_SIZE,
            ha="center",
            va="center",
            zorder=4,
        )


def _colorbar(fig, ax, mappable, colorbar):
    bar = fig.colorbar(mappable, ax=ax, pad=0.02)
    bar.ax.tick_params(labelsize=TICK_SIZE)
    title = _plain(_text_of((colorbar or {}).get("title")))
    if title:
        bar.set_label(title, fontsize=LABEL_SIZE)


# ---- axes, legend, text ------------------------------------------------------------------------


def _style_axes(ax, layout, categories):
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(True, color="#e5e5e5", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for axis_name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        spec = layout.get(f"{axis_name}axis") or {}
        set_label, set_scale, set_lim = (
            (ax.set_xlabel, ax.set_xscale, ax.set_xlim)
            if axis_name == "x"
            else (ax.set_ylabel, ax.set_yscale, ax.set_ylim)
        )
        set_label(_plain(_text_of(spec.get("title"))), fontsize=LABEL_SIZE)
        names = categories.names[axis_name]
        if names:
            axis.set_ticks(range(len(names)), labels=[_plain(n) for n in names])
            if axis_name == "x" and (len(names) > 8 or max(map(len, names)) > 12):
                ax.tick_params(axis="x", labelrotation=35)
                for label in ax.get_xticklabels():
                    label.set_horizontalalignment("right")
        if spec.get("tickvals") is not None:
            values = _numbers(_array(spec["tickvals"]))
            text = spec.get("ticktext")
            axis.set_ticks(values, labels=[_plain(str(t)) for t in text] if text else None)
        if spec.get("type") == "log":
            set_scale("log")
        if spec.get("range") and len(spec["range"]) == 2:
            low, high = (float(v) for v in spec["range"])
            set_lim(*((10**low, 10**high) if spec.get("type") == "log" else (low, high)))
        if spec.get("autorange") == "reversed":
            axis.set_inverted(True)


def _legend(ax, traces, layout):
    named = [t for t in traces if t.get("showlegend") is not False and t.get("name") and t["type"] != "heatmap"]
    wanted = layout.get("showlegend")
    if named and (wanted or (wanted is None and len(named) > 1)):
        ax.legend(fontsize=TICK_SIZE, frameon=False, loc="best")


def _label(trace) -> str:
    if trace.get("showlegend") is False or not trace.get("name"):
        return "_nolegend_"
    return _plain(str(trace["name"]))


def _text_of(title) -> str:
    """Plotly titles are either a string or {"text": ...}."""
    if isinstance(title, dict):
        title = title.get("text")
    return "" if title is None else str(title)


def _plain(text: str) -> str:
    """Plotly's HTML-ish labels as plain text; '$' escaped so matplotlib draws no maths."""
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text.replace("$", r"\$")


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _dash(dash) -> str | tuple:
    if isinstance(dash, str) and re.fullmatch(r"[\d.]+(px)?(,\s*[\d.]+(px)?)*", dash):
        lengths = tuple(float(n.strip().removesuffix("px")) * PX for n in dash.split(","))
        return (0, lengths)
    return DASHES.get(dash or "solid", "-")


def _color(value, default):
    from matplotlib.colors import to_rgba

    if not isinstance(value, str):
        return default
    match = re.fullmatch(r"\s*rgba?\(([^)]*)\)\s*", value)
    try:
        if match:
            parts = [float(p) for p in match.group(1).split(",")]
            rgb = [min(max(p / 255, 0.0), 1.0) for p in parts[:3]]
            return (*rgb, parts[3] if len(parts) > 3 else 1.0)
        return to_rgba(value.strip())
    except ValueError:
        return default  # a colour matplotlib does not know (hsl(), ...): keep the trace's default


def _colormap(scale):
    from matplotlib import colormaps
    from matplotlib.colors import LinearSegmentedColormap

    if isinstance(scale, list) and scale:
        stops = [(float(pos), _color(color, "#808080")) for pos, color in scale]
        return LinearSegmentedColormap.from_list("plotly", stops)
    if isinstance(scale, str):
        for name in (scale, scale.lower(), scale.capitalize()):
            if name in colormaps:
                return colormaps[name]
    return colormaps["viridis"]


def _scope_ids(svg: str) -> str:
    """Prefix every id (and every reference to one) with a digest of the chart, so that several
    charts inlined in one HTML page neither clash nor point into each other, deterministically."""
    prefix = "c" + hashlib.sha256(svg.encode()).hexdigest()[:10] + "-"
    return re.sub(r'(\bid="|url\(#|href="#)', lambda m: m.group(1) + prefix, svg)


def _pin_svg_settings():
    """The SVG writer reads these from the global rcParams when it writes: a fixed hash salt makes
    element ids (and so the bytes) reproducible, and text stays text (searchable in the PDF, drawn
    with the report's fonts). Every caller sets the same constants, so threads cannot disagree."""
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "ai-governance-portal"
    matplotlib.rcParams["svg.fonttype"] = "none"
