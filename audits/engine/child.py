"""Entry point of the child process:
`python -m audits.engine.child SPEC_JSON EVENTS_JSONL CANCEL_FILE [CONFINE_JSON]`.

With CONFINE_JSON (the runner always passes it) the process confines itself after its imports and
before it reads any uploaded byte (`audits.engine.confine`); a confinement that cannot be applied
stops the run.

Writes one JSON object per line to EVENTS_JSONL: {"type": "stage"|"progress"|"result"|"done"|"error", ...}.
Each finished check is written at once, so the parent keeps what was done if the process dies.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path


def _rss_mb() -> float:
    """This process's own peak resident memory. ru_maxrss is not used: on Linux a forked child
    starts with its parent's peak, so a 20 MB run started by a 500 MB worker would report 500 MB."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Events:
    def __init__(self, path: str):
        self.handle = open(path, "a", encoding="utf-8")

    def emit(self, kind: str, **data) -> None:
        self.handle.write(
            json.dumps(
                {"type": kind, "t": time.time(), "rss_mb": round(_rss_mb(), 1), **data}, allow_nan=False, default=str
            )
            + "\n"
        )
        self.handle.flush()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def _preload() -> tuple[list[str], float]:
    """Import the libraries the checks need before the first check runs, so the one-time import
    (seconds; `import shap` alone is one to two) counts as start-up, not as part of a check's
    timing. Returns the heavy libraries now loaded and the seconds it took."""
    started = time.monotonic()
    import audits.engine.preload  # noqa: F401

    loaded = [name for name in ("numpy", "pandas", "scipy", "sklearn", "shap", "fairlearn") if name in sys.modules]
    return loaded, round(time.monotonic() - started, 3)


def _confine(confine_path: str, spec) -> dict:
    from audits.engine.confine import confine

    plan = json.loads(Path(confine_path).read_text())
    applied = confine(
        read=plan["read"],
        write=plan["write"],
        append=plan.get("append", []),
        cpu_s=int(spec.time_limit_s) + 60,
        memory_mb=int(spec.memory_limit_mb),
    )
    return {"inner": applied}


class NotAModel(Exception):
    pass


def _require_model(model) -> None:
    if not callable(getattr(model, "predict", None)):
        raise NotAModel(
            f"the file did not load to a model (it loaded to {type(model).__name__}, which has no predict method)"
        )


def _model_features(model) -> list[str]:
    """The column names a scikit-learn model was fitted on (`feature_names_in_`), or []. Read here,
    inside the sandbox, because only a loaded pickle or joblib model has them."""
    try:
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            return []
        names = [str(name) for name in list(names)[:5000]]
    except Exception:  # noqa: BLE001 - an odd attribute is no reason to stop the run
        return []
    return names if all(isinstance(n, str) for n in names) else []


def main(spec_path: str, events_path: str, cancel_path: str, confine_path: str | None = None) -> int:
    from audits.engine.spec import RunSpec

    events = Events(events_path)
    spec = RunSpec.from_json(Path(spec_path).read_text())
    stage = "starting the engine"
    try:
        events.emit("stage", stage=stage, pid=os.getpid())
        preloaded, imports_s = _preload()
        if confine_path:
            stage = "entering the sandbox"
            events.emit("stage", stage=stage, sandbox=_confine(confine_path, spec))
        stage = "reading the data"
        events.emit("stage", stage=stage, preloaded=preloaded, imports_s=imports_s)
        from models_registry.datasets import read_dataset

        test = read_dataset(Path(spec.test.path), spec.test.read_options)
        train = read_dataset(Path(spec.train.path), spec.train.read_options) if spec.train else None
        model = None
        if spec.model is not None:
            stage = "loading the model"
            events.emit("stage", stage=stage)
            from audits.engine.loading import load_model

            model = load_model(spec.model.path, spec.model.format, spec.model.inner_artifact)
            _require_model(model)
        stage = "preparing the checks"
        if model is not None:
            events.emit("stage", stage=stage, model_features=_model_features(model))
        from audits.checks import Cancelled, Policy, ValidationContext, reproducibility, run_suite

        context = ValidationContext(
            task=spec.task,
            model=model,
            train=train,
            test=test,
            target=spec.target,
            features=spec.features or None,
            sensitive=list(spec.sensitive),
            prediction_column=spec.prediction_column,
            score_column=spec.score_column,
            policy=Policy.from_overrides(spec.policy_overrides),
            seed=spec.seed,
        )
        stage = "running the checks"
        events.emit("stage", stage=stage)

        def progress(done: int, total: int, name: str) -> None:
            events.emit("progress", done=done, total=total, current=name)

        def should_cancel() -> bool:
            return os.path.exists(cancel_path)

        def on_result(result) -> None:
            events.emit("result", result=result.to_dict())

        try:
            run_suite(context, spec.suite, progress=progress, should_cancel=should_cancel, on_result=on_result)
        except Cancelled:
            events.emit("cancelled")
            return 0
        events.emit("done", reproducibility=reproducibility(context, spec.suite), cpu_s=_cpu_s())
        return 0
    except Exception as exc:  # the boundary of the child: report, never hang
        events.emit("error", stage=stage, message=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())
        return 2


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
