"""The system page's certification steps (audits.certification.next_steps), for the registry's
template: the registry app may not import audits, so its page loads this tag instead."""

from django import template

from audits.certification.next_steps import system_certification_steps

register = template.Library()


@register.inclusion_tag("audits/certification/_system_steps.html", takes_context=True)
def certification_steps(context, system):
    user = context["request"].user
    return {"system": system, **system_certification_steps(system=system, user=user)}
