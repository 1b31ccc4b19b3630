"""Every bad upload answers with its own code and a sentence the uploader understands."""

import gzip
import io
import pickle
import zipfile

import pandas as pd
import pytest

from models_registry.datasets import ERROR_CODES, DatasetLimits

from .conftest import refused


def test_an_empty_file_is_refused_as_empty(upload):
    assert refused(upload("e.csv", b"")).code == "empty_file"


def test_a_gzip_of_nothing_is_refused_as_empty(upload):
    assert refused(upload("e.csv.gz", gzip.compress(b""))).code == "empty_file"


def test_a_header_without_rows_is_refused_as_no_rows(upload):
    err = refused(upload("h.csv", "a,b,c\n"))
    assert err.code == "no_rows" and err.extra["columns"] == ["a", "b", "c"]


def test_a_truncated_gzip_is_refused_as_truncated(upload):
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 50_000)
    err = refused(upload("t.csv.gz", data[: len(data) // 2]))
    assert err.code == "truncated_file"


def test_a_truncated_parquet_is_refused_as_truncated(upload, tmp_path):
    pd.DataFrame({"a": range(100)}).to_parquet(tmp_path / "full.parquet")
    data = (tmp_path / "full.parquet").read_bytes()
    assert refused(upload("t.parquet", data[:-10])).code == "truncated_file"


def test_ragged_rows_name_the_first_bad_line_and_its_field_count(upload):
    rows = "".join(f"{i},x,y\n" for i in range(10))
    err = refused(upload("r.csv", "a,b,c\n" + rows + "1,2\n" + "1,2,3,4\n"))
    assert err.code == "ragged_rows"
    assert (err.extra["line"], err.extra["fields"], err.extra["expected"]) == (12, 2, 3)
    assert "Line 12 has 2 fields but the header has 3" in err.message


def test_ragged_line_numbers_count_the_lines_of_multi_line_quoted_values(upload):
    err = refused(upload("r.csv", 'a,b\n1,"two\nlines"\n2,x,extra\n'))
    assert err.code == "ragged_rows" and err.extra["line"] == 4


def test_binary_garbage_is_not_a_table(upload):
    import random

    rng = random.Random(1)
    garbage = bytes(rng.randrange(256) for _ in range(20_000))
    assert refused(upload("g.csv", garbage)).code == "not_a_table"


def test_utf16_without_a_byte_order_mark_is_a_bad_encoding(upload):
    err = refused(upload("u.csv", "a,b\n1,2\n3,4\n".encode("utf-16-le")))
    assert err.code == "bad_encoding"


def test_a_utf16_bom_followed_by_broken_text_is_a_bad_encoding(upload):
    content = "a,b\n1,2\n".encode("utf-16") + b"\x00\xd8\x41"  # lone surrogate, odd length
    assert refused(upload("u.csv", content)).code == "bad_encoding"


def test_utf32_is_a_bad_encoding(upload):
    assert refused(upload("u.csv", "a,b\n1,2\n".encode("utf-32"))).code == "bad_encoding"


def test_duplicate_column_names_are_named(upload):
    err = refused(upload("d.csv", "id,age,age,x,x\n1,2,3,4,5\n"))
    assert err.code == "duplicate_columns" and err.extra["columns"] == ["age", "x"]
    assert "'age'" in err.message


def test_an_empty_column_name_gives_its_position(upload):
    err = refused(upload("d.csv", "id, ,x\n1,2,3\n"))
    assert err.code == "empty_column_name" and err.extra["positions"] == [2]


def test_duplicate_names_in_parquet_are_refused_too(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([[1], [2]], names=["a", "a"]), tmp_path / "d.parquet")
    assert refused(tmp_path / "d.parquet").code == "duplicate_columns"


@pytest.mark.parametrize("role", ["target", "prediction", "score"])
def test_a_missing_role_column_is_named_with_close_matches(upload, role):
    err = refused(upload("m.csv", "income,prediction,score,sex\n1,1,0.5,F\n"), **{role: "incme"})
    assert err.code == "missing_column"
    assert err.extra["column"] == "incme" and err.extra["role"] == role
    assert err.extra["suggestions"] == ["income"] and "Did you mean 'income'?" in err.message


def test_nested_parquet_columns_are_not_a_table(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"tags": [[1, 2], [3]]}), tmp_path / "n.parquet")
    err = refused(tmp_path / "n.parquet")
    assert err.code == "not_a_table" and err.extra["column"] == "tags"


def test_blank_lines_only_is_an_empty_file(upload):
    assert refused(upload("b.csv", "\n\n  \n")).code == "empty_file"


def test_a_missing_sensitive_column_suggests_a_differently_cased_name(upload):
    err = refused(upload("m.csv", "income,Sex\n1,F\n"), target="income", sensitive=["race", "sex"])
    assert err.code == "missing_column"
    assert [m["column"] for m in err.extra["missing"]] == ["race", "sex"]
    assert err.extra["missing"][1]["suggestions"] == ["Sex"]


@pytest.mark.parametrize("values, why", [
    ("0.2\n1.7\n", "outside [0, 1]"), ("-0.1\n0.5\n", "outside [0, 1]"), ("high\nlow\n", "not numeric"),
    ("?\n\n", "not numeric"),
])
def test_a_score_column_must_hold_probabilities(upload, values, why):
    err = refused(upload("s.csv", "p\n" + values), score="p")
    assert err.code == "bad_score_column" and why in err.message


def test_a_parquet_name_on_csv_content_is_a_format_mismatch(upload):
    err = refused(upload("d.parquet", "a,b\n1,2\n"))
    assert err.code == "format_mismatch" and err.extra["expected"] == "parquet"


def test_a_csv_name_on_parquet_content_is_a_format_mismatch(upload, tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "real.parquet")
    err = refused(upload("d.csv", (tmp_path / "real.parquet").read_bytes()))
    assert err.code == "format_mismatch" and "Parquet" in err.message


def test_a_gzipped_parquet_under_a_csv_gz_name_is_a_format_mismatch(upload, tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "real.parquet")
    data = gzip.compress((tmp_path / "real.parquet").read_bytes())
    assert refused(upload("d.csv.gz", data)).code == "format_mismatch"


def test_a_zip_or_xlsx_named_csv_is_a_format_mismatch(upload):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("data.csv", "a,b\n1,2\n")
    err = refused(upload("d.csv", buffer.getvalue()))
    assert err.code == "format_mismatch" and "zip" in err.message


def test_a_pickle_named_csv_is_a_format_mismatch(upload):
    err = refused(upload("d.csv", pickle.dumps({"a": [1, 2]})))
    assert err.code == "format_mismatch" and "pickle" in err.message


@pytest.mark.parametrize("name", ["data.xlsx", "data.json", "data", "data.csv.zip", "data.gz"])
def test_unsupported_extensions_list_what_is_accepted(upload, name):
    err = refused(upload(name, "a,b\n1,2\n"), name)
    assert err.code == "unsupported_format"
    assert {".csv", ".csv.gz", ".tsv", ".txt", ".parquet"} <= set(err.extra["accepted"])


def test_too_many_rows_is_too_large(upload):
    err = refused(upload("r.csv", "a\n" + "1\n" * 101), limits=DatasetLimits(max_rows=100))
    assert err.code == "too_large" and err.extra["limit"] == "max_rows"


def test_too_many_rows_stops_the_stream_early(upload):
    path = upload("r.csv", "a,b\n" + "1,2\n" * 2_000_000)
    err = refused(path, limits=DatasetLimits(max_rows=1_000))
    assert err.code == "too_large"


def test_too_many_columns_is_too_large(upload):
    header = ",".join(f"c{i}" for i in range(30))
    err = refused(upload("c.csv", header + "\n" + ",".join("1" * 30) + "\n"), limits=DatasetLimits(max_columns=20))
    assert err.code == "too_large" and err.extra["columns"] == 30


def test_parquet_limits_are_checked_from_the_footer(tmp_path):
    pd.DataFrame({"a": range(500)}).to_parquet(tmp_path / "p.parquet")
    assert refused(tmp_path / "p.parquet", limits=DatasetLimits(max_rows=100)).extra["limit"] == "max_rows"
    assert refused(tmp_path / "p.parquet", limits=DatasetLimits(max_bytes=100)).extra["limit"] == "max_bytes"


def test_a_gzip_bomb_is_stopped_while_streaming(upload):
    # 200 MiB of zeros-like text compresses to about 200 KiB; the limit is 1 MiB, so the
    # stream must stop after about one chunk instead of inflating everything.
    raw = gzip.compress(b"a\n" + b"0\n" * (100 * 1024 * 1024), compresslevel=9)
    err = refused(upload("bomb.csv.gz", raw), limits=DatasetLimits(max_bytes=1 << 20, chunk_bytes=1 << 16))
    assert err.code == "too_large" and err.extra["limit"] == "max_bytes"


def test_every_documented_code_is_exercised_by_this_file():
    source = open(__file__, encoding="utf-8").read()
    untested = [code for code in ERROR_CODES if f'"{code}"' not in source and code != "bad_read_options"]
    assert untested == []


def test_errors_serialise_for_the_api(upload):
    data = refused(upload("e.csv", b"")).to_dict()
    assert set(data) == {"code", "message", "extra"}
