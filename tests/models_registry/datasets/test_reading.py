import gzip

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from models_registry.datasets import profile_dataset, read_dataset

TABLE = "city{d}amount{d}ok\nZürich{d}12.5{d}yes\nBern{d}7{d}no\nGenève{d}{d}yes\n"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_common_delimiter_is_detected(upload, delimiter):
    path = upload("data.csv", TABLE.format(d=delimiter))
    profile = profile_dataset(path, "data.csv")
    assert profile.read_options["delimiter"] == delimiter
    assert [c["name"] for c in profile.columns] == ["city", "amount", "ok"]
    assert [c["type"] for c in profile.columns] == ["string", "float", "boolean"]
    assert profile.row_count == 3


@pytest.mark.parametrize("encoding, recorded", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("utf-16", "utf-16"),
])
def test_common_encodings_are_detected_and_recorded(upload, encoding, recorded):
    text = "city;price\nZürich;€ 12\nKöln;€ 7\n"
    path = upload("prices.csv", text.encode(encoding))
    profile = profile_dataset(path, "prices.csv")
    assert profile.read_options["encoding"] == recorded
    assert profile.columns[0]["name"] == "city"  # no BOM glued to the first name
    df = read_dataset(path, profile.read_options, mode="typed")
    assert df["city"].tolist() == ["Zürich", "Köln"]
    assert df["price"].tolist() == ["€ 12", "€ 7"]


def test_latin1_is_the_last_resort_when_cp1252_cannot_decode(upload):
    # 0x81 is undefined in cp1252 but a (control) character in latin-1.
    path = upload("x.csv", b"name,code\nA\x81b,1\nCaf\xe9,2\n")
    assert profile_dataset(path, "x.csv").read_options["encoding"] == "latin-1"


def test_a_late_non_utf8_byte_still_switches_the_whole_file_to_cp1252(upload):
    rows = "".join(f"row{i},{i}\n" for i in range(200_000))
    path = upload("late.csv", ("name,n\n" + rows).encode() + "Zürich,1\n".encode("cp1252"))
    profile = profile_dataset(path, "late.csv")
    assert profile.read_options["encoding"] == "cp1252"
    assert read_dataset(path, profile.read_options, mode="typed")["name"].iloc[-1] == "Zürich"


def test_gzip_is_detected_by_magic_bytes_not_by_the_name(upload):
    path = upload("plain-name.csv", gzip.compress(b"a,b\n1,2\n3,4\n"))
    profile = profile_dataset(path, "plain-name.csv")
    assert profile.read_options["compression"] == "gzip"
    assert profile.row_count == 2


def test_a_csv_gz_name_with_plain_content_is_read_as_plain_text(upload):
    path = upload("data.csv.gz", b"a,b\n1,2\n")
    assert profile_dataset(path, "data.csv.gz").read_options["compression"] is None


def test_tsv_and_txt_names_are_accepted(upload):
    assert profile_dataset(upload("d.tsv", "a\tb\n1\t2\n"), "d.tsv").read_options["delimiter"] == "\t"
    assert profile_dataset(upload("d.txt", "a|b\n1|2\n"), "d.txt").read_options["delimiter"] == "|"


def test_windows_line_endings_are_read(upload):
    path = upload("w.csv", "a;b\r\n1;x\r\n2;y\r\n")
    profile = profile_dataset(path, "w.csv")
    assert profile.read_options["delimiter"] == ";"
    assert read_dataset(path, profile.read_options, mode="typed")["b"].tolist() == ["x", "y"]


def test_an_integer_score_is_accepted_with_a_warning(upload):
    profile = profile_dataset(upload("s.csv", "y,s\n1,1\n0,0\n"), "s.csv", target="y", score="s")
    assert any("is it a label?" in w for w in profile.warnings)


def test_a_single_column_file_is_a_table(upload):
    profile = profile_dataset(upload("one.csv", "score\n0.1\n0.9\n"), "one.csv", score="score")
    assert profile.column_count == 1 and profile.columns[0]["type"] == "float"


def test_quoted_values_may_hold_delimiters_and_newlines(upload):
    path = upload("q.csv", 'id,comment\n1,"hello, world"\n2,"two\nlines"\n3,plain\n')
    profile = profile_dataset(path, "q.csv")
    df = read_dataset(path, profile.read_options, mode="typed")
    assert profile.row_count == 3
    assert df["comment"].tolist() == ["hello, world", "two\nlines", "plain"]


def test_types_are_inferred_on_the_whole_column_not_the_first_block(upload):
    rows = "".join(f"{i},{i}\n" for i in range(300_000))  # several pyarrow blocks
    path = upload("late.csv", "a,b\n" + rows + "x,?\n")
    profile = profile_dataset(path, "late.csv")
    assert profile.column("a")["type"] == "string"
    assert profile.column("b")["type"] == "integer"
    assert profile.column("b")["disguised_missing"] == {"?": 1}


def test_leading_zero_codes_stay_strings(upload):
    profile = profile_dataset(upload("z.csv", "zip,n\n01234,1\n80331,2\n"), "z.csv")
    assert profile.column("zip")["type"] == "string"
    assert profile.column("n")["type"] == "integer"


def test_semicolon_files_may_use_a_decimal_comma(upload):
    path = upload("eu.csv", "amount;n\n1,5;1\n2,25;2\n".encode("cp1252"))
    profile = profile_dataset(path, "eu.csv")
    assert profile.column("amount")["type"] == "float"
    assert read_dataset(path, profile.read_options, mode="typed")["amount"].tolist() == [1.5, 2.25]


def test_dates_are_recognised_with_their_format(upload):
    path = upload("d.csv", "iso,eu\n2024-01-31,31.01.2024\n2024-02-29 10:00:00,29.02.2024\n")
    profile = profile_dataset(path, "d.csv")
    assert profile.column("iso")["type"] == "datetime"
    assert profile.read_options["datetime_formats"] == {"iso": "iso", "eu": "%d.%m.%Y"}
    assert profile.column("eu")["min"] == "2024-01-31T00:00:00"


def test_missing_values_and_disguised_tokens_are_counted_per_column(upload):
    path = upload("m.csv", "a,b,c\n1,x,none\n,?,NA\nN/A,n/a,None\n-,null,NaN\n5, ,ok\n")
    profile = profile_dataset(path, "m.csv")
    a, b, c = profile.columns
    assert a["type"] == "integer" and a["missing"] == 3 and a["disguised_missing"] == {"N/A": 1, "-": 1}
    assert b["missing"] == 4 and b["disguised_missing"] == {"?": 1, "n/a": 1, "null": 1, "": 1}
    # "none" in lower case is a real category (German Credit), "None" is a Python repr.
    assert c["missing"] == 3 and c["disguised_missing"] == {"NA": 1, "None": 1, "NaN": 1}
    assert any("'?'" in w for w in profile.warnings)


def test_numeric_columns_report_min_max_and_mean(upload):
    profile = profile_dataset(upload("n.csv", "x,y\n1,0.5\n3,1.5\n,?\n"), "n.csv")
    x = profile.column("x")
    assert (x["min"], x["max"], x["mean"], x["distinct"], x["pandas_dtype"]) == (1, 3, 2.0, 2, "Int64")
    assert profile.column("y")["missing_share"] == pytest.approx(1 / 3, abs=1e-6)


def test_constant_columns_and_a_one_class_target_are_warned_about(upload):
    profile = profile_dataset(upload("c.csv", "k,y\n1,a\n1,a\n"), "c.csv", target="y")
    assert any("'k' holds a single value" in w for w in profile.warnings)
    assert any("single class" in w for w in profile.warnings)


def test_roles_are_echoed_and_the_profile_is_json_safe(upload):
    import json

    path = upload("r.csv", "y,pred,p,sex,age\n1,1,0.9,F,30\n0,1,0.2,M,40\n")
    profile = profile_dataset(path, "r.csv", target="y", prediction="pred", score="p", sensitive=["sex", "age"])
    data = json.loads(json.dumps(profile.to_dict()))
    assert (data["target"], data["prediction"], data["score"], data["sensitive"]) == ("y", "pred", "p", ["sex", "age"])
    assert data["file_format"] == "csv" and data["row_count"] == 2 and data["column_count"] == 5


def test_parquet_round_trip_keeps_the_types_the_file_declares(upload, tmp_path):
    df = pd.DataFrame({"age": pd.array([30, None, 50], dtype="Int64"), "score": [0.1, 0.5, 0.9],
                       "city": ["Zürich", "?", None], "when": pd.to_datetime(["2024-01-01", "2024-02-01", None])})
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    profile = profile_dataset(path, "d.parquet", score="score")
    assert profile.file_format == "parquet" and profile.read_options == {"format": "parquet"}
    assert [c["type"] for c in profile.columns] == ["integer", "float", "string", "datetime"]
    assert profile.column("city")["missing"] == 2 and profile.column("city")["disguised_missing"] == {"?": 1}
    back = read_dataset(path, profile.read_options, mode="typed")
    assert back["age"].tolist()[0] == 30 and back["city"].isna().tolist() == [False, True, True]


@pytest.mark.parametrize("name, content", [
    ("a.csv", "n,s,b,d,z\n1,x,yes,2024-01-01,01\n,?,no,,2\n3,,,2024-03-01,\n"),
    ("b.csv", "n;s\n1,5;Zürich\n2;N/A\n"),
])
def test_read_dataset_returns_the_frame_the_profile_described(upload, name, content):
    path = upload(name, gzip.compress(content.encode("cp1252")))
    profile = profile_dataset(path, name)
    df = read_dataset(path, profile.read_options, mode="typed")
    again = read_dataset(path, profile.read_options, mode="typed")
    pd.testing.assert_frame_equal(df, again)
    assert len(df) == profile.row_count and list(df.columns) == [c["name"] for c in profile.columns]
    for column in profile.columns:
        assert str(df[column["name"]].dtype) == column["pandas_dtype"]
        assert int(df[column["name"]].isna().sum()) == column["missing"]


def test_read_dataset_refuses_options_it_cannot_use(upload):
    from models_registry.datasets import DatasetError

    with pytest.raises(DatasetError) as info:
        read_dataset(upload("a.csv", "a\n1\n"), {"format": "xlsx"})
    assert info.value.code == "bad_read_options"


def test_parquet_written_by_pyarrow_with_a_dictionary_column_is_profiled(tmp_path):
    table = pa.table({"grade": pa.array(["a", "b", "a", "?"]).dictionary_encode(), "n": [1, 2, 3, 4]})
    path = tmp_path / "g.parquet"
    pq.write_table(table, path)
    profile = profile_dataset(path, "g.parquet")
    assert profile.column("grade")["type"] == "categorical"
    assert profile.column("grade")["disguised_missing"] == {"?": 1}
    assert profile.column("grade")["missing"] == 1 and profile.column("grade")["distinct"] == 2


def test_unusual_parquet_types_are_profiled_without_crashing(tmp_path):
    import datetime
    import decimal
    import json

    table = pa.table({
        "empty": pa.array([None, None], pa.null()), "raw": pa.array([b"a", b"\xff"]),
        "price": pa.array([decimal.Decimal("1.50"), None], pa.decimal128(5, 2)),
        "day": pa.array([datetime.date(2020, 1, 1), None]), "at": pa.array([datetime.time(1, 2), None]),
        "wait": pa.array([datetime.timedelta(days=1), None]), "big": pa.array([1, 2**63], pa.uint64()),
        "zoned": pa.array([1, 2], pa.timestamp("us", tz="Europe/Zurich")),
    })
    pq.write_table(table, tmp_path / "odd.parquet")
    profile = profile_dataset(tmp_path / "odd.parquet", "odd.parquet")
    json.dumps(profile.to_dict())
    assert profile.column("price")["max"] == 1.5 and profile.column("empty")["type"] == "string"
    assert profile.column("zoned")["type"] == "datetime" and profile.column("big")["max"] == 2**63
    assert len(read_dataset(tmp_path / "odd.parquet", profile.read_options)) == 2


def test_concatenated_gzip_members_are_read_whole(upload):
    path = upload("mm.csv.gz", gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n5,6\n"))
    profile = profile_dataset(path, "mm.csv.gz")
    assert profile.row_count == 3 and len(read_dataset(path, profile.read_options, mode="typed")) == 3


def test_a_numeric_first_row_is_flagged_as_a_possible_missing_header(upload):
    profile = profile_dataset(upload("n.csv", "1,2\n3,4\n"), "n.csv")
    assert any("may be data rather than a header" in w for w in profile.warnings)


def test_a_cell_larger_than_a_parser_block_is_still_read(upload):
    path = upload("wide.csv", "a,b\n1," + "x" * 3_000_000 + "\n2,y\n")
    profile = profile_dataset(path, "wide.csv")
    assert profile.row_count == 2 and len(read_dataset(path, profile.read_options, mode="typed")["b"][0]) == 3_000_000


def test_a_quoted_value_spanning_many_lines_is_one_value(upload):
    path = upload("long.csv", 'a,b\n1,"' + "x\n" * 100_000 + '"\n2,y\n')
    profile = profile_dataset(path, "long.csv")
    assert profile.row_count == 2


def test_the_model_frame_keeps_every_value_as_written_like_pandas_does(upload):
    """A model must be scored on the values it was trained on: '?' stays '?', 'yes' stays 'yes'."""
    path = upload("d.csv", "age;city;member;amount\n30;?;yes;1,5\n;Zürich;no;2,25\n")
    profile = profile_dataset(path, "d.csv")
    frame = read_dataset(path, profile.read_options)
    expected = pd.read_csv(path, sep=";", decimal=",")
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["city"].tolist()[0] == "?" and frame["member"].tolist() == ["yes", "no"]


def test_an_unknown_read_mode_is_a_programming_error(upload):
    path = upload("d.csv", "a\n1\n")
    with pytest.raises(ValueError):
        read_dataset(path, profile_dataset(path, "d.csv").read_options, mode="fancy")
