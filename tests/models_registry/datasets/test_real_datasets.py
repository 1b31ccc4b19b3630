"""Smoke tests on the public datasets that ship in datasets/ (UCI Adult, German Credit)."""

import json
import time

import pytest

from models_registry.datasets import profile_dataset, read_dataset

from .conftest import SHARED

ADULT = SHARED / "adult.csv.gz"
GERMAN = SHARED / "german_credit.csv.gz"


@pytest.fixture(scope="module")
def adult():
    started = time.perf_counter()
    profile = profile_dataset(ADULT, "adult.csv.gz", target="income", sensitive=["sex", "race", "age"])
    return profile, time.perf_counter() - started


def test_adult_is_profiled_in_well_under_two_seconds(adult):
    profile, seconds = adult
    assert seconds < 2.0
    assert (profile.row_count, profile.column_count) == (48_842, 16)
    assert profile.read_options["compression"] == "gzip" and profile.read_options["delimiter"] == ","


def test_adult_question_marks_are_reported_as_disguised_missing_values(adult):
    profile, _ = adult
    expected = {"workclass": 2_799, "occupation": 2_809, "native_country": 857}
    for name, count in expected.items():
        column = profile.column(name)
        assert column["disguised_missing"] == {"?": count}
        assert column["missing"] == count
    assert {c["name"] for c in profile.columns if c["disguised_missing"]} == set(expected)
    assert sum("'?'" in w for w in profile.warnings) == 3


def test_adult_types_classes_and_no_personal_data_flags(adult):
    profile, _ = adult
    assert profile.column("age")["type"] == "integer" and profile.column("age")["min"] == 17
    assert profile.column("income")["type"] == "categorical" and profile.column("income")["distinct"] == 2
    assert profile.column("sex")["distinct"] == 2
    assert profile.pii_columns == ()
    json.dumps(profile.to_dict())


def test_adult_re_read_matches_the_profile(adult):
    profile, _ = adult
    df = read_dataset(ADULT, profile.read_options, mode="typed")
    assert df.shape == (48_842, 16)
    assert int(df["workclass"].isna().sum()) == 2_799
    assert (df["income"] == ">50K").sum() == 11_687


def test_german_credit_is_profiled_without_mistaking_none_for_missing():
    profile = profile_dataset(GERMAN, "german_credit.csv.gz", target="credit_risk",
                              sensitive=["sex", "age", "foreign_worker"])
    assert (profile.row_count, profile.column_count) == (1_000, 22)
    assert profile.column("other_debtors")["missing"] == 0  # "none" is a real category here
    assert profile.column("telephone")["pii_kind"] is None
    assert profile.column("credit_risk")["distinct"] == 2
    assert profile.pii_columns == () and profile.warnings == ()
