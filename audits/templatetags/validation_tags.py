"""Formatting of check results for the validation pages."""

import json
import math

from django import template

from audits.choices import CheckFamily

register = template.Library()

_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def _number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.1f}"
    return str(value)


@register.filter
def num(value) -> str:
    return _number(value)


@register.filter
def threshold_text(threshold) -> str:
    """{"op": ">=", "value": 0.7, "warn": 0.75} → "≥ 0.7 (warn below 0.75)"."""
    if not threshold:
        return "—"
    if not isinstance(threshold, dict):
        return str(threshold)
    op = threshold.get("op", "")
    text = f"{_OPS.get(op, op)} {_number(threshold.get('value'))}".strip()
    if threshold.get("warn") is not None:
        side = "below" if op.startswith(">") else "above"
        text += f" (warn {side} {_number(threshold['warn'])})"
    return text


@register.filter
def ci_text(ci) -> str:
    if not ci or not isinstance(ci, (list, tuple)) or len(ci) < 2:
        return "—"
    return f"[{_number(ci[0])}, {_number(ci[1])}]"


@register.filter
def family_label(family: str) -> str:
    return dict(CheckFamily.choices).get(family, str(family).replace("_", " ").title())


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, 0)


@register.filter
def elapsed(run) -> str:
    """Time since the run started (or its total duration once it ended), as "1 min 05 s"."""
    from django.utils import timezone

    if run.started_at is None:
        return "not started"
    end = run.finished_at or timezone.now()
    seconds = max(0, int((end - run.started_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@register.filter
def status_label(status: str) -> str:
    from audits.choices import CheckStatus

    return dict(CheckStatus.choices).get(status, status)


@register.filter
def is_scalar(value) -> bool:
    return not isinstance(value, (dict, list, tuple))
