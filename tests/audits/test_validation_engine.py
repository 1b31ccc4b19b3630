"""The engine runs the model in a child process: whatever the model does there, the run ends with
a reason a person can read, and the calling process (the worker) lives on."""

import joblib
import pytest

from audits.engine import DataSpec, ModelSpec, RunSpec, execute_in_child
from tests.audits import misbehaving_models as bad
from tests.audits.validation_support import FEATURES, credit_frame, credit_model

READ_OPTIONS = {
    "format": "csv",
    "delimiter": ",",
    "encoding": "utf-8",
    "compression": None,
    "header": 0,
    "quotechar": '"',
    "decimal": ".",
    "columns": [*FEATURES, "sex", "default"],
    "column_types": {"age": "integer", "income": "float", "debt": "float", "sex": "string", "default": "integer"},
    "datetime_formats": {},
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine")
    frame = credit_frame(200, seed=3)
    frame.to_csv(folder / "test.csv", index=False)
    model = credit_model(frame)

    def model_file(name, obj):
        path = folder / f"{name}.joblib"
        joblib.dump(obj, path)
        return str(path)

    return {"test": str(folder / "test.csv"), "model": model, "model_file": model_file}


def spec_for(files, model_path, **overrides):
    args = {
        "task": "binary",
        "target": "default",
        "test": DataSpec(files["test"], READ_OPTIONS),
        "suite": "quick",
        "model": ModelSpec(model_path, "joblib"),
        "features": FEATURES,
        "sensitive": ["sex"],
    }
    args.update(overrides)
    return RunSpec(**args)


def test_a_well_behaved_model_runs_the_quick_suite_in_the_child(files):
    outcome = execute_in_child(spec_for(files, files["model_file"]("good", files["model"])))
    assert outcome.status == "succeeded", outcome.error_message
    assert outcome.results and outcome.reproducibility["suite"] == "quick"


def test_a_model_that_segfaults_fails_the_run_with_a_readable_reason_and_the_caller_lives_on(files):
    outcome = execute_in_child(spec_for(files, files["model_file"]("segv", bad.SegfaultingModel(files["model"]))))
    assert outcome.status == "failed"
    assert "segmentation fault" in outcome.error_message
    again = execute_in_child(spec_for(files, files["model_file"]("good2", files["model"])))
    assert again.status == "succeeded"


def test_a_model_that_aborts_the_process_fails_the_run_with_a_readable_reason(files):
    outcome = execute_in_child(spec_for(files, files["model_file"]("abort", bad.AbortingModel(files["model"]))))
    assert (outcome.status, outcome.error_message) == (
        "failed",
        "The validation failed: the model aborted the process.",
    )


def test_a_model_that_crashes_while_loading_fails_the_run_naming_the_stage(files):
    outcome = execute_in_child(spec_for(files, files["model_file"]("onload", bad.CrashesOnLoad(files["model"]))))
    assert outcome.status == "failed"
    assert "loading the model" in outcome.error_message
    assert "refuses to be unpickled" in outcome.error_message
    assert "Traceback" in outcome.error_detail


def test_a_run_over_its_memory_limit_is_stopped_with_the_reason(files):
    spec = spec_for(files, files["model_file"]("hungry", bad.HungryModel(files["model"])), memory_limit_mb=400)
    outcome = execute_in_child(spec, poll_s=0.05)
    assert outcome.status == "failed"
    assert "memory limit of 400 MB" in outcome.error_message


def test_a_run_over_its_time_limit_is_stopped_with_the_reason(files):
    spec = spec_for(files, files["model_file"]("slow", bad.SleepingModel(files["model"], delay=5)), time_limit_s=4)
    outcome = execute_in_child(spec)
    assert outcome.status == "failed"
    assert "time limit of 4 s" in outcome.error_message
    assert outcome.duration_s < 15


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_a_callback_that_raises_stops_the_child_instead_of_leaving_it_running(files, monkeypatch):
    import subprocess

    from audits.engine import runner

    started, tree = [], set()

    class RecordingPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self.pid)

    monkeypatch.setattr(runner.subprocess, "Popen", RecordingPopen)

    def on_event(event):
        # The child runs in a sandbox with its own PID namespace: note, as the host sees them, the
        # process the engine started and everything under it at this moment.
        tree.update([*started, *runner._descendants(started[0])])
        raise ConnectionError("the database went away")

    slow = files["model_file"]("slow3", bad.SleepingModel(files["model"], delay=5))  # still running when it raises
    with pytest.raises(ConnectionError):
        execute_in_child(spec_for(files, slow), on_event=on_event)
    assert len(tree) >= 2, "the engine's process and the model's process were both seen"
    import time

    deadline = time.monotonic() + 10  # the kernel delivers the sandbox's death signals asynchronously
    while (left := [pid for pid in tree if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left running: {left}"


def test_the_heavy_libraries_are_imported_before_the_first_check_so_no_check_pays_for_them(files):
    events = []
    outcome = execute_in_child(spec_for(files, files["model_file"]("good4", files["model"])), on_event=events.append)
    assert outcome.status == "succeeded", outcome.error_message
    loaded = next(i for i, e in enumerate(events) if "preloaded" in e)
    first_result = next(i for i, e in enumerate(events) if e["type"] == "result")
    assert loaded < first_result
    assert {"numpy", "pandas", "sklearn", "shap", "fairlearn"} <= set(events[loaded]["preloaded"])
    assert events[loaded]["imports_s"] > 0
    assert events[-1]["type"] == "done" and events[-1]["cpu_s"] > 0


def _status_of_run(spec_json: str) -> str:
    from audits.engine.spec import RunSpec

    outcome = execute_in_child(RunSpec.from_json(spec_json))
    return f"{outcome.status}: {outcome.error_message}"


def test_a_run_starts_from_a_daemonic_pool_process_like_celerys_prefork_pool(files):
    import billiard

    spec = spec_for(files, files["model_file"]("good5", files["model"]))
    with billiard.Pool(1) as pool:  # its processes are daemonic, as Celery's prefork workers are
        assert pool.apply(_status_of_run, (spec.to_json(),)) == "succeeded: "
