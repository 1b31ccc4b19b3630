"""`make bench-peers`: our full suite against Giskard's scan and Deepchecks' full suite, in one run.

On UCI Adult with the HistGradientBoosting pipeline: (1) our full suite through the worker's code path
(`bench.harness.run_case`), (2) `giskard.scan` and (3) Deepchecks' tabular `full_suite()`, each in its
own throw-away venv outside the repo (`bench.peer_env`), each single-threaded
(OMP/OPENBLAS/MKL_NUM_THREADS=1), on the same CSV splits. The peers re-train the same pipeline
definition with the same seed inside their venv, because they cannot load our scikit-learn 1.9 pickle;
only the scan is timed. Prints one table (tool, version, checks, wall s, peak MB, ratio = our time /
their time) and the target line "ours <= 0.5 x Giskard". A peer that cannot be installed or fails is
reported with its reason and the others still run. Results go to `artifacts/bench/peers.json`.

    python -m bench.peers [--dataset adult] [--model hgb] [--sample N] [--only giskard deepchecks] [--repeat 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LOKY_MAX_CPU_COUNT"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.cases import DATASETS, MODELS, ROOT  # noqa: E402
from bench.harness import in_fresh_process, prepare_case, run_case  # noqa: E402
from bench.peer_env import PEERS, ensure_peer_env  # noqa: E402
from bench.report import GISKARD_TARGET, case_table, table, verdict  # noqa: E402

RUNNERS = {"giskard": "giskard_scan.py", "deepchecks": "deepchecks_suite.py"}
# LOKY_MAX_CPU_COUNT=1 makes joblib's n_jobs=-1 (Deepchecks' permutation importance and error model) one
# worker: without it Deepchecks forks a process per core and would not be single-threaded.
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LOKY_MAX_CPU_COUNT": "1"}
DEFAULT_JSON = ROOT / "artifacts" / "bench" / "peers.json"
LOG_DIR = ROOT / "artifacts" / "bench"


def run_peer(tool: str, prep, *, timeout_s: int = 3600, progress: bool = True) -> dict:
    """Install (or reuse) the peer's venv and run its runner on the case; never raises."""
    print(f"\n== {tool}: preparing its venv (cached after the first run) ...", flush=True)
    env_info = ensure_peer_env(tool)
    if env_info.python is None:
        print(f"{tool}: not installed - {env_info.error} (log {env_info.log})", flush=True)
        return {"tool": tool, "error": f"install failed: {env_info.error}"}
    out = prep.folder / f"{tool}.json"
    log = LOG_DIR / f"{tool}.log"  # kept after the run, for a failure's full story
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(env_info.python),
        str(ROOT / "bench" / "peer_runners" / RUNNERS[tool]),
        prep.dataset,
        str(prep.folder),
        prep.model,
        str(out),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update(SINGLE_THREAD)
    print(f"== {tool}: re-training the same pipeline in its venv and running its scan ...", flush=True)
    started = time.monotonic()
    with open(log, "w") as handle:
        returncode = _wait_with_ticker(
            subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env),
            tool,
            timeout_s=timeout_s,
            progress=progress,
        )
    if returncode is None:
        return {"tool": tool, "error": f"timed out after {timeout_s} s"}
    if returncode != 0 or not out.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        print(f"{tool}: the run failed (exit {returncode}): {' | '.join(tail)} (log {log})", flush=True)
        return {"tool": tool, "error": f"exit {returncode}: {' | '.join(tail)[-500:]}"}
    result = json.loads(out.read_text())
    result["process_wall_s"] = round(time.monotonic() - started, 2)
    print(
        f"{tool}: {result['checks']} {result.get('unit', 'checks')} in {result['wall_s']:.1f} s, "
        f"peak {result['peak_mb']:.0f} MB",
        flush=True,
    )
    return result


def _wait_with_ticker(process: subprocess.Popen, tool: str, *, timeout_s: int, progress: bool) -> int | None:
    """Wait for a peer's runner, showing the elapsed time (its scan has no progress events for us).
    Returns the exit code, or None after killing it at the time limit."""
    from tqdm import tqdm

    bar = tqdm(desc=f"{tool} (re-train + scan)", bar_format="{desc}: {elapsed}", disable=not progress, leave=False)
    started = time.monotonic()
    try:
        while process.poll() is None:
            if time.monotonic() - started > timeout_s:
                process.kill()
                process.wait()
                return None
            time.sleep(1)
            bar.update(0)
            bar.refresh()
    finally:
        bar.close()
    return process.returncode


def peers_table(ours: dict, peers: list[dict]) -> str:
    """tool, version, checks, wall s, CPU s, peak MB, ratios (our time / their time; wall and CPU)."""
    rows = [
        [
            "ours (full suite, child process)",
            "portal",
            f"{_evaluated(ours)}/{ours['checks']} checks",
            f"{ours['wall_s']:.1f}",
            f"{ours['cpu_s']:.1f}",
            f"{ours['peak_mb']:.0f}",
            "1.00",
            "1.00",
        ]
    ]
    notes = []
    for p in peers:
        if p.get("error"):
            rows.append([f"{p['tool']} (not run, see below)", "-", "-", "-", "-", "-", "-", "-"])
            notes.append(f"{p['tool']} did not run: {p['error']}")
            continue
        ratio = ours["wall_s"] / p["wall_s"] if p["wall_s"] else None
        cpu_ratio = ours["cpu_s"] / p["cpu_s"] if p.get("cpu_s") else None
        label = f"{p['tool']} ({'scan' if p['tool'] == 'giskard' else 'full_suite'})"
        checks = f"{p.get('applicable', p['checks'])}/{p['checks']} {p.get('unit', '')}"
        rows.append(
            [
                label,
                p["version"],
                checks,
                f"{p['wall_s']:.1f}",
                f"{p.get('cpu_s', 0):.1f}",
                f"{p['peak_mb']:.0f}",
                f"{ratio:.2f}" if ratio else "-",
                f"{cpu_ratio:.2f}" if cpu_ratio else "-",
            ]
        )
    return "\n".join(
        [
            table(
                ["tool", "version", "checks (applied/run)", "wall s", "CPU s", "peak MB", "ratio wall", "ratio CPU"],
                rows,
                right={3, 4, 5, 6, 7},
            ),
            *notes,
        ]
    )


def target_lines(ours: dict, peers: list[dict]) -> list[str]:
    giskard = next((p for p in peers if p["tool"] == "giskard" and not p.get("error")), None)
    if giskard is None:
        return ["target ours <= 0.5 x Giskard: not measured (Giskard did not run)"]
    ratio = ours["wall_s"] / giskard["wall_s"]
    cpu = ours["cpu_s"] / giskard["cpu_s"] if giskard.get("cpu_s") else None
    more = _evaluated(ours) > giskard.get("applicable", giskard["checks"])
    lines = [
        f"target ours <= {GISKARD_TARGET} x Giskard: ours {ours['wall_s']:.1f} s / Giskard "
        f"{giskard['wall_s']:.1f} s = {ratio:.2f}: {verdict(ratio <= GISKARD_TARGET)}"
        + (f" (CPU time: {cpu:.2f}, {verdict(cpu <= GISKARD_TARGET)})" if cpu else "")
    ]
    if ours.get("wall_s_runs") and giskard.get("wall_s_runs"):
        lines.append(f"  wall times of the rounds: ours {ours['wall_s_runs']}, Giskard {giskard['wall_s_runs']}")
    if giskard.get("process_wall_s") and giskard.get("fit_s") is not None:
        end_to_end = giskard["process_wall_s"] - giskard["fit_s"]
        # Our child starts, imports, reads and loads too: its whole wall time compares with theirs.
        lines.append(
            f"  like for like (their process start, import, read, wrap and scan, training excluded: "
            f"{end_to_end:.1f} s; our whole child: {ours['wall_s']:.1f} s): "
            f"{ours['wall_s'] / end_to_end:.2f}; our checks alone / their scan: "
            f"{ours['checks_s'] / giskard['wall_s']:.2f}"
        )
    return lines + [
        f"covering more checks: ours {_evaluated(ours)} checks evaluated vs Giskard "
        f"{giskard.get('applicable', giskard['checks'])} detectors that apply: {verdict(more)}"
    ]


def _evaluated(ours: dict) -> int:
    """Our checks that produced a result (not `not_evaluable`)."""
    return ours["checks"] - ours.get("counts", {}).get("not_evaluable", 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="adult")
    parser.add_argument("--model", choices=MODELS, default="hgb")
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--only", nargs="+", choices=sorted(PEERS), default=["giskard", "deepchecks"])
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of ours + Giskard, alternated; the median round counts (Deepchecks: once)",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    ours_runs, peer_runs = [], {tool: [] for tool in args.only}
    with tempfile.TemporaryDirectory(prefix="portal-bench-peers-") as folder:
        print(f"== ours: training {args.dataset}/{args.model} and writing the splits ...", flush=True)
        prep = in_fresh_process(prepare_case, args.dataset, args.model, Path(folder), sample=args.sample)
        for round_ in range(max(1, args.repeat)):
            print(f"\n== round {round_ + 1} of {max(1, args.repeat)}", flush=True)
            ours_runs.append(run_case(prep, suite="full", progress=not args.no_progress))
            print(case_table(ours_runs[-1]), flush=True)
            for tool in args.only:
                if round_ == 0 or tool != "deepchecks":
                    peer_runs[tool].append(run_peer(tool, prep, progress=not args.no_progress))
    ours, peers = _median(ours_runs), [_median(runs) for runs in peer_runs.values()]
    print(
        f"\n== {args.dataset} x {ours['model_name']}: ours vs peers, each single-threaded, same data "
        f"(test {ours['test_rows']:,} rows); median of {len(ours_runs)} alternated rounds (Deepchecks: 1)"
    )
    print(peers_table(ours, peers))
    for line in target_lines(ours, peers):
        print(line)
    print(
        "Peers re-train the same pipeline definition with the same seed in their own venv (they cannot "
        "load a scikit-learn 1.9 pickle); only their scan is timed. Our time is the whole child process "
        f"(start, data read, model load, {ours['checks']} checks; the checks alone: {ours['checks_s']:.1f} s). "
        "Peak MB: ours is the child's peak RSS; a peer's is its peak RSS during the scan."
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"ours": ours, "peers": peers, "rounds": {"ours": ours_runs, **peer_runs}}, indent=2, default=str)
    )
    print(f"\nresults written to {args.json}")
    return 0


def _median(runs: list[dict]) -> dict:
    """The run with the median wall time (the lower middle one for an even count), with all wall times."""
    ok = sorted((r for r in runs if not r.get("error")), key=lambda r: r["wall_s"])
    if not ok:
        return runs[-1]
    return {**ok[(len(ok) - 1) // 2], "wall_s_runs": [round(r["wall_s"], 2) for r in runs if not r.get("error")]}


if __name__ == "__main__":
    sys.exit(main())
