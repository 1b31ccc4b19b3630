import json

from django import template

register = template.Library()


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@register.filter
def change_rows(event) -> list[tuple[str, str, str, bool]]:
    """(field, before, after, changed) for display; non-dict summaries show as one 'value' row."""
    before, after = event.before, event.after
    if not isinstance(before, dict) and not isinstance(after, dict):
        if before is None and after is None:
            return []
        return [("value", _text(before) if before is not None else "", _text(after), before != after)]
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        rows.append(
            (key, _text(old) if key in before else "", _text(new) if key in after else "", key in before and old != new)
        )
    return rows
