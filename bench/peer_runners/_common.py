"""Shared by the peer runners (run inside a peer's venv, so: standard library, pandas, scikit-learn).

The peers cannot load our scikit-learn 1.9 pickle (Deepchecks needs scikit-learn < 1.6), so each runner
re-trains the same pipeline (`bench.cases.make_pipeline`, same seed) on the same CSV splits inside its
venv. Only the scan is timed. Memory: the kernel's peak-RSS mark is reset just before the scan
(`/proc/self/clear_refs` = 5) and `VmHWM` read after it, so the peak is the scan's, data and model
included; the process peak (`ru_maxrss`, training included) is reported beside it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.cases import DATASETS, make_pipeline, read_split_csv  # noqa: E402


def load_case(dataset: str, folder: Path, model: str):
    """(train, test, fitted pipeline, features, categorical features, target) for one case."""
    case = DATASETS[dataset]
    train = read_split_csv(folder / "train.csv")
    test = read_split_csv(folder / "test.csv")
    X = train.drop(columns=case.target)
    started = time.perf_counter()
    pipeline = make_pipeline(model, X).fit(X, train[case.target])
    fit_s = time.perf_counter() - started
    features = list(X.columns)
    categorical = [c for c in features if not _numeric(X[c])]
    return train, test, pipeline, features, categorical, case.target, fit_s


def _numeric(s) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _vm_hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Measure:
    """Wall time, CPU time (user + system) and peak RSS of the block it wraps."""

    def __enter__(self):
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.rss_before_mb = _vm_hwm_mb()
        self.cpu_started = time.process_time()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall_s = time.perf_counter() - self.started
        self.cpu_s = time.process_time() - self.cpu_started  # user + system, all threads
        process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        hwm = _vm_hwm_mb()
        self.peak_mb = hwm if (self.reset and hwm) else process_peak
        self.process_peak_mb = process_peak
        return False


def write(out: Path, payload: dict) -> None:
    payload.setdefault(
        "threads",
        {
            k: os.environ.get(k)
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LOKY_MAX_CPU_COUNT")
        },
    )
    out.write_text(json.dumps(payload, indent=2, default=str))


def args() -> tuple[str, Path, str, Path]:
    """argv: DATASET SPLITS_FOLDER MODEL OUT_JSON"""
    dataset, folder, model, out = sys.argv[1:5]
    return dataset, Path(folder), model, Path(out)
