"""Issue #14 defect 7: "unsure" leads to review, not a verdict. A result that rests on an "unsure"
answer (read the stricter way by the rules) is shown as needs review (provisional) with its open
points, and is approved only when each unsure answer is resolved by a new submission with a
definite answer or justified in writing by the approver (recorded with the approval and in the
audit trail, in the same transaction)."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import ValidationFailed
from core.models import ApiToken
from governance import services
from governance.choices import DeterminationStatus
from governance.presentation import needs_unsure_review, open_points
from governance.rules import classify
from tests.governance.conftest import CREDIT_SCORING, events
from tests.governance.rules.helpers import area, complete

pytestmark = pytest.mark.django_db

API = "/api/v1"

# Lawful scoring over time where the team is unsure the score is used in unrelated contexts:
# read the stricter way, it is prohibited under Art. 5(1)(c).
SOCIAL_SCORING_UNSURE = complete(
    roles=["provider"], art5_c_social_scoring="yes", art5_c_unrelated_context="unsure", art5_c_disproportionate="no"
)
# A deployer of credit scoring, unsure whether its name on the system and its use make it the provider.
ART_25_UNSURE = complete(
    roles=["deployer"],
    **area("essential_services", annex3_5b_creditworthiness="yes"),
    art25_own_name="unsure",
    art25_changed_purpose="unsure",
)
# A model provider unsure whether the Commission has designated its model.
DESIGNATION_UNSURE = complete(
    roles=["provider"], involves_gpai="yes", gpai_model_provider="yes", gpai_designated="unsure"
)

REASON = "Legal reviewed the contract: the score is shared with the landlord association, so 5(1)(c) may apply."


def submit(system, user, answers):
    return services.determination_submit(system=system, actor=user, answers=answers)


def justify_all(determination, text=REASON):
    return {qid: text for qid in determination.result["unsure_answers"]}


def page_client(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    _, secret = ApiToken.objects.create(user=user, name="ci")
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


# --- what the result says ----------------------------------------------------------------------------


def test_the_open_point_names_the_question_the_stricter_reading_and_that_it_made_the_system_prohibited():
    result = classify(SOCIAL_SCORING_UNSURE).to_dict()
    assert result["outcome"] == "prohibited"
    (point,) = open_points(result)
    assert point["id"] == "art5_c_unrelated_context"
    assert point["assumed"] == '"Yes"'
    assert len(point["question"]) <= 120 and point["question_full"].startswith("Does the resulting score")
    assert any("Art. 5(1)(c)" in effect for effect in point["effects"])
    assert needs_unsure_review(result) is True


def test_an_unsure_art_25_answer_says_that_it_made_the_deployer_the_provider():
    result = classify(ART_25_UNSURE).to_dict()
    points = {point["id"]: point for point in open_points(result)}
    assert set(points) == {"art25_own_name", "art25_changed_purpose"}
    assert any("Art. 25(1)(a)" in effect and "provider" in effect for effect in points["art25_own_name"]["effects"])


def test_an_unsure_designation_says_that_only_the_stricter_reading_cites_art_51_1_b_as_if_designated():
    result = classify(DESIGNATION_UNSURE).to_dict()
    (point,) = open_points(result, answers=DESIGNATION_UNSURE)
    assert point["id"] == "gpai_designated"
    assert any("systemic risk" in effect for effect in point["effects"])
    assert "only the stricter reading cites" in point["other_reading"] and "Art. 51(1)(b)" in point["other_reading"]
    assert 'Answered "No", the result would be: General-purpose AI model (Art. 53)' in point["other_reading"]


def test_an_unsure_art_5_follow_up_says_the_other_answer_would_not_be_prohibited():
    result = classify(SOCIAL_SCORING_UNSURE).to_dict()
    (point,) = open_points(result, answers=SOCIAL_SCORING_UNSURE)
    assert point["other_reading"].startswith('Answered "No", the result would be: ')
    assert "Prohibited" not in point["other_reading"] and "cites Art. 5(1)(c)" in point["other_reading"]


def test_a_result_without_unsure_answers_has_no_open_points_and_is_no_review_case():
    result = classify(CREDIT_SCORING).to_dict()
    assert open_points(result) == [] and needs_unsure_review(result) is False


# --- approval in the service ---------------------------------------------------------------------------


def test_approval_is_refused_without_a_justification_for_the_unsure_answer_and_nothing_is_saved(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    with pytest.raises(ValidationFailed) as refused:
        services.determination_approve(determination=determination, actor=compliance_officer)
    assert refused.value.code == "unsure_unjustified"
    assert refused.value.extra["missing"] == ["art5_c_unrelated_context"]
    assert "Does the resulting score lead to detrimental" in refused.value.message
    determination.refresh_from_db()
    credit_system.refresh_from_db()
    assert determination.status == DeterminationStatus.SUBMITTED and determination.unsure_justifications == {}
    assert credit_system.risk_tier == "unclassified" and not credit_system.obligations.exists()
    assert not events("classification.approved").exists()


def test_each_unsure_answer_needs_its_own_justification_and_a_blank_one_does_not_count(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, ART_25_UNSURE)
    with pytest.raises(ValidationFailed) as refused:
        services.determination_approve(
            determination=determination,
            actor=compliance_officer,
            unsure_justifications={"art25_own_name": REASON, "art25_changed_purpose": "   "},
        )
    assert refused.value.extra["missing"] == ["art25_changed_purpose"]
    assert "purpose its provider did not intend" in refused.value.message
    determination.refresh_from_db()
    assert determination.status == DeterminationStatus.SUBMITTED


def test_a_justification_for_a_question_not_answered_unsure_is_refused(credit_system, ml_engineer, compliance_officer):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    with pytest.raises(ValidationFailed) as refused:
        services.determination_approve(
            determination=determination,
            actor=compliance_officer,
            unsure_justifications={**justify_all(determination), "art5_c_social_scoring": REASON},
        )
    assert refused.value.code == "invalid_unsure_justifications"
    assert refused.value.extra["unknown"] == ["art5_c_social_scoring"]


def test_with_a_justification_per_unsure_answer_the_approval_keeps_them_and_its_audit_event_carries_them(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, ART_25_UNSURE)
    justifications = {"art25_own_name": "  Our logo is on the login page.  ", "art25_changed_purpose": REASON}
    approved = services.determination_approve(
        determination=determination, actor=compliance_officer, unsure_justifications=justifications
    )
    approved.refresh_from_db()
    assert approved.status == DeterminationStatus.APPROVED
    assert approved.unsure_justifications == {
        "art25_own_name": "Our logo is on the login page.",
        "art25_changed_purpose": REASON,
    }
    event = events("classification.approved").get(object_id=str(approved.pk))
    assert event.after["unsure_justifications"] == approved.unsure_justifications
    # The stricter reading stays what to prepare for: the deployer gets the provider's duties.
    assert approved.system.obligations.filter(role="provider").exists()
    assert needs_unsure_review(approved.result, approved.unsure_justifications) is False


def test_an_override_also_needs_a_justification_per_unsure_answer(credit_system, ml_engineer, compliance_officer):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    reason = "The scores stay inside the tenancy context; not social scoring."
    with pytest.raises(ValidationFailed) as refused:
        services.determination_override(
            determination=determination, actor=compliance_officer, outcome="minimal_risk", justification=reason
        )
    assert refused.value.code == "unsure_unjustified"
    overridden = services.determination_override(
        determination=determination,
        actor=compliance_officer,
        outcome="minimal_risk",
        justification=reason,
        unsure_justifications=justify_all(determination),
    )
    assert overridden.override_outcome == "minimal_risk"
    assert overridden.unsure_justifications == {"art5_c_unrelated_context": REASON}
    event = events("classification.overridden").get(object_id=str(overridden.pk))
    assert event.after["unsure_justifications"] == {"art5_c_unrelated_context": REASON}


def test_resolving_the_unsure_answer_in_a_new_submission_needs_no_justification(
    credit_system, ml_engineer, compliance_officer
):
    first = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    definite = complete(
        roles=["provider"], art5_c_social_scoring="yes", art5_c_unrelated_context="no", art5_c_disproportionate="no"
    )
    resolved = submit(credit_system, ml_engineer, definite)
    first.refresh_from_db()
    assert first.status == DeterminationStatus.SUPERSEDED and resolved.result["unsure_answers"] == []
    approved = services.determination_approve(determination=resolved, actor=compliance_officer)
    assert approved.status == DeterminationStatus.APPROVED and approved.outcome != "prohibited"


def test_a_determination_without_unsure_answers_approves_as_before(submitted, compliance_officer):
    approved = services.determination_approve(determination=submitted, actor=compliance_officer, note="Checked.")
    assert approved.status == DeterminationStatus.APPROVED and approved.unsure_justifications == {}
    event = events("classification.approved").get(object_id=str(approved.pk))
    assert "unsure_justifications" not in event.after


# --- the pages ----------------------------------------------------------------------------------------


def test_the_result_page_reads_needs_review_provisional_with_the_open_points_instead_of_a_verdict(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    page = page_client(compliance_officer).get(reverse("governance:determination_detail", args=[determination.pk]))
    html = page.content.decode()
    headline = html.split('data-testid="headline">', 1)[1].split("</p>", 1)[0]
    assert headline.startswith("Needs review (provisional)") and "would be" in headline
    assert 'data-testid="open-point-art5_c_unrelated_context"' in html and 'data-testid="other-reading"' in html
    assert 'data-testid="unsure-justification-art5_c_unrelated_context"' in html  # one textarea per open point


def test_approving_on_the_page_without_the_justification_is_a_400_naming_the_question_and_saves_nothing(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    response = page_client(compliance_officer).post(
        reverse("governance:determination_approve", args=[determination.pk]), {"note": "Checked with legal."}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="approval-error"' in html and "Does the resulting score lead to detrimental" in html
    assert "Checked with legal." in html  # what was typed is kept
    determination.refresh_from_db()
    assert determination.status == DeterminationStatus.SUBMITTED
    assert not events("classification.approved").exists()


def test_approving_on_the_page_with_the_justification_records_it_and_the_page_shows_it_afterwards(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    client = page_client(compliance_officer)
    url = reverse("governance:determination_approve", args=[determination.pk])
    response = client.post(url, {"unsure__art5_c_unrelated_context": REASON})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Classification approved" in html
    assert "justified at approval" in html and REASON in html
    headline = html.split('data-testid="headline">', 1)[1].split("</p>", 1)[0]
    assert not headline.startswith("Needs review")


def test_the_classification_list_and_the_system_page_flag_a_result_awaiting_review_as_provisional(
    credit_system, ml_engineer, compliance_officer
):
    submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    client = page_client(compliance_officer)
    listing = client.get(reverse("governance:classification_list")).content.decode()
    history = client.get(reverse("governance:system_classification", args=[credit_system.pk])).content.decode()
    for html in (listing, history):
        assert 'data-testid="provisional"' in html and "Needs review (provisional)" in html


# --- the API -----------------------------------------------------------------------------------------


def test_the_api_marks_the_determination_provisional_and_lists_the_open_points(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    body = api_client(compliance_officer).get(f"{API}/classification/determinations/{determination.pk}/").json()
    assert body["provisional"] is True and body["headline"].startswith("Needs review (provisional)")
    assert [point["id"] for point in body["open_points"]] == ["art5_c_unrelated_context"]
    assert body["open_points"][0]["assumed"] == '"Yes"' and body["unsure_justifications"] == {}


def test_the_api_refuses_approval_without_unsure_justifications_with_400_listing_the_questions(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, ART_25_UNSURE)
    client = api_client(compliance_officer)
    url = f"{API}/classification/determinations/{determination.pk}/approve/"
    response = client.post(url, {"unsure_justifications": {"art25_own_name": REASON}}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unsure_unjustified" and body["extra"]["missing"] == ["art25_changed_purpose"]
    assert client.post(url, {"unsure_justifications": ["not", "an", "object"]}, format="json").status_code == 400
    determination.refresh_from_db()
    assert determination.status == DeterminationStatus.SUBMITTED and determination.unsure_justifications == {}


def test_the_api_approves_and_overrides_with_a_justification_per_unsure_answer(
    credit_system, ml_engineer, compliance_officer
):
    client = api_client(compliance_officer)
    first = submit(credit_system, ml_engineer, ART_25_UNSURE)
    response = client.post(
        f"{API}/classification/determinations/{first.pk}/approve/",
        {"unsure_justifications": justify_all(first)},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["provisional"] is False and body["unsure_justifications"] == justify_all(first)
    assert [point["justification"] for point in body["open_points"]] == [REASON, REASON]

    second = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    override = {"outcome": "minimal_risk", "justification": "Scores stay inside the tenancy context, per legal."}
    url = f"{API}/classification/determinations/{second.pk}/override/"
    assert client.post(url, override, format="json").status_code == 400
    response = client.post(url, {**override, "unsure_justifications": justify_all(second)}, format="json")
    assert response.status_code == 200 and response.json()["override_outcome"] == "minimal_risk"


# --- the certification report --------------------------------------------------------------------------


def test_the_certification_report_lists_each_unsure_answer_with_the_approvers_justification(
    credit_system, ml_engineer, compliance_officer
):
    from audits.reports.report import _classification

    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    approved = services.determination_approve(
        determination=determination, actor=compliance_officer, unsure_justifications=justify_all(determination)
    )
    classification = _classification(approved)
    assert classification["provisional"] is False and not classification["headline"].startswith("Needs review")
    assert [point["justification"] for point in classification["open_points"]] == [REASON]


def test_an_approval_from_before_the_rule_without_justifications_still_reports_a_provisional_result(
    credit_system, ml_engineer, compliance_officer
):
    from audits.reports.report import _classification
    from governance.models import Determination

    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    services.determination_approve(
        determination=determination, actor=compliance_officer, unsure_justifications=justify_all(determination)
    )
    Determination.objects.filter(pk=determination.pk).update(unsure_justifications={})  # as approved before 2026-12
    determination.refresh_from_db()
    classification = _classification(determination)
    assert classification["provisional"] is True and classification["headline"].startswith("Needs review (provisional)")


def test_the_home_queue_lists_a_result_resting_on_unsure_answers_as_needs_review_not_as_a_verdict(
    credit_system, ml_engineer, compliance_officer
):
    from governance.queues import determinations_to_approve

    submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    (item,) = determinations_to_approve(user=compliance_officer).items
    assert item.label.startswith("Consumer credit scoring: needs review (provisional), Prohibited practice")
    assert "justify or resolve 1 unsure answer(s)" in item.detail


def test_an_over_long_justification_is_refused_whole_never_cut(credit_system, ml_engineer, compliance_officer):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    unsure = determination.result["unsure_answers"]
    too_long = {qid: "x" * (services.UNSURE_JUSTIFICATION_MAX + 1) for qid in unsure}

    with pytest.raises(ValidationFailed) as refused:
        services.determination_approve(
            determination=determination, actor=compliance_officer, unsure_justifications=too_long
        )

    assert refused.value.code == "invalid_unsure_justifications" and refused.value.extra["too_long"] == unsure
    determination.refresh_from_db()
    assert determination.status == "submitted" and determination.unsure_justifications == {}


def test_a_system_s_determination_list_names_the_open_points_and_leaves_the_other_reading_to_the_detail(
    credit_system, ml_engineer, compliance_officer
):
    determination = submit(credit_system, ml_engineer, SOCIAL_SCORING_UNSURE)
    client = api_client(compliance_officer)

    listed = client.get(f"{API}/classification/systems/{credit_system.pk}/determinations/").json()["results"][0]
    detail = client.get(f"{API}/classification/determinations/{determination.pk}/").json()

    assert listed["provisional"] is True and listed["headline"] == detail["headline"]
    assert [p["id"] for p in listed["open_points"]] == [p["id"] for p in detail["open_points"]]
    assert all(p["other_reading"] == "" for p in listed["open_points"])
    assert any(p["other_reading"] for p in detail["open_points"])
