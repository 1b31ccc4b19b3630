"""The fast select widgets draw the same options as Django's, escaped and with the choice kept."""

from __future__ import annotations

import re

import pytest
from django import forms

from core.widgets import FastSelect, FastSelectMultiple

CHOICES = [("", "all"), (1, 'Credit <scoring> & "pricing"'), ("a&b", "Fraud"), ("Group", [(7, "Seven"), (8, "Eight")])]


def _tags(html: str) -> list[tuple]:
    """Each tag with its attributes as a set (attribute order does not matter in HTML) and the text."""
    return [
        (tuple(sorted(re.findall(r'(\w+)(?:="([^"]*)")?', tag))), text.strip())
        for tag, text in re.findall(r"(<[^>]*>)([^<]*)", html)
    ]


@pytest.mark.parametrize(
    "django_widget, fast_widget, value",
    [
        (forms.Select, FastSelect, "1"),
        (forms.Select, FastSelect, None),
        (forms.Select, FastSelect, "a&b"),
        (forms.SelectMultiple, FastSelectMultiple, ["1", "8"]),
        (forms.SelectMultiple, FastSelectMultiple, None),
    ],
)
def test_a_fast_select_draws_the_same_options_as_djangos_select(django_widget, fast_widget, value):
    attrs = {"id": "id_system", "class": "filter"}
    expected = django_widget(choices=CHOICES, attrs=attrs).render("system", value, attrs={"required": True})
    drawn = fast_widget(choices=CHOICES, attrs=attrs).render("system", value, attrs={"required": True})
    assert _tags(drawn) == _tags(expected)


def test_labels_and_values_are_escaped_and_the_chosen_option_is_selected():
    html = FastSelect(choices=CHOICES).render("system", "a&b")
    assert "Credit &lt;scoring&gt; &amp; &quot;pricing&quot;" in html and "<scoring>" not in html
    assert '<option value="a&amp;b" selected>Fraud</option>' in html
    assert html.count(" selected") == 1


def test_a_model_choice_field_with_a_fast_select_keeps_working_as_a_filter(organisation, other_organisation):
    from core.models import Organisation

    field = forms.ModelChoiceField(queryset=Organisation.objects.order_by("name"), widget=FastSelect, empty_label="all")
    html = field.widget.render("org", organisation.pk)
    assert f'<option value="{organisation.pk}" selected>Acme Bank</option>' in html
    assert f'<option value="{other_organisation.pk}">Globex Insurance</option>' in html
    assert field.clean(str(other_organisation.pk)) == other_organisation
