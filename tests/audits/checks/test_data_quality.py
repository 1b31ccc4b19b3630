import numpy as np
import pandas as pd

from audits.checks import Policy, ValidationContext

from ._helpers import FAST, run_one, tabular


def ctx_for(df, train=None, task="binary", target="y"):
    df = df.assign(pred=df[target])
    train = None if train is None else train.assign(pred=train[target])
    return ValidationContext(
        task=task, test=df, train=train, target=target, prediction_column="pred", policy=Policy.from_overrides(FAST)
    )


def test_disguised_question_mark_tokens_are_found_as_missing_values():
    df = tabular(400)
    df["workclass"] = np.where(np.arange(400) % 10 == 0, "?", "Private")
    r = run_one(ctx_for(df), "DATA-02")
    assert r.status == "warn"
    assert "workclass" in r.finding["affected"]
    col = next(c for c in r.details["columns"] if c["column"] == "workclass")
    assert col["null_types"] == {"'?'": 40} and col["share"] == 0.1


def test_numeric_sentinels_like_minus_999_count_as_missing():
    df = tabular(300)
    df.loc[:9, "x2"] = -999
    r = run_one(ctx_for(df), "DATA-02")
    col = next(c for c in r.details["columns"] if c["column"] == "x2")
    assert col["null_types"] == {"-999": 10}


def test_clean_data_has_no_missing_value_finding():
    assert run_one(ctx_for(tabular(300)), "DATA-02").status == "pass"


def test_duplicated_rows_are_found():
    df = tabular(300)
    df = pd.concat([df, df.iloc[:30]], ignore_index=True)
    r = run_one(ctx_for(df), "DATA-04")
    assert r.status == "fail"
    assert r.details["by_split"]["test"]["duplicate_rows"] == 30


def test_conflicting_labels_are_found():
    df = tabular(300)
    twin = df.iloc[:5].copy()
    twin["y"] = np.where(twin.y == "yes", "no", "yes")
    r = run_one(ctx_for(pd.concat([df, twin], ignore_index=True)), "DATA-05")
    assert r.status == "fail"
    assert r.details["by_split"]["test"]["rows_in_conflict"] == 10
    assert len(r.details["examples"]) == 5


def test_a_copy_of_the_target_is_flagged_as_leakage_by_name():
    df = tabular(600)
    df["leak"] = (df.y == "yes").astype(int)
    r = run_one(ctx_for(df), "DATA-10")
    assert r.status == "fail"
    assert r.finding["affected"] == ["leak"]
    assert r.details["power"]["leak"] > 0.95 and r.details["power"]["noise"] < 0.3


def test_emails_in_a_column_are_flagged_as_personal_data():
    df = tabular(200)
    df["contact"] = [f"person{i}@example.org" for i in range(200)]
    r = run_one(ctx_for(df), "DATA-14")
    assert r.status == "fail" and r.severity == "high"
    assert "contact" in r.finding["affected"]
    hit = next(h for h in r.details["value_hits"] if h["column"] == "contact")
    assert hit["kind"] == "email" and "@" not in hit["example"][2:-2]


def test_name_like_columns_and_phone_numbers_are_flagged():
    df = tabular(200)
    df["last_name"] = "Smith"
    df["tel"] = [f"+44 20 7946 {i:04d}" for i in range(200)]
    r = run_one(ctx_for(df), "DATA-14")
    assert "last_name" in r.details["name_hits"]
    assert any(h["column"] == "tel" and h["kind"] == "phone" for h in r.details["value_hits"])


def test_ordinary_categorical_data_is_not_personal_data():
    assert run_one(ctx_for(tabular(300)), "DATA-14").status == "pass"


def test_test_rows_copied_from_train_are_reported_as_contamination():
    df = tabular(400)
    train, test = df.iloc[:300], pd.concat([df.iloc[300:], df.iloc[:20]], ignore_index=True)
    r = run_one(ctx_for(test, train), "DATA-11")
    assert r.details["test_rows_in_train"] == 20
    assert r.status == "fail"  # 20 of 120 rows > 5 %


def test_mixed_numbers_and_text_in_one_column_fail_the_schema_check():
    df = tabular(200)
    df["amount"] = [str(i) for i in range(195)] + ["abc", "def", "x", "y", "z"]
    r = run_one(ctx_for(df), "DATA-01")
    assert r.status == "fail" and r.finding["affected"] == ["amount"]


def test_constant_columns_and_class_imbalance_are_reported():
    df = tabular(300)
    df["const"] = 1
    df["y"] = np.where(np.arange(300) < 15, "yes", "no")
    assert run_one(ctx_for(df), "DATA-03").finding["affected"] == ["const"]
    r = run_one(ctx_for(df), "DATA-08")
    assert r.status == "warn" and r.value == 0.05


def test_new_categories_in_test_are_reported_by_split_sanity():
    df = tabular(400)
    train, test = df.iloc[:300].copy(), df.iloc[300:].copy()
    test.loc[test.index[:10], "colour"] = "purple"
    r = run_one(ctx_for(test, train), "DATA-12")
    assert r.status == "warn" and r.details["new_categories"]["colour"]["values"] == ["purple"]


def test_ambiguous_tokens_like_none_are_possible_missing_values_not_counted_ones():
    df = tabular(300)
    df["other_debtors"] = np.where(np.arange(300) % 3 == 0, "guarantor", "none")
    r = run_one(ctx_for(df), "DATA-02")
    assert r.status == "warn" and r.severity == "low" and r.value == 0.0
    assert r.details["possible_tokens"] == [{"split": "test", "column": "other_debtors", "token": "none", "count": 200}]
