"""Forms with consequential choices preselect nothing: an override's outcome and a risk's or an
obligation's next status start on an empty choice, and submitting it unchanged is refused."""

import re

import pytest
from django.urls import reverse

from governance.forms import OverrideForm
from tests.governance.test_risk_support import credit_risk  # noqa: F401

pytestmark = pytest.mark.django_db


def selected_option(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"( selected)?', select)
    chosen = [value for value, selected in options if selected]
    return chosen[0] if chosen else options[0][0]  # a browser shows the first option when none is selected


def test_the_override_form_preselects_no_outcome():
    assert selected_option(str(OverrideForm()["outcome"]), "outcome") == ""


def test_an_override_without_a_chosen_outcome_is_refused(client, compliance_officer, submitted):
    client.force_login(compliance_officer)
    response = client.post(
        reverse("governance:determination_override", args=[submitted.pk]),
        {"outcome": "", "justification": "A written reason long enough for the rule."},
        follow=True,
    )
    assert "Choose an outcome" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_the_risk_status_form_preselects_no_status(client, compliance_officer, credit_risk):  # noqa: F811
    client.force_login(compliance_officer)
    html = client.get(reverse("governance:risk_detail", args=[credit_risk.pk])).content.decode()
    assert selected_option(html, "to_status") == ""
    response = client.post(reverse("governance:risk_transition", args=[credit_risk.pk]), {"to_status": ""}, follow=True)
    assert "Choose a valid status" in response.content.decode()
    credit_risk.refresh_from_db()
    assert credit_risk.status == "open"


def test_the_obligation_status_form_preselects_no_status(client, compliance_officer, approved):
    from governance.models import Obligation

    obligation = Obligation.objects.filter(system=approved.system).first()
    client.force_login(compliance_officer)
    html = client.get(reverse("governance:obligation_detail", args=[obligation.pk])).content.decode()
    assert selected_option(html, "to_status") == ""
