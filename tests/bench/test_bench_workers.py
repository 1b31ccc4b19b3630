"""`make bench-workers` seeds a system whose runs the workers execute, and prints the throughput
table. Not a timing test: the timings and their target live in the benchmark (which starts real
workers); here the seed and the table's verdicts, from given rounds."""

from __future__ import annotations

import pytest

from bench import workers


def a_round(n: int, wall_s: float, **more) -> dict:
    return {
        "workers": n,
        "runs": 20,
        "suite": "quick",
        "wall_s": wall_s,
        "runs_per_hour": round(20 / wall_s * 3600, 1),
        "mean_run_s": 4.0,
        "load_before": 1.0,
        "succeeded": 20,
        "lost": [],
        "executed_twice": [],
        "retried": 0,
        "per_worker": [20 // n] * n,
        **more,
    }


def test_the_table_gives_each_n_its_speed_up_against_one_worker_and_says_whether_the_target_is_met():
    text = workers.report([a_round(1, 100.0), a_round(2, 55.0), a_round(4, 50.0, executed_twice=[7], lost=[9])])
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line[:1].isdigit()}
    assert lines["1"][4:10] == ["4.0", "1.0", "1.00x", ">=", "0.8x", "met"]
    assert lines["2"][6:10] == ["1.82x", ">=", "1.6x", "met"]
    assert lines["4"][6:10] == ["2.00x", ">=", "3.2x", "MISSED"]
    assert lines["4"][10:] == ["1", "1", "5/5/5/5"], "executed twice, lost, runs per worker"
    assert "cannot be met here" in text


@pytest.mark.django_db
def test_the_benchmark_seeds_a_system_with_a_scanned_model_and_its_two_datasets(tmp_path):
    engineer, version, train, test = workers.seed(tmp_path)
    assert version.system_id == train.system_id == test.system_id
    assert version.scan_verdict == "safe" and version.organisation_id == engineer.organisation_id
    assert (train.role, test.role) == ("train", "test") and test.target_column == "credit_risk"
