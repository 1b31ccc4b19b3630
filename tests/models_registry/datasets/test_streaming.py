"""The profiler streams: it reads one parser block at a time and keeps a bounded summary per column,
yet describes the shipped datasets exactly as the whole-file profiler did (issue #11). The golden
files were written by the profiler before it streamed (commit 4caec09)."""

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute  # noqa: F401
import pyarrow.parquet as pq
import pytest

from models_registry.datasets import DatasetLimits, profile_dataset, read_dataset
from models_registry.datasets.stats import DistinctCounter

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "golden"
SHIPPED = {"adult": ("adult.csv.gz", "income", ["sex", "race", "age"]),
           "german_credit": ("german_credit.csv.gz", "credit_risk", ["sex", "age", "foreign_worker"])}
# 16 KB blocks: Adult (5 MB of text) is read in about 330 blocks, German credit in 9.
SMALL = DatasetLimits(csv_block_bytes=16 * 1024, parquet_batch_rows=500)


def same(old, new, path="profile"):
    """Equal, except that a mean may differ in its last bits when the blocks differ (float sums
    depend on their order)."""
    if isinstance(old, dict):
        assert list(old) == list(new), path
        for key in old:
            same(old[key], new[key], f"{path}.{key}")
    elif isinstance(old, list):
        assert len(old) == len(new), path
        for i, (a, b) in enumerate(zip(old, new)):
            same(a, b, f"{path}[{i}]")
    elif isinstance(old, float) and isinstance(new, float):
        assert math.isclose(old, new, rel_tol=1e-12), (path, old, new)
    else:
        assert old == new, (path, old, new)


@pytest.mark.parametrize("key", sorted(SHIPPED))
@pytest.mark.parametrize("limits", [None, SMALL], ids=["default blocks", "16 KB blocks"])
def test_the_streaming_profile_of_a_shipped_dataset_is_the_profile_it_had_before(key, limits):
    name, target, sensitive = SHIPPED[key]
    profile = profile_dataset(ROOT / "datasets" / name, name, target=target, sensitive=sensitive, limits=limits)
    golden = json.loads((GOLDEN / f"{key}.profile.json").read_text())
    new = json.loads(json.dumps(profile.to_dict()))
    if limits is None:
        assert new == golden  # the same blocks as before: the same to the last bit
    else:
        same(golden, new)


def test_a_type_that_fails_only_in_a_late_block_is_inferred_on_the_whole_column(tmp_path):
    rows = [f"{n},{n % 7},0{n % 3}\n" for n in range(20_000)]
    rows[19_000] = "19000,x,01\n"  # the second column is text after all, near the end
    path = tmp_path / "late.csv"
    path.write_text("id,code,zip\n" + "".join(rows))
    profile = profile_dataset(path, "late.csv", limits=SMALL)
    assert [c["type"] for c in profile.columns] == ["integer", "categorical", "categorical"]
    assert profile.read_options["column_types"] == {"id": "integer", "code": "string", "zip": "string"}
    assert profile.column("id")["mean"] == pytest.approx(9999.5) and profile.column("id")["distinct"] == 20_000
    typed = read_dataset(path, profile.read_options, mode="typed")
    assert typed["code"].tolist()[19_000] == "x"


def test_parquet_is_profiled_in_batches_with_the_same_counts(tmp_path):
    table = pa.table({"n": list(range(5_000)), "grade": pa.array(["a", "b", "?", "c"] * 1_250).dictionary_encode(),
                      "email": [f"p{i}@example.org" for i in range(5_000)]})
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=1_200)
    whole, batched = profile_dataset(path, "d.parquet"), profile_dataset(path, "d.parquet", limits=SMALL)
    same(json.loads(json.dumps(whole.to_dict())), json.loads(json.dumps(batched.to_dict())))
    assert batched.column("grade")["missing"] == 1_250 and batched.column("grade")["distinct"] == 3
    assert batched.pii_columns == ("email",)


def test_past_its_share_of_the_budget_a_column_counts_distinct_values_approximately(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,flag\n" + "".join(f"id-{n},{n % 2}\n" for n in range(50_000)))
    exact = profile_dataset(path, "ids.csv").column("id")
    estimated = profile_dataset(path, "ids.csv", limits=DatasetLimits(distinct_budget=1)).column("id")
    assert exact["distinct"] == 50_000 and "distinct_estimated" not in exact
    assert estimated["distinct_estimated"] is True and abs(estimated["distinct"] - 50_000) < 50_000 * 0.03
    small = profile_dataset(path, "ids.csv", limits=DatasetLimits(distinct_budget=1)).column("flag")
    assert small["distinct"] == 2 and "distinct_estimated" not in small  # under its share: still exact


def test_distinct_numbers_are_counted_exactly_across_blocks_as_arrow_counts_them():
    integers = DistinctCounter(cap=10**6)
    for start in range(0, 300_000, 70_000):  # overlapping blocks
        integers.add(pa.chunked_array([pa.array(range(start, start + 100_000), pa.int64())]))
    assert integers.count() == (380_000, False)
    floats = DistinctCounter(cap=10**6)
    values = pa.chunked_array([pa.array([-1.5, float("nan"), float("nan"), -0.0, 0.0, None])])
    floats.add(values)
    assert floats.count() == (pa.compute.count_distinct(values, mode="only_valid").as_py(), False) == (4, False)
