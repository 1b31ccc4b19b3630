"""Art. 5: each prohibited practice, point (a) to (h), is reached, and its near misses are not."""

from __future__ import annotations

import pytest

from governance.rules import Outcome
from tests.governance.rules.helpers import classify_complete

REACHED = {
    "subliminal manipulation causing significant harm is prohibited under (a)": (
        dict(art5_a_techniques="yes", art5_a_distortion="yes", art5_a_harm="yes"),
        "5(1)(a)",
    ),
    "exploiting the vulnerability of children with significant harm is prohibited under (b)": (
        dict(art5_b_exploits_vulnerability="yes", art5_b_distortion_harm="yes"),
        "5(1)(b)",
    ),
    "social scoring with detriment in unrelated contexts is prohibited under (c)": (
        dict(art5_c_social_scoring="yes", art5_c_unrelated_context="yes"),
        "5(1)(c)",
    ),
    "social scoring with disproportionate treatment is prohibited under (c)": (
        dict(art5_c_social_scoring="yes", art5_c_disproportionate="yes"),
        "5(1)(c)",
    ),
    "crime prediction based solely on profiling is prohibited under (d)": (
        dict(art5_d_crime_prediction="yes", art5_d_solely_profiling="yes"),
        "5(1)(d)",
    ),
    "untargeted scraping of faces into a recognition database is prohibited under (e)": (
        dict(art5_e_facial_database="yes", art5_e_untargeted_scraping="yes"),
        "5(1)(e)",
    ),
    "emotion recognition at work without a medical or safety reason is prohibited under (f)": (
        dict(emotion_recognition="yes", art5_f_workplace_education="yes"),
        "5(1)(f)",
    ),
    "biometric categorisation inferring sexual orientation is prohibited under (g)": (
        dict(biometric_categorisation="yes", art5_g_sensitive_inference="yes"),
        "5(1)(g)",
    ),
    "real-time police face recognition in public with no listed objective is prohibited under (h)": (
        dict(
            biometric_identification="yes",
            rbi_remote="yes",
            rbi_real_time="yes",
            rbi_public_space="yes",
            rbi_law_enforcement="yes",
            rbi_objective="none",
        ),
        "5(1)(h)",
    ),
    "real-time police face recognition for a listed objective without authorisation is prohibited": (
        dict(
            biometric_identification="yes",
            rbi_remote="yes",
            rbi_real_time="yes",
            rbi_public_space="yes",
            rbi_law_enforcement="yes",
            rbi_objective="victims_missing_persons",
            rbi_authorised="no",
        ),
        "5(1)(h)",
    ),
}


@pytest.mark.parametrize("answers, point", REACHED.values(), ids=REACHED.keys())
def test_each_prohibited_practice_is_reached(answers, point):
    determination = classify_complete(**answers)

    assert determination.outcome is Outcome.PROHIBITED
    assert determination.risk_tier == "prohibited"
    assert point in determination.art_5_points
    assert any(basis.article == f"Art. {point}" for basis in determination.legal_bases)
    assert any(f"Art. {point} applies" in step for step in determination.rationale)


NEAR_MISSES = {
    "manipulation without significant harm is not prohibited": (
        dict(art5_a_techniques="yes", art5_a_distortion="yes", art5_a_harm="no"),
        None,
    ),
    "targeting children without material distortion or harm is not prohibited": (
        dict(art5_b_exploits_vulnerability="yes", art5_b_distortion_harm="no"),
        None,
    ),
    "a score used only in its own context and proportionately is not social scoring": (
        dict(art5_c_social_scoring="yes", art5_c_unrelated_context="no", art5_c_disproportionate="no"),
        None,
    ),
    "crime risk that supports a human assessment based on verifiable facts is not prohibited": (
        dict(art5_d_crime_prediction="yes", art5_d_solely_profiling="yes", art5_d_supports_human_assessment="yes"),
        None,
    ),
    "crime risk assessment not based solely on profiling is not prohibited": (
        dict(art5_d_crime_prediction="yes", art5_d_solely_profiling="no"),
        None,
    ),
    "a facial database built from consented enrolment is not untargeted scraping": (
        dict(art5_e_facial_database="yes", art5_e_untargeted_scraping="no"),
        None,
    ),
    "emotion recognition at work for medical or safety reasons is not prohibited but high-risk 1(c)": (
        dict(emotion_recognition="yes", art5_f_workplace_education="yes", art5_f_medical_safety="yes"),
        "1(c)",
    ),
    "emotion recognition in a shop is not prohibited but high-risk 1(c)": (
        dict(emotion_recognition="yes", art5_f_workplace_education="no"),
        "1(c)",
    ),
    "a virtual try-on filter is not a biometric categorisation system": (
        dict(biometric_categorisation="yes", biometric_categorisation_ancillary="yes"),
        None,
    ),
    "labelling a lawfully acquired biometric dataset is not prohibited": (
        dict(
            biometric_categorisation="yes", art5_g_sensitive_inference="yes", art5_g_labelling_or_law_enforcement="yes"
        ),
        None,
    ),
    "post (not real-time) remote biometric identification is not prohibited but high-risk 1(a)": (
        dict(biometric_identification="yes", rbi_remote="yes", rbi_real_time="no"),
        "1(a)",
    ),
    "real-time identification by a private company is not prohibited but high-risk 1(a)": (
        dict(
            biometric_identification="yes",
            rbi_remote="yes",
            rbi_real_time="yes",
            rbi_public_space="yes",
            rbi_law_enforcement="no",
        ),
        "1(a)",
    ),
    "authorised real-time identification of a terror suspect is not prohibited but high-risk 1(a)": (
        dict(
            biometric_identification="yes",
            rbi_remote="yes",
            rbi_real_time="yes",
            rbi_public_space="yes",
            rbi_law_enforcement="yes",
            rbi_objective="serious_crime_suspect",
            rbi_authorised="yes",
        ),
        "1(a)",
    ),
    "biometric verification to unlock a phone is neither prohibited nor 1(a)": (
        dict(biometric_identification="yes", biometric_verification_only="yes"),
        None,
    ),
}


@pytest.mark.parametrize("answers, annex_iii_point", NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_near_misses_are_not_prohibited(answers, annex_iii_point):
    determination = classify_complete(**answers)

    assert determination.outcome is not Outcome.PROHIBITED
    assert determination.art_5_points == ()
    if annex_iii_point:
        assert determination.outcome is Outcome.HIGH_RISK_ANNEX_III
        assert determination.annex_iii_points == (annex_iii_point,)
    else:
        assert determination.outcome is Outcome.MINIMAL_RISK


def test_medical_exception_is_explained_in_the_rationale():
    determination = classify_complete(
        emotion_recognition="yes", art5_f_workplace_education="yes", art5_f_medical_safety="yes"
    )

    assert any(
        'answered "Yes" to "Is it intended to be put in place or on the market for medical or safety reasons?"' in step
        and "Art. 5(1)(f)" in step
        for step in determination.rationale
    )


def test_unsure_answers_on_every_element_lead_to_the_prohibition_and_say_so():
    determination = classify_complete(art5_a_techniques="unsure", art5_a_distortion="unsure", art5_a_harm="unsure")

    assert determination.art_5_points == ("5(1)(a)",)
    assert set(determination.unsure_answers) == {"art5_a_techniques", "art5_a_distortion", "art5_a_harm"}
    assert any('(treated as "Yes", the stricter reading)' in step for step in determination.rationale)


def test_unsure_about_the_medical_exception_does_not_lift_the_prohibition():
    determination = classify_complete(
        emotion_recognition="yes", art5_f_workplace_education="yes", art5_f_medical_safety="unsure"
    )

    assert determination.art_5_points == ("5(1)(f)",)
    assert any('(treated as "No", the stricter reading)' in step for step in determination.rationale)


def test_several_prohibited_practices_are_all_listed():
    determination = classify_complete(
        art5_e_facial_database="yes",
        art5_e_untargeted_scraping="yes",
        emotion_recognition="yes",
        art5_f_workplace_education="yes",
    )

    assert determination.art_5_points == ("5(1)(e)", "5(1)(f)")
