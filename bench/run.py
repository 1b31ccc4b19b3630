"""`make bench`: wall time and peak memory of the validation suite, per check family and in total.

For every data set (UCI Adult, German credit) x model (HistGradientBoosting, LogisticRegression
pipelines) this trains the model, then runs the suite through `audits.engine.execute_in_child` — the
worker's code path — and prints one table per case, a summary, and the SHAP overhead (XAI-01 against
a bare explainer call on the same rows). Results also go to `artifacts/bench/bench.json`.

A missed target prints MISSED; the exit status is non-zero only when something broke.

    python -m bench.run [--datasets adult german] [--models hgb lr rf extratrees mlp svc] [--suite full] [--sample N]
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread, as in the worker (set before numpy is imported anywhere).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LOKY_MAX_CPU_COUNT"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.cases import BUDGET_MODELS, DATASETS, MODELS, ROOT  # noqa: E402
from bench.harness import in_fresh_process, prepare_case, run_case  # noqa: E402
from bench.report import case_table, summary_table  # noqa: E402
from bench.shap_cost import shap_overhead  # noqa: E402

DEFAULT_JSON = ROOT / "artifacts" / "bench" / "bench.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=["adult", "german"])
    parser.add_argument("--models", nargs="+", choices=(*MODELS, *BUDGET_MODELS), default=list(MODELS))
    parser.add_argument("--suite", choices=("quick", "standard", "full"), default="full")
    parser.add_argument(
        "--sample", type=int, default=None, help="keep at most N rows of each split (for a quick smoke run)"
    )
    parser.add_argument(
        "--test-rows",
        type=int,
        default=None,
        help="resample the test split with replacement to N rows (the million-row benchmark: 1000000)",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the results")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--no-shap", action="store_true", help="skip the bare SHAP comparison")
    return parser.parse_args(argv)


def run_cases(args: argparse.Namespace, folder: Path, *, out=sys.stdout) -> list[dict]:
    """Prepare and run every requested case; print each table as soon as it is done."""
    results = []
    for dataset in args.datasets:
        for model in args.models:
            print(f"\n== {dataset} / {model}: training the model and writing the splits ...", file=out, flush=True)
            prep = in_fresh_process(prepare_case, dataset, model, folder, sample=args.sample, test_rows=args.test_rows)
            summary = run_case(prep, suite=args.suite, progress=not args.no_progress)
            if not args.no_shap and "XAI-01" in summary["durations"]:
                summary["shap"] = in_fresh_process(shap_overhead, prep, summary["durations"]["XAI-01"])
            print(case_table(summary), file=out, flush=True)
            results.append(summary)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as folder:
        cases = run_cases(args, Path(folder))
    print("\n== summary (wall time of the child process, peak RSS of the child)")
    print(summary_table(cases))
    payload = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "suite": args.suite,
        "sample": args.sample,
        "cases": cases,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2))
    print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
