"""The numbers the home page shows about classification and obligations."""

import pytest
from django.utils import timezone

from governance.models import Obligation
from governance.selectors import classification_home_stats

pytestmark = pytest.mark.django_db


def test_home_stats_count_systems_by_tier_pending_approvals_and_overdue_obligations(
        approved, credit_system, compliance_officer, ml_engineer, outsider):
    from models_registry.models import AISystem

    AISystem.objects.create(organisation=credit_system.organisation, name="Chatbot", purpose="FAQ",
                            created_by=ml_engineer)
    Obligation.objects.update(due_date=timezone.localdate() + timezone.timedelta(days=30))
    Obligation.objects.filter(system=credit_system, article="Art. 4").update(
        due_date=timezone.localdate() - timezone.timedelta(days=3))
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

    html = render_to_string("governance/_home_card.html",
                            {"stats": classification_home_stats(compliance_officer)})
    assert 'data-testid="card-classification"' in html and "High risk" in html and "Obligations open" in html
