"""Template helpers of the risk register."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from governance.risks.scoring import DEFAULT_BANDS, band_of

register = template.Library()


@register.simple_tag
def score_badge(value, bands=None):
    """A score coloured by the organisation's band (its key names the CSS class)."""
    if value in (None, ""):
        return mark_safe('<span class="score none" title="not assessed">—</span>')
    band = band_of(int(value), bands or DEFAULT_BANDS) or {"key": "none", "label": ""}
    return format_html(
        '<span class="score band-{}" title="{} ({})">{}</span>', band["key"], band["label"], value, value
    )


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def cell_count(grid, impact, likelihood):
    return grid[int(impact) - 1][int(likelihood) - 1]


@register.simple_tag(takes_context=True)
def risks_raised_from(context, source_type: str, source_id):
    """Risks raised from another record (e.g. a finding), readable by the current user. A page that
    lists many sources passes `raised_risks_by_source` ({(type, id): [risks]}) to avoid a query each."""
    batch = context.get("raised_risks_by_source")
    if batch is not None:
        return batch.get((source_type, str(source_id)), [])
    from governance.risks.selectors import risks_from_source

    request = context.get("request")
    if request is None:
        return []
    return list(risks_from_source(user=request.user, source_type=source_type, source_id=source_id))
