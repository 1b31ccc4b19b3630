"""Plain-text tables for the benchmark results (aligned columns, no dependencies)."""

from __future__ import annotations

PEAK_TARGET_MB = 1536.0  # issue #4: peak memory under 1.5 GB
BUDGET_TARGET_S = 120.0  # issue #15: any model's full suite on Adult within 2 minutes
SHAP_TARGET = 1.2  # issue #4: SHAP global importance at most 1.2x a bare TreeExplainer call
GISKARD_TARGET = 0.5  # issue #4: the full suite in at most half Giskard's scan time


def table(header: list[str], rows: list[list], *, right: set[int] | None = None) -> str:
    """Aligned text table; columns in `right` (default: all but the first) are right-aligned."""
    right = set(range(1, len(header))) if right is None else right
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "MISSED")


def case_table(s: dict) -> str:
    """One data set x model: family, checks, wall s, peak MB (+ the rise during the family); totals."""
    title = (
        f"{s['dataset']} x {s['model_name']} - {s['suite']} suite, {s['checks']} checks, "
        f"train {s['train_rows']:,} / test {s['test_rows']:,} rows (model fit {s['fit_s']} s, not timed)"
    )
    rows = [
        [f["family"], f["checks"], f"{f['wall_s']:.2f}", f"{f['peak_mb']:.0f}", f"+{f['added_mb']:.0f}"]
        for f in s["families"]
    ]
    rows.append(["checks total", s["checks"], f"{s['checks_s']:.2f}", "", ""])
    rows.append(["start, read, load", "", f"{s['overhead_s']:.2f}", f"{s['ready_mb']:.0f}", ""])
    rows.append(["TOTAL (child)", s["checks"], f"{s['wall_s']:.2f}", f"{s['peak_mb']:.0f}", ""])
    body = table(["family", "checks", "wall s", "peak MB", "+MB"], rows)
    c = s["counts"]
    lines = [
        title,
        body,
        f"child CPU time (user + system): {s['cpu_s']:.2f} s",
        f"imports before the first check (part of start, read, load): {s.get('imports_s') or 0:.2f} s "
        f"({', '.join(s.get('preloaded') or []) or 'none'})",
        f"status: {c['pass']} pass, {c['warn']} warn, {c['fail']} fail, "
        f"{c['not_evaluable']} not_evaluable, {c['info']} info",
        "slowest: " + ", ".join(f"{x['check_id']} {x['wall_s']:.2f} s" for x in s["slowest"]),
        f"peak memory {s['peak_mb']:.0f} MB vs target < {PEAK_TARGET_MB:.0f} MB: "
        f"{verdict(s['peak_mb'] < PEAK_TARGET_MB)}",
    ]
    if s.get("not_evaluable"):
        lines.append("not evaluable: " + "; ".join(f"{k}: {v}" for k, v in s["not_evaluable"].items()))
    shap = s.get("shap")
    if shap:
        lines.extend(shap_lines(shap))
    return "\n".join(lines)


def shap_lines(shap: dict) -> list[str]:
    """XAI-01 against the bare explainer call: in the worker run and paired in one warm process."""
    tree = shap["explainer"] == "TreeExplainer"

    def judged(ratio):
        if ratio is None:
            return "n/a"
        if not tree:
            return f"{ratio}x (informational: the target is for trees)"
        return f"{ratio}x, {verdict(ratio <= SHAP_TARGET)}"

    return [
        f"SHAP vs target <= {SHAP_TARGET}x a bare {shap['explainer']} call on the same {shap['rows']:,} rows "
        f"(bare: fastest of {len(shap['bare_runs_s'])}, {shap['bare_s']:.2f} s):",
        f"  in the worker run: XAI-01 {shap['xai01_run_s']:.2f} s (shap imported before the checks) -> "
        f"{judged(shap['ratio_run'])}",
        f"  paired, warm:      XAI-01 {shap['xai01_warm_s']:.2f} s "
        f"(fastest of {len(shap['xai01_warm_runs_s'])}) -> {judged(shap['ratio_paired'])}",
    ]


def summary_table(cases: list[dict]) -> str:
    """All cases side by side: time, memory, checks and the SHAP ratio."""
    rows = []
    for s in cases:
        shap = s.get("shap") or {}
        ratios = "/".join(f"{shap[k]}x" for k in ("ratio_run", "ratio_paired") if shap.get(k) is not None)
        xai = s.get("xai01") or {}
        explained = (
            f"{xai['status']} {xai.get('path') or ''} {xai.get('sample') or 0} rows".replace("  ", " ") if xai else "-"
        )
        rows.append(
            [
                s["dataset"],
                s["model_name"],
                s["checks"],
                f"{s['checks_s']:.2f}",
                f"{s['wall_s']:.2f}",
                f"{s['cpu_s']:.2f}",
                f"{s['peak_mb']:.0f}",
                verdict(s["peak_mb"] < PEAK_TARGET_MB),
                verdict(s["wall_s"] <= BUDGET_TARGET_S),
                explained,
                ratios or "-",
            ]
        )
    header = [
        "dataset",
        "model",
        "checks",
        "checks s",
        "total s",
        "CPU s",
        "peak MB",
        "< 1.5 GB",
        "<= 120 s",
        "XAI-01",
        "SHAP run/paired",
    ]
    return table(header, rows, right={2, 3, 4, 5, 6, 10})
