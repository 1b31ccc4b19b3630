"""One filterset for the obligations board, its CSV export and the API list."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from core.models import User
from core.widgets import FastSelect
from governance.choices import ObligationStatus
from governance.models import Obligation
from models_registry.models import AISystem


def _systems(request):
    if request is None:
        return AISystem.objects.none()
    # Only what the options show: a filter may list thousands of systems.
    return AISystem.objects.restrict(request.user, "obligation.view").only("id", "name").order_by("name")


def _owners(request):
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    return User.objects.filter(organisation_id=request.user.organisation_id).order_by("username")


class ObligationFilterSet(django_filters.FilterSet):
    system = django_filters.ModelChoiceFilter(queryset=_systems, label="System", empty_label="all", widget=FastSelect)
    status = django_filters.ChoiceFilter(choices=ObligationStatus.choices, label="Status", empty_label="all")
    article = django_filters.CharFilter(method="filter_article", label="Article")
    owner = django_filters.ModelChoiceFilter(queryset=_owners, label="Owner", empty_label="all", widget=FastSelect)
    overdue = django_filters.BooleanFilter(
        field_name="is_overdue", label="Overdue only", widget=django_filters.widgets.BooleanWidget()
    )
    applies_before = django_filters.DateFilter(field_name="applies_from", lookup_expr="lte", label="Applies by")

    class Meta:
        model = Obligation
        fields = ["system", "status", "article", "owner", "overdue", "applies_before"]

    def filter_article(self, queryset, name, value):
        """ "Art. 10", "10" or "art. 10" all find Art. 10 (and not Art. 100)."""
        number = value.strip().lower().removeprefix("art.").removeprefix("art").strip()
        if not number:
            return queryset
        return queryset.filter(Q(article__iexact=f"Art. {number}") | Q(article__istartswith=f"Art. {number}("))
