"""Prepare one benchmark case and run the validation suite on it through the worker's code path.

`prepare_case` writes the splits as CSV (what a user uploads), profiles them with the registry's
`profile_dataset` (which gives the `read_options` the worker re-reads with), trains the model on the
re-read training frame and saves it with joblib. `run_case` then runs the suite with
`audits.engine.execute_in_child` — the exact path a Celery worker takes: a child process that reads
the data, loads the model and streams stage/progress/result events — and measures from those events:

* wall time per check family: the sum of the checks' own `duration_s`;
* memory: every event carries the child's peak RSS so far (`VmHWM`), so the value on a family's
  last result is the high-water mark reached by the end of that family, and the rise over the value
  just before the family's first check is the memory that family added to the peak. The child's overall
  peak also includes the parent's /proc polling (`EngineOutcome.peak_rss_mb`);
* CPU: the child's own user + system time, from its `done` event;
* the child's imports (`imports_s`): numpy, pandas, scikit-learn, shap and fairlearn are imported
  before the first check (`audits.engine.preload`), so no check's time includes them; they are part
  of the "start, read, load" line.

Why the orchestrating process stays small: on Linux a process started with fork/vfork + exec inherits
its parent's peak RSS in `ru_maxrss`. The heavy steps (training, the SHAP comparison) therefore run in a
fresh interpreter (`in_fresh_process`), and this module imports neither pandas nor the checks at import
time. The parent's own peak at the start of each run is recorded (`parent_peak_mb`).
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path

from bench.cases import DATASETS, MODEL_NAMES, make_pipeline, write_splits

# As in audits.checks.suites.FAMILY_ORDER and audits.checks.base.STATUSES (a test keeps them equal);
# copied so that importing this module does not load pandas into the orchestrating process.
FAMILY_ORDER = ("data_quality", "performance", "edge_cases", "robustness", "fairness", "explainability", "security")
STATUSES = ("pass", "warn", "fail", "not_evaluable", "info")


@dataclass(frozen=True)
class PreparedCase:
    dataset: str
    model: str
    folder: Path
    train_path: Path
    test_path: Path
    train_options: dict
    test_options: dict
    model_path: Path
    train_rows: int
    test_rows: int
    fit_s: float


def prepare_case(
    dataset: str, model: str, folder: Path, *, sample: int | None = None, test_rows: int | None = None
) -> PreparedCase:
    """Write splits, profile them, train `model` on the re-read training split and dump it with joblib."""
    import joblib

    from models_registry.datasets import profile_dataset, read_dataset

    case = DATASETS[dataset]
    folder = Path(folder) / f"{dataset}-{model}"
    train_path, test_path = write_splits(case, folder, sample=sample, test_rows=test_rows)
    options = {}
    for name, path in (("train", train_path), ("test", test_path)):
        profile = profile_dataset(path, path.name, target=case.target, sensitive=case.sensitive)
        options[name] = profile.read_options
    train = read_dataset(train_path, options["train"])
    X = train.drop(columns=case.target)
    started = time.perf_counter()
    pipeline = make_pipeline(model, X).fit(X, train[case.target])
    fit_s = time.perf_counter() - started
    model_path = folder / "model.joblib"
    joblib.dump(pipeline, model_path)
    test_rows = sum(1 for _ in open(test_path, encoding="utf-8")) - 1
    return PreparedCase(
        dataset,
        model,
        folder,
        train_path,
        test_path,
        options["train"],
        options["test"],
        model_path,
        len(train),
        test_rows,
        round(fit_s, 2),
    )


def in_fresh_process(fn, *args, **kwargs):
    """Call `fn(*args, **kwargs)` in a newly spawned interpreter and return its (picklable) result."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def run_spec(prep: PreparedCase, suite: str):
    from audits.engine import DataSpec, ModelSpec, RunSpec

    case = DATASETS[prep.dataset]
    return RunSpec(
        task="binary",
        target=case.target,
        suite=suite,
        seed=0,
        sensitive=list(case.sensitive),
        test=DataSpec(str(prep.test_path), prep.test_options),
        train=DataSpec(str(prep.train_path), prep.train_options),
        model=ModelSpec(str(prep.model_path), "joblib"),
    )


def run_case(prep: PreparedCase, *, suite: str = "full", progress: bool = True) -> dict:
    """Run the suite in a child process (as the worker does) and summarise time and memory."""
    from audits.engine import execute_in_child

    events: list[dict] = []
    bar = _ProgressBar(f"{prep.dataset}/{prep.model}", enabled=progress)
    parent_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        outcome = execute_in_child(run_spec(prep, suite), on_event=lambda e: (events.append(e), bar.feed(e)))
    finally:
        bar.close()
    cpu_s = _child_cpu_s(events)
    if outcome.status != "succeeded":
        raise RuntimeError(f"{prep.dataset}/{prep.model}: {outcome.error_message}\n{outcome.error_detail}")
    summary = summarise(events, outcome.results)
    summary.update(
        dataset=prep.dataset,
        model=prep.model,
        model_name=MODEL_NAMES[prep.model],
        suite=suite,
        train_rows=prep.train_rows,
        test_rows=prep.test_rows,
        fit_s=prep.fit_s,
        wall_s=outcome.duration_s,
        cpu_s=round(cpu_s, 2),
        parent_peak_mb=round(parent_peak_mb, 1),
        imports_s=_first(events, "imports_s"),
        preloaded=_first(events, "preloaded"),
        peak_mb=round(max(outcome.peak_rss_mb, summary["peak_mb"]), 1),
    )
    summary["overhead_s"] = round(outcome.duration_s - summary["checks_s"], 2)
    xai = next((r for r in outcome.results if r.get("check_id") == "XAI-01"), None)
    if xai is not None:  # the explainability budget (issue #15): what SHAP could do in its time
        details = xai.get("details") or {}
        summary["xai01"] = {
            "status": xai["status"],
            "path": details.get("path"),
            "sample": (details.get("budget") or {}).get("sample_used"),
            "stability": details.get("top_k_stability"),
        }
    return summary


def _first(events: list[dict], key: str):
    """The first value of `key` among the events (the child reports its imports once)."""
    return next((e[key] for e in events if key in e), None)


def _child_cpu_s(events: list[dict]) -> float:
    """The child's user + system CPU seconds, as its `done` event reports them. Less sensitive than
    wall time to other work on a shared machine."""
    done = [e for e in events if e.get("type") == "done"]
    return float(done[-1].get("cpu_s") or 0.0) if done else 0.0


def summarise(events: list[dict], results: list[dict]) -> dict:
    """Per-family time and memory from the streamed events (see the module docstring)."""
    families: dict[str, dict] = {}
    before = 0.0  # rss_mb of the progress event just before the current check
    ready_mb = 0.0
    for event in events:
        rss = float(event.get("rss_mb") or 0)
        if event["type"] == "stage" and event.get("stage") == "running the checks":
            ready_mb = rss
        if event["type"] == "progress":
            before = rss
        if event["type"] != "result":
            continue
        r = event["result"]
        fam = families.setdefault(
            r["family"], {"family": r["family"], "checks": 0, "wall_s": 0.0, "start_mb": before, "peak_mb": 0.0}
        )
        fam["checks"] += 1
        fam["wall_s"] += float(r.get("duration_s") or 0)
        fam["peak_mb"] = max(fam["peak_mb"], rss)
    rows = [families[f] for f in FAMILY_ORDER if f in families]
    rows += [v for k, v in families.items() if k not in FAMILY_ORDER]
    for row in rows:
        row["added_mb"] = round(max(0.0, row["peak_mb"] - row.pop("start_mb")), 1)
        row["wall_s"] = round(row["wall_s"], 3)
    counts = {s: sum(1 for r in results if r["status"] == s) for s in STATUSES}
    slowest = sorted(results, key=lambda r: -float(r.get("duration_s") or 0))[:6]
    return {
        "families": rows,
        "checks": len(results),
        "checks_s": round(sum(r["wall_s"] for r in rows), 2),
        "ready_mb": ready_mb,
        "peak_mb": max([ready_mb, *(r["peak_mb"] for r in rows)]),
        "counts": counts,
        "durations": {r["check_id"]: r.get("duration_s") for r in results},
        "slowest": [{"check_id": r["check_id"], "name": r["name"], "wall_s": r.get("duration_s")} for r in slowest],
        "not_evaluable": {r["check_id"]: r["summary"] for r in results if r["status"] == "not_evaluable"},
    }


class _ProgressBar:
    """A tqdm bar fed by the child's progress events (one tick per finished check)."""

    def __init__(self, label: str, *, enabled: bool):
        self.label, self.enabled, self.bar = label, enabled, None

    def feed(self, event: dict) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=0, desc=self.label, unit="check", dynamic_ncols=True, leave=False)
        if event["type"] == "stage":
            self.bar.set_postfix_str(event["stage"])
        elif event["type"] == "progress":
            self.bar.total = event["total"]
            self.bar.n = event["done"]
            self.bar.set_postfix_str(event.get("current") or "done")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
