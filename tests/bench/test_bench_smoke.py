"""The benchmark harness runs end to end on a tiny sample and prints every family and the totals.

Not a timing test: speed and memory targets live in `make bench` / `make bench-peers`.
"""

from __future__ import annotations

import io
import json

from bench import run
from bench.harness import FAMILY_ORDER, summarise
from bench.peers import peers_table, target_lines


def test_bench_on_a_german_credit_sample_prints_every_family_and_the_totals(tmp_path):
    out = io.StringIO()
    args = run.parse_args(
        [
            "--datasets",
            "german",
            "--models",
            "lr",
            "--sample",
            "200",
            "--no-progress",
            "--no-shap",
            "--json",
            str(tmp_path / "bench.json"),
        ]
    )
    cases = run.run_cases(args, tmp_path, out=out)
    printed = out.getvalue()

    for family in FAMILY_ORDER:
        assert f"\n{family} " in printed, f"{family} missing from the table:\n{printed}"
    for row in ("checks total", "start, read, load", "TOTAL (child)", "status:", "peak memory"):
        assert row in printed
    (case,) = cases
    assert [f["family"] for f in case["families"]] == list(FAMILY_ORDER)
    assert case["checks"] == sum(f["checks"] for f in case["families"]) == sum(case["counts"].values())
    assert case["peak_mb"] > 0 and case["wall_s"] >= case["checks_s"] > 0 and case["cpu_s"] > 0
    json.dumps(cases)  # what main() writes must be JSON


def test_the_harness_knows_the_runners_families_and_statuses():
    from audits.checks.base import STATUSES as CHECK_STATUSES
    from audits.checks.suites import FAMILY_ORDER as RUNNER_ORDER
    from bench.harness import STATUSES

    assert FAMILY_ORDER == RUNNER_ORDER and STATUSES == CHECK_STATUSES


def test_family_memory_is_the_high_water_mark_and_its_rise_during_the_family():
    def result(check_id, family, rss, duration):
        return {
            "type": "result",
            "rss_mb": rss,
            "result": {
                "check_id": check_id,
                "family": family,
                "name": check_id,
                "status": "pass",
                "duration_s": duration,
                "summary": "",
            },
        }

    events = [
        {"type": "stage", "stage": "running the checks", "rss_mb": 100.0},
        {"type": "progress", "rss_mb": 100.0},
        result("DATA-01", "data_quality", 120.0, 0.5),
        {"type": "progress", "rss_mb": 120.0},
        result("DATA-02", "data_quality", 130.0, 0.25),
        {"type": "progress", "rss_mb": 130.0},
        result("PERF-01", "performance", 130.0, 1.0),
    ]
    summary = summarise(events, [e["result"] for e in events if e["type"] == "result"])

    data, perf = summary["families"]
    assert (data["checks"], data["wall_s"], data["peak_mb"], data["added_mb"]) == (2, 0.75, 130.0, 30.0)
    assert (perf["peak_mb"], perf["added_mb"]) == (130.0, 0.0)
    assert summary["peak_mb"] == 130.0 and summary["checks_s"] == 1.75 and summary["counts"]["pass"] == 3


def test_peer_table_reports_the_ratio_and_a_missing_peer_with_its_reason():
    ours = {"checks": 43, "counts": {"not_evaluable": 1}, "wall_s": 20.0, "cpu_s": 18.0, "peak_mb": 500.0}
    peers = [
        {
            "tool": "giskard",
            "version": "2.19.2",
            "checks": 9,
            "applicable": 7,
            "unit": "detectors",
            "wall_s": 50.0,
            "cpu_s": 45.0,
            "peak_mb": 300.0,
        },
        {"tool": "deepchecks", "error": "install failed: no network"},
    ]

    printed = peers_table(ours, peers)
    lines = target_lines(ours, peers)

    assert "0.40" in printed and "deepchecks did not run: install failed: no network" in printed
    assert "= 0.40: met" in lines[0]
    assert "42/43 checks" in printed and "7/9 detectors" in printed
    assert "ours 42 checks evaluated vs Giskard 7 detectors that apply: met" in lines[1]
