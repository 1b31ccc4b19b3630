"""Template helpers of the classification pages."""

from django import template

from governance.presentation import needs_unsure_review

register = template.Library()


@register.filter
def needs_review_provisional(determination) -> bool:
    """The determination rests on an "unsure" answer nobody has resolved or justified yet."""
    if determination is None:
        return False
    return needs_unsure_review(determination.result or {}, determination.unsure_justifications)
