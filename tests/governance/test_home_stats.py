"""The numbers the home page shows about classification and obligations."""

import pytest
from django.utils import timezone

from governance.models import Obligation
from governance.selectors import classification_home_stats

pytestmark = pytest.mark.django_db


def test_home_stats_count_systems_by_tier_pending_approvals_and_overdue_obligations(
    approved, credit_system, compliance_officer, ml_engineer, outsider
):
    from models_registry.models import AISystem

    AISystem.objects.create(
        organisation=credit_system.organisation, name="Chatbot", purpose="FAQ", created_by=ml_engineer
    )
    Obligation.objects.update(due_date=timezone.localdate() + timezone.timedelta(days=30))
    Obligation.objects.filter(system=credit_system, article="Art. 4").update(
        due_date=timezone.localdate() - timezone.timedelta(days=3)
    )
    stats = classification_home_stats(compliance_officer)
    tiers = {value: count for value, _label, count in stats["systems_by_risk_tier"]}
    assert tiers["high"] == 1 and tiers["unclassified"] == 1 and stats["systems_total"] == 2
    assert stats["awaiting_approval"] == 0
    assert stats["obligations_overdue"] == 1
    assert stats["obligations_open"] == 19
    assert len(stats["obligations_next_due"]) == 5
    assert classification_home_stats(outsider)["systems_total"] == 0


def test_home_stats_are_empty_for_someone_who_cannot_see_classifications():
    from django.contrib.auth.models import AnonymousUser

    assert classification_home_stats(AnonymousUser()) == {}


def test_the_home_card_renders_the_numbers(approved, compliance_officer):
    from django.template.loader import render_to_string

    html = render_to_string("governance/_home_card.html", {"stats": classification_home_stats(compliance_officer)})
    assert 'data-testid="card-classification"' in html and "High risk" in html and "Obligations open" in html


# --- the risk register's card ---------------------------------------------------------------------


@pytest.fixture
def risks(credit_system, compliance_officer):
    from datetime import date

    from tests.governance.test_risk_support import make_risk

    make_risk(compliance_officer, [credit_system], title="Model theft", likelihood=5, impact=5)  # 25: above
    make_risk(compliance_officer, [credit_system], title="Drift", likelihood=2, impact=2, due_date=date(2020, 1, 1))
    make_risk(compliance_officer, [credit_system], title="Old one", likelihood=1, impact=1, status="closed")


def test_the_risk_card_counts_what_the_register_counts(risks, compliance_officer, outsider):
    from core import home
    from governance.risks.models import Risk
    from governance.risks.selectors import risk_settings_get

    stats = home.collect(user=compliance_officer)["risks"]
    appetite = risk_settings_get(organisation_id=compliance_officer.organisation_id).appetite
    assert stats["appetite"] == appetite
    assert stats["total"] == Risk.objects.count() == 3
    assert stats["active"] == Risk.objects.exclude(status="closed").count() == 2
    active = Risk.objects.exclude(status="closed")
    assert stats["above_appetite"] == active.filter(current_score__gt=appetite).count() == 1
    assert stats["overdue"] == 1
    assert home.collect(user=outsider)["risks"]["total"] == 0  # another organisation sees none of them


def test_the_risk_card_is_not_offered_to_someone_who_may_not_see_risks():
    from django.contrib.auth.models import AnonymousUser

    from core import home

    assert "risks" not in home.collect(user=AnonymousUser())


def test_the_home_page_shows_the_risk_card_with_links_to_the_lists_behind_it(risks, client, compliance_officer):
    from django.urls import reverse

    client.force_login(compliance_officer)
    body = client.get(reverse("home")).content.decode()
    assert 'data-testid="card-risks"' in body and "Risk register" in body
    assert (
        f'href="{reverse("governance:risk_list")}?above_appetite=true" data-testid="home-risks-above-appetite">'
        '<strong class="bad">1</strong>' in body
    )
