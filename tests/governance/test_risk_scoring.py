"""Scoring and appetite rules: the pure module, the service that applies them and the database
constraints behind both."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from core.errors import NotAllowed, ValidationFailed
from governance.risks import scoring
from governance.risks.scoring import (
    DEFAULT_BANDS,
    above_appetite,
    band_of,
    check_bands,
    check_scale,
    check_scores,
    score,
)
from tests.governance.test_risk_support import credit_risk, make_risk  # noqa: F401


@pytest.mark.parametrize("likelihood, impact, expected", [(1, 1, 1), (3, 4, 12), (5, 5, 25), (None, 3, None)])
def test_a_score_is_likelihood_times_impact(likelihood, impact, expected):
    assert score(likelihood, impact) == expected


@pytest.mark.parametrize(
    "value, band",
    [
        (1, "low"),
        (4, "low"),
        (5, "medium"),
        (9, "medium"),
        (10, "high"),
        (16, "high"),
        (17, "critical"),
        (25, "critical"),
    ],
)
def test_default_bands_cover_every_score(value, band):
    assert band_of(value)["key"] == band


def test_the_default_bands_and_scales_are_valid():
    assert check_bands(DEFAULT_BANDS) == ""
    assert check_scale(scoring.DEFAULT_LIKELIHOOD_SCALE) == "" and check_scale(scoring.DEFAULT_IMPACT_SCALE) == ""


def test_bands_with_a_gap_or_not_reaching_25_are_refused():
    assert "without gaps" in check_bands([{"key": "a", "min": 1, "max": 4}, {"key": "b", "min": 6, "max": 25}])
    assert check_bands([{"key": "a", "min": 1, "max": 20}]) == "Bands must end at 25."


def test_appetite_compares_the_residual_score_once_assessed():
    assert above_appetite(20, None, 9)  # not assessed: the inherent score counts
    assert not above_appetite(20, 6, 9)  # controls bring it under the appetite
    assert not above_appetite(9, None, 9)  # "above", not "at"


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"likelihood": 0, "impact": 3}, "score_out_of_range"),
        ({"likelihood": 3, "impact": 6}, "score_out_of_range"),
        ({"likelihood": "3", "impact": 3}, "score_out_of_range"),
        ({"likelihood": 3, "impact": 3, "residual_likelihood": 7, "residual_impact": 1}, "score_out_of_range"),
        ({"likelihood": 3, "impact": 3, "residual_likelihood": 2}, "residual_incomplete"),
        (
            {"likelihood": 2, "impact": 2, "residual_likelihood": 3, "residual_impact": 3},
            "residual_above_inherent_needs_reason",
        ),
    ],
)
def test_bad_scores_get_a_specific_problem(fields, code):
    assert [p.code for p in check_scores(**fields)] == [code]


def test_a_residual_score_above_the_inherent_one_is_fine_with_a_reason():
    assert (
        check_scores(
            likelihood=2,
            impact=2,
            residual_likelihood=3,
            residual_impact=3,
            residual_reason="The vendor's new model widens exposure.",
        )
        == []
    )


@pytest.mark.django_db
class TestServiceApplication:
    def test_stored_scores_follow_the_levels(self, compliance_officer, credit_system):
        risk = make_risk(
            compliance_officer, [credit_system], likelihood=4, impact=5, residual_likelihood=2, residual_impact=3
        )
        assert (risk.inherent_score, risk.residual_score, risk.current_score) == (20, 6, 6)

    def test_a_score_outside_1_to_5_is_refused_and_names_the_field(self, compliance_officer, credit_system):
        with pytest.raises(ValidationFailed) as caught:
            make_risk(compliance_officer, [credit_system], likelihood=6, impact=0)
        assert caught.value.code == "score_out_of_range"
        assert {p["field"] for p in caught.value.extra["problems"]} == {"likelihood", "impact"}
        assert "Likelihood must be a whole number from 1 to 5 (got 6)" in caught.value.message

    def test_a_residual_score_above_the_inherent_one_needs_a_reason(self, compliance_officer, credit_system):
        with pytest.raises(ValidationFailed) as caught:
            make_risk(
                compliance_officer, [credit_system], likelihood=2, impact=2, residual_likelihood=4, residual_impact=4
            )
        assert caught.value.code == "residual_above_inherent_needs_reason"
        risk = make_risk(
            compliance_officer,
            [credit_system],
            likelihood=2,
            impact=2,
            residual_likelihood=4,
            residual_impact=4,
            residual_reason="A new data source adds exposure.",
        )
        assert risk.residual_score == 16 and risk.current_score == 16

    def test_acceptance_as_treatment_needs_a_justification(self, compliance_officer, credit_system):
        with pytest.raises(ValidationFailed) as caught:
            make_risk(compliance_officer, [credit_system], treatment="accept", acceptance_justification="ok")
        assert caught.value.code == "acceptance_needs_justification"

    def test_a_risk_above_appetite_is_flagged_in_the_register(self, compliance_officer, credit_system):
        from governance.risks.selectors import risk_queryset

        high = make_risk(compliance_officer, [credit_system], likelihood=4, impact=4)
        low = make_risk(compliance_officer, [credit_system], title="Minor", likelihood=2, impact=2)
        flags = dict(risk_queryset(user=compliance_officer).values_list("pk", "above_appetite"))
        assert flags == {high.pk: True, low.pk: False}

    def test_changing_the_appetite_moves_the_flag(self, compliance_officer, credit_system):
        from governance.risks.selectors import risk_queryset
        from governance.risks.services import risk_settings_update

        risk = make_risk(compliance_officer, [credit_system], likelihood=3, impact=3)
        assert not risk_queryset(user=compliance_officer).get(pk=risk.pk).above_appetite
        settings = scoring
        risk_settings_update(
            actor=compliance_officer,
            appetite=6,
            likelihood_scale=settings.DEFAULT_LIKELIHOOD_SCALE,
            impact_scale=settings.DEFAULT_IMPACT_SCALE,
            bands=DEFAULT_BANDS,
            review_reminder_days=14,
        )
        assert risk_queryset(user=compliance_officer).get(pk=risk.pk).above_appetite

    def test_only_compliance_officers_and_admins_change_the_appetite(self, ml_engineer, org_admin):
        from governance.risks.services import risk_settings_update

        args = {
            "appetite": 12,
            "likelihood_scale": scoring.DEFAULT_LIKELIHOOD_SCALE,
            "impact_scale": scoring.DEFAULT_IMPACT_SCALE,
            "bands": DEFAULT_BANDS,
            "review_reminder_days": 7,
        }
        with pytest.raises(NotAllowed):
            risk_settings_update(actor=ml_engineer, **args)
        assert risk_settings_update(actor=org_admin, **args).appetite == 12
        with pytest.raises(ValidationFailed):
            risk_settings_update(actor=org_admin, **{**args, "appetite": 30})


@pytest.mark.django_db
def test_the_database_refuses_scores_that_are_not_the_product_of_their_levels(credit_risk):
    from governance.risks.models import Risk

    for update in (
        {"inherent_score": 7},
        {"likelihood": 9, "inherent_score": 36},
        {"status": "accepted"},
        {"residual_likelihood": 5, "residual_impact": 5, "residual_score": 25},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Risk.objects.filter(pk=credit_risk.pk).update(**update)
