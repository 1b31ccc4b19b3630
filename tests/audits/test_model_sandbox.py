"""The model sandbox holds even when the scanner is wrong: a model file whose payload runs still
cannot reach the network, read secrets or other organisations' files, write outside its scratch,
start programs or signal the worker. None of these tests goes through the scanner: the hostile
file is handed to the engine (or to the worker) as if the scan had called it safe."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from audits.engine import DataSpec, ModelSpec, RunSpec, execute_in_child, sandbox
from tests.audits.sandbox_payloads import hostile_pickle, report_from
from tests.audits.test_validation_engine import READ_OPTIONS
from tests.audits.validation_support import FEATURES, credit_frame, credit_model

ROOT = Path(__file__).resolve().parents[2]


class Listener:
    """A TCP server on the host's loopback that records every connection it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted: list = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, addr = self.server.accept()
            except OSError:
                continue
            self.accepted.append(addr)
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.server.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def secrets_on_disk(tmp_path, monkeypatch):
    """A signing key, another organisation's stored artifact and the worker's secret environment,
    laid out the way the portal keeps them: under this test run's DATA_DIR, inside the checkout."""
    import tempfile

    data = Path(tempfile.mkdtemp(prefix="sandbox-secrets-", dir=os.environ["DATA_DIR"]))
    key = data / "keys" / "certificate-signing-ed25519.pem"
    other = data / "media" / "artifacts" / "sha256" / "ab" / ("ab" * 32)
    for path, text in ((key, "-----BEGIN PRIVATE KEY-----secret"), (other, "age,income\n41,secret-income\n")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
    monkeypatch.setenv("DATABASE_URL", "postgres://portal:db-password@127.0.0.1:5432/portal")
    monkeypatch.setenv("CERTIFICATE_SIGNING_KEY", "signing-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    return {"data": data, "key": key, "other": other}


@pytest.fixture
def fresh_probe():
    sandbox.probe(refresh=True)
    yield
    sandbox.probe(refresh=True)


def targets_for(*, listener_port: int, key: Path, other: Path, data: Path, markers: Path) -> dict:
    return {
        "db_host": "127.0.0.1",
        "db_port": 5432,
        "listener_port": listener_port,
        "signing_key": str(key),
        "other_artifact": str(other),
        "worker_pid": os.getpid(),
        "write_data_dir": str(data / "escaped.txt"),
        "write_inputs": str(sandbox.MOUNT / "inputs" / "planted.txt"),
        "write_checkout": str(ROOT / "escaped-from-sandbox.txt"),
        "exec_marker": str(markers / "exec.txt"),
        "events_file": str(sandbox.MOUNT / "out" / "events.jsonl"),
        "secret_env": ["DATABASE", "SECRET", "SIGNING", "AWS", "BROKER", "REDIS"],
    }


def _spec(tmp_path: Path, model_path: Path, fmt: str = "pickle") -> RunSpec:
    frame = credit_frame(120, seed=5)
    frame.to_csv(tmp_path / "test.csv", index=False)
    return RunSpec(
        task="binary",
        target="default",
        test=DataSpec(str(tmp_path / "test.csv"), READ_OPTIONS),
        suite="quick",
        model=ModelSpec(str(model_path), fmt),
        features=FEATURES,
        sensitive=["sex"],
    )


def assert_every_attempt_blocked(report: dict) -> None:
    if ROOT.is_relative_to("/tmp"):
        # A checkout under /tmp (a CI clone) is, seen from inside, under the sandbox's own private
        # /tmp: the payload "writes to the checkout" into its scratch. The callers check the host's
        # checkout from outside, which is what counts.
        report = {k: v for k, v in report.items() if k != "write_checkout"}
    allowed = {name: result for name, result in report.items() if not result.startswith("blocked")}
    assert not allowed, f"the sandbox let these through: {allowed}"
    assert len(report) >= 21, report


def test_a_hostile_model_that_runs_its_payload_in_the_engine_cannot_do_anything_forbidden(
    tmp_path, listener, secrets_on_disk, fresh_probe
):
    assert sandbox.probe().available, sandbox.probe().reason
    markers = tmp_path / "markers"
    markers.mkdir()
    model = tmp_path / "hostile.pkl"
    model.write_bytes(
        hostile_pickle(
            targets_for(
                listener_port=listener.port,
                key=secrets_on_disk["key"],
                other=secrets_on_disk["other"],
                data=secrets_on_disk["data"],
                markers=markers,
            )
        )
    )
    outcome = execute_in_child(_spec(tmp_path, model))

    assert outcome.status == "failed"
    assert "loading the model" in outcome.error_message
    assert_every_attempt_blocked(report_from(outcome.error_message))
    # And from outside, not trusting the payload's own account:
    assert listener.accepted == []
    assert not (secrets_on_disk["data"] / "escaped.txt").exists()
    assert not (ROOT / "escaped-from-sandbox.txt").exists()
    assert not (markers / "exec.txt").exists()


def test_the_engine_process_sees_only_its_own_inputs_and_none_of_the_workers_environment(tmp_path, fresh_probe):
    """What the child can list: its run's input copies and the Python installation; not the
    checkout's data folder, not the worker's environment."""
    spy = textwrap.dedent(
        """
        import json, os
        def listing(path):
            try:
                return sorted(os.listdir(path))
            except OSError as exc:
                return "denied: " + type(exc).__name__
        seen = {"inputs": listing("/run/validation/inputs"), "env": sorted(os.environ),
                "checkout": listing(%r), "data": listing(%r), "root": listing("/"),
                "proc": listing("/proc")}
        raise RuntimeError("SEEN:" + json.dumps(seen))
    """
        % (str(ROOT), str(ROOT / "data"))
    )
    model = tmp_path / "spy.pkl"
    model.write_bytes(hostile_pickle_source(spy))
    outcome = execute_in_child(_spec(tmp_path, model))
    import json

    assert "SEEN:" in outcome.error_message, outcome.error_message
    seen = json.loads(outcome.error_message.split("SEEN:", 1)[1])
    assert seen["inputs"] == ["model.pkl", "test.csv"]
    # The checkout itself is unreadable (Landlock); had it been readable, bubblewrap shows only the
    # engine's code there. Its data folder does not exist in the sandbox.
    assert seen["checkout"] == "denied: PermissionError" or not {"data", ".git", "config"} & set(seen["checkout"])
    assert seen["data"].startswith("denied")
    assert not {"DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL", "DATA_DIR"} & set(seen["env"])
    # /proc is unreadable past the process's own entry (Landlock); bubblewrap's PID namespace
    # would show only the sandbox's own processes there anyway.
    assert seen["proc"] == "denied: PermissionError" or len([p for p in seen["proc"] if p.isdigit()]) <= 3
    assert "data" not in seen["root"] and "root" not in seen["root"] and "home" not in seen["root"]


def hostile_pickle_source(source: str) -> bytes:
    import pickle

    class _Exec:
        def __reduce__(self):
            import builtins

            return builtins.exec, (source, {})

    return pickle.dumps(_Exec(), protocol=4)


def test_the_inner_confinement_alone_blocks_network_secrets_and_programs_without_bubblewrap(tmp_path, secrets_on_disk):
    """The second wall, tested on its own: a process that applies `confine()` (Landlock, seccomp,
    rlimits) and nothing else still cannot connect, read outside its allowlist or execve."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = textwrap.dedent(f"""
        import json, os, socket, subprocess, sys
        from audits.engine.confine import confine, code_read_paths
        confine(read=code_read_paths(), write=[{str(scratch)!r}], cpu_s=60, memory_mb=2048)
        report = {{}}
        def attempt(name, action):
            try:
                action(); report[name] = "ALLOWED"
            except BaseException as exc:
                report[name] = "blocked: " + type(exc).__name__
        attempt("connect", lambda: socket.create_connection(("127.0.0.1", 5432), timeout=2))
        attempt("read_key", lambda: open({str(secrets_on_disk["key"])!r}).read())
        attempt("read_other", lambda: open({str(secrets_on_disk["other"])!r}).read())
        attempt("read_parent_environ", lambda: open("/proc/%d/environ" % os.getppid()).read())
        attempt("write_outside", lambda: open({str(tmp_path / "outside.txt")!r}, "w").write("x"))
        attempt("exec", lambda: subprocess.run(["/bin/true"], check=True))
        def unix_connect(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
        attempt("connect_postgres_unix_socket", lambda: unix_connect("/var/run/postgresql/.s.PGSQL.5432"))
        attempt("write_scratch_is_fine", lambda: open({str(scratch / "ok.txt")!r}, "w").write("x"))
        attempt("setuid_bit_in_scratch", lambda: os.chmod({str(scratch / "ok.txt")!r}, 0o4755))
        attempt("setuid_file_created", lambda: os.open({str(scratch / "suid")!r}, os.O_CREAT | os.O_WRONLY, 0o4755))
        attempt("memfd", lambda: os.memfd_create("hidden"))
        attempt("new_session", os.setsid)
        def capabilities():
            effective = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
            if not effective.strip("0"):
                raise PermissionError("no capability left")
            return effective
        attempt("capabilities_left", capabilities)
        print(json.dumps(report))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    import json

    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report.pop("write_scratch_is_fine") == "ALLOWED"
    assert all(v.startswith("blocked") for v in report.values()), report
    assert not (tmp_path / "outside.txt").exists()
    # From outside: no setuid or setgid bit on anything the process left in its scratch folder.
    import stat

    for path in scratch.iterdir():
        assert not path.stat().st_mode & (stat.S_ISUID | stat.S_ISGID), path


def test_without_a_sandbox_pickle_models_are_refused_with_a_reason_and_never_loaded(tmp_path, monkeypatch, fresh_probe):
    monkeypatch.setenv("MODEL_SANDBOX_BWRAP", str(tmp_path / "no-such-bwrap"))
    status = sandbox.probe(refresh=True)
    assert not status.available and "bubblewrap" in status.reason
    marker = tmp_path / "loaded.txt"
    model = tmp_path / "model.pkl"
    model.write_bytes(hostile_pickle_source(f"open({str(marker)!r}, 'w').write('loaded')"))
    outcome = execute_in_child(_spec(tmp_path, model, fmt="pickle"))
    assert outcome.status == "failed"
    assert "sandbox is not available" in outcome.error_message and "never loaded without it" in outcome.error_message
    assert not marker.exists()


def test_without_a_sandbox_a_skops_model_is_refused_too_because_its_loader_builds_the_types_it_names(
    tmp_path, monkeypatch, fresh_probe
):
    import skops.io as sio

    frame = credit_frame(200, seed=3)
    path = tmp_path / "model.skops"
    sio.dump(credit_model(frame), path)
    monkeypatch.setenv("MODEL_SANDBOX_BWRAP", str(tmp_path / "no-such-bwrap"))
    sandbox.probe(refresh=True)
    events = []
    outcome = execute_in_child(_spec(tmp_path, path, fmt="skops"), on_event=events.append)
    assert outcome.status == "failed"
    assert "skops models are never loaded without it" in outcome.error_message
    assert events == []  # no child was started


def test_a_run_reports_the_sandbox_it_ran_in(tmp_path, fresh_probe):
    import joblib

    frame = credit_frame(200, seed=3)
    path = tmp_path / "model.joblib"
    joblib.dump(credit_model(frame), path)
    events = []
    outcome = execute_in_child(_spec(tmp_path, path, fmt="joblib"), on_event=events.append)
    assert outcome.status == "succeeded", outcome.error_message
    entered = next(e for e in events if e.get("stage") == "entering the sandbox")
    assert entered["sandbox"]["inner"]["landlock"].startswith("ABI")
    assert entered["sandbox"]["inner"]["capabilities"] == "none"
    # The outer wall is described by the worker's own probe, not by the child's word.
    summary = outcome.reproducibility["sandbox"]
    assert summary["outer"].startswith("bubblewrap") and summary["landlock"].startswith("ABI")
    assert "no setuid bits" in summary["seccomp"]


def test_a_file_that_loads_to_something_that_is_not_a_model_fails_the_run_saying_so(tmp_path):
    import pickle

    path = tmp_path / "number.pkl"
    path.write_bytes(pickle.dumps(42))
    outcome = execute_in_child(_spec(tmp_path, path, fmt="pickle"))
    assert outcome.status == "failed"
    assert "the file did not load to a model" in outcome.error_message and "int" in outcome.error_message
    assert outcome.results == []


def _register_raw_version(actor, system, data: bytes, label: str, fmt: str):
    """A model version whose bytes never went through the scanner, stored as the registry stores
    files: the scanner is assumed wrong here, and the sandbox must hold anyway."""
    import hashlib
    import tempfile

    from models_registry import storage
    from models_registry.models import Artifact, ModelVersion

    sha256 = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"model.{fmt}"
        path.write_bytes(data)
        key, _ = storage.store(path, sha256)
    artifact = Artifact.objects.create(
        organisation_id=actor.organisation_id,
        kind="model",
        sha256=sha256,
        size=len(data),
        storage_key=key,
        original_name=f"{label}.pkl",
        detected_format=fmt,
        uploaded_by=actor,
    )
    return ModelVersion.objects.create(
        organisation_id=actor.organisation_id,
        system=system,
        version_label=label,
        artifact=artifact,
        framework="sklearn",
        task="binary",
        feature_columns=FEATURES,
        scan_verdict="safe",
        scan_report={"note": "hostile test file, scan bypassed"},
        uploaded_by=actor,
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_on_the_real_worker_a_hostile_model_fails_its_run_with_every_attempt_blocked_and_the_worker_lives_on(
    celery_worker_process, ml_engineer, other_organisation, listener, tmp_path
):
    from django.conf import settings

    from audits.certification.signing import load_or_create_signing_key
    from audits.validation.services import validation_start
    from models_registry import storage
    from tests.audits.validation_support import finished, register_credit_system, wait_for

    load_or_create_signing_key()  # the real key file, where the worker would find it
    credit = register_credit_system(ml_engineer)
    # Another organisation's stored dataset, at its real place in the artifact store.
    from core.choices import Role
    from tests.conftest import make_user

    stranger = make_user(other_organisation, "gus", Role.ML_ENGINEER)
    other = register_credit_system(stranger, name="Globex pricing", test_rows=260)  # bytes of its own
    other_path = Path(settings.STORAGES["artifacts"]["OPTIONS"]["location"]) / other.test.artifact.storage_key
    assert other_path.exists()
    database = settings.DATABASES["default"]
    targets = targets_for(
        listener_port=listener.port,
        key=Path(settings.CERTIFICATE_SIGNING_KEY_FILE),
        other=other_path,
        data=Path(settings.DATA_DIR),
        markers=tmp_path,
    )
    targets.update(
        db_host=database.get("HOST") or "127.0.0.1",
        db_port=int(database.get("PORT") or 5432),
        worker_pid=celery_worker_process.pid,
    )
    hostile = _register_raw_version(ml_engineer, credit.system, hostile_pickle(targets), "hostile", "pickle")

    run = validation_start(actor=ml_engineer, model_version=hostile, test_dataset=credit.test, suite="quick")
    run = wait_for(lambda: finished(run.pk), timeout=120)
    assert run.status == "failed"
    assert_every_attempt_blocked(report_from(run.error_message))
    assert listener.accepted == []
    assert not (Path(settings.DATA_DIR) / "escaped.txt").exists() and not (tmp_path / "exec.txt").exists()
    assert storage.exists(other.test.artifact.storage_key)

    # The worker is unharmed: the next run, of a real model, succeeds on it.
    good = validation_start(actor=ml_engineer, model_version=credit.version, test_dataset=credit.test, suite="quick")
    good = wait_for(lambda: finished(good.pk), timeout=120)
    assert good.status == "succeeded", good.error_message
    assert good.reproducibility["sandbox"]["outer"].startswith("bubblewrap")


@pytest.mark.parametrize(
    "garbage",
    [
        "not json at all",
        '["a list"]',
        '{"type": "result", "result": "not a dict"}',
        '{"type": "stage", "stage": 3}',
        '{"type": "progress", "rss_mb": "lots"}',
    ],
)
def test_a_model_that_writes_garbage_into_the_events_file_fails_its_run_with_a_reason(tmp_path, garbage):
    source = (
        "with open('/run/validation/out/events.jsonl', 'a') as events:\n"
        f"    events.write({garbage!r} + '\\n')\n"
        "import time\ntime.sleep(120)\n"
    )
    path = tmp_path / "garbage.pkl"
    path.write_bytes(hostile_pickle_source(source))
    outcome = execute_in_child(_spec(tmp_path, path), poll_s=0.05)
    assert outcome.status == "failed"
    assert "the validation process wrote" in outcome.error_message, outcome.error_message
    # The model would sleep for two minutes: the run is stopped at the first bad event instead.
    assert outcome.duration_s < 60


def test_a_model_cannot_remove_replace_or_truncate_its_events_file(tmp_path):
    source = (
        "import json, os\n"
        "report = {}\n"
        "for name, action in (('remove', lambda: os.remove('/run/validation/out/events.jsonl')),\n"
        "                     ('symlink', lambda: os.symlink('/etc/passwd', '/run/validation/out/other')),\n"
        "                     ('rename', lambda: os.rename('/run/validation/out/events.jsonl', '/tmp/e')),\n"
        "                     ('truncate', lambda: os.truncate('/run/validation/out/events.jsonl', 0))):\n"
        "    try:\n"
        "        action(); report[name] = 'ALLOWED'\n"
        "    except OSError as exc:\n"
        "        report[name] = 'blocked: ' + type(exc).__name__\n"
        "raise RuntimeError('REPORT:' + json.dumps(report))\n"
    )
    path = tmp_path / "swap.pkl"
    path.write_bytes(hostile_pickle_source(source))
    outcome = execute_in_child(_spec(tmp_path, path), poll_s=0.05)
    assert outcome.status == "failed"
    import json

    report = json.loads(outcome.error_message.split("REPORT:", 1)[1].split("}", 1)[0] + "}")
    assert all(v.startswith("blocked") for v in report.values()), report


def test_the_worker_does_not_follow_an_events_file_swapped_for_a_link_even_if_the_child_could_swap_it(
    tmp_path, secrets_on_disk
):
    """The parent's own boundary, tested without the sandbox that stops the swap: the worker
    (which may run as root) never reads another file through a link in the child's folder."""
    from audits.engine.runner import ChildProtocolError, _EventReader

    secret = secrets_on_disk["data"] / "other-run-events.jsonl"
    secret.write_text('{"type": "result", "result": {"check_id": "STOLEN", "status": "pass"}}\n')
    events = tmp_path / "events.jsonl"
    events.symlink_to(secret)
    with pytest.raises(ChildProtocolError, match="replaced its events file"):
        _EventReader(events).read()
    events.unlink()
    os.mkfifo(events)  # a FIFO would block a plain open forever
    with pytest.raises(ChildProtocolError, match="replaced its events file"):
        _EventReader(events).read()


@pytest.mark.parametrize(
    "garbage",
    [
        "[" * 200000,  # deeper than the JSON parser's recursion limit
        '{"type": "done", "reproducibility": "not a dict"}',
        '{"type": "stage", "stage": "entering the sandbox", "t": 1, "sandbox": {"outer": "claimed"}}',
        '{"type": "error", "stage": "x", "message": {"not": "text"}}',
    ],
)
def test_a_worker_reading_hostile_events_fails_the_run_instead_of_crashing(tmp_path, garbage):
    from audits.engine.runner import ChildProtocolError, _EventReader

    events = tmp_path / "events.jsonl"
    events.write_text(garbage + "\n")
    with pytest.raises(ChildProtocolError):
        _EventReader(events).read()


def test_a_model_that_floods_the_worker_with_results_is_stopped(tmp_path):
    source = (
        "import json\n"
        "with open('/run/validation/out/events.jsonl', 'a') as events:\n"
        "    for i in range(2000):\n"
        "        events.write(json.dumps({'type': 'result', 'result': {'check_id': 'fake-%d' % i}}) + '\\n')\n"
        "import time\ntime.sleep(120)\n"
    )
    path = tmp_path / "flood.pkl"
    path.write_bytes(hostile_pickle_source(source))
    outcome = execute_in_child(_spec(tmp_path, path), poll_s=0.05)
    assert outcome.status == "failed"
    assert "more results than a suite has" in outcome.error_message, outcome.error_message
    assert outcome.duration_s < 60


def test_the_worker_reads_only_the_end_of_a_huge_stderr(tmp_path):
    from audits.engine.runner import STDERR_TAIL_BYTES, _tail

    path = tmp_path / "stderr.txt"
    with open(path, "wb") as handle:
        handle.truncate(3 * 2**30)  # a sparse 3 GB file: reading it whole would need 3 GB
        handle.seek(0, os.SEEK_END)
        handle.write(b"Traceback: the last words")
    tail = _tail(path)
    assert tail.endswith("Traceback: the last words") and len(tail) <= STDERR_TAIL_BYTES
