"""`make bench-uploads`: what an upload costs the web process (issue #11, hole 4): its peak memory
above idle and the request's wall time, for the files that used to tie it up or bloat it.

Cases: a 4 MB pickle of 2,000,000 no-op NONE/POP pairs (the "opcode bomb"), a 300 MB CSV resampled
from UCI Adult (datasets/adult.csv.gz) and a 50 MB joblib random forest. Everything happens in a
throw-away DATA_DIR with its own SQLite database. Each upload is measured in a fresh "web process"
(`--web`): Django set up as in production, warmed up by one small upload of each kind (so idle
includes everything the upload path imports), then the upload is sent through Django's WSGI
handler with the multipart body streamed from a file, as gunicorn streams it from the socket. The
web process reads its own VmRSS just before the request (idle) and VmHWM after it (the peak; the
kernel's mark is reset first by writing 5 to /proc/self/clear_refs). An upload the request leaves
pending is then finished by the worker's task in another fresh process (`--work`). Bound: the web
process's peak <= 200 MB above idle, whatever the file.

    python -m bench.uploads [--csv-mb 300] [--model-mb 50] [--bomb-pairs 2000000] [--code DIR]

`--code DIR` runs the web and worker processes on another checkout (e.g. `git archive` of an
older commit) to measure before and after with the same files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOUND_MB = 200
DEFAULT_JSON = ROOT / "artifacts" / "bench" / "uploads.json"
MB = 1024 * 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.uploads", description=__doc__.splitlines()[0])
    parser.add_argument("--csv-mb", type=int, default=300)
    parser.add_argument("--model-mb", type=int, default=50)
    parser.add_argument("--bomb-pairs", type=int, default=2_000_000)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose portal code is measured")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--web", nargs=3, metavar=("KIND", "FILE", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--work", nargs=2, metavar=("KIND", "ID"), help=argparse.SUPPRESS)
    parser.add_argument("--make-model", nargs=2, metavar=("FILE", "MB"), help=argparse.SUPPRESS)
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the files ---------------------------------------------------------------------------------


def make_bomb(path: Path, pairs: int) -> None:
    path.write_bytes(b"\x80\x04" + b"N0" * pairs + b"N.")  # loads as None, after `pairs` pushes and pops


def make_csv(path: Path, megabytes: int, seed: int = 0) -> int:
    """Adult's rows drawn with replacement until the file has `megabytes` MB; returns the rows."""
    import numpy as np

    lines = gzip.decompress((ROOT / "datasets" / "adult.csv.gz").read_bytes()).splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    wanted = int((megabytes * MB - len(header)) / (sum(map(len, rows)) / len(rows)))
    rng = np.random.default_rng(seed)
    with open(path, "wb") as out:
        out.write(header)
        for start in range(0, wanted, 100_000):
            out.write(b"".join(rows[i] for i in rng.integers(0, len(rows), min(100_000, wanted - start))))
    return wanted


def make_model(path: Path, megabytes: int) -> None:
    """A random forest saved with joblib (uncompressed), grown until the file is about `megabytes`."""
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 10))
    y = (X[:, 0] + rng.normal(size=20_000) > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=4, random_state=0, warm_start=True).fit(X, y)
    joblib.dump(forest, path)
    forest.n_estimators = max(1, round(4 * megabytes * MB / path.stat().st_size))
    joblib.dump(forest.fit(X, y), path)


# --- one process of the portal -----------------------------------------------------------------


def _status_mb(field: str) -> float:
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:  # "5": reset the peak RSS mark (Linux >= 4.0)
        handle.write("5")


def _django() -> None:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def setup_database() -> dict:
    """Migrate the throw-away database; one organisation, its ML engineer (with a token), one system."""
    _django()
    from django.core.management import call_command

    from core.models import Organisation, User
    from core.services import api_token_create
    from models_registry.services import system_create

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Bench Bank", slug="bench")
    engineer = User.objects.create(username="bench-engineer", organisation=org, role="ml_engineer")
    _, secret = api_token_create(actor=engineer, name="bench")
    system = system_create(actor=engineer, name="Bench system", purpose="Benchmark uploads")
    return {"token": secret, "system": system.pk}


def _multipart(fields: dict, file_field: str, source: Path, name: str, target: Path) -> str:
    """Writes a multipart/form-data body to `target` (the file streamed, never in memory); returns
    the boundary."""
    boundary = uuid.uuid4().hex
    with open(target, "wb") as out:
        for key, value in fields.items():
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        with open(source, "rb") as data:
            shutil.copyfileobj(data, out, MB)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return boundary


def _post(app, *, token: str, path: str, fields: dict, source: Path, name: str, folder: Path) -> tuple[int, dict]:
    body = folder / f"body-{uuid.uuid4().hex}"
    boundary = _multipart(fields, "file", source, name, body)
    status = {}

    def start_response(line, headers, exc_info=None):
        status["code"] = int(line.split()[0])

    try:
        with open(body, "rb") as stream:
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": path,
                "SCRIPT_NAME": "",
                "QUERY_STRING": "",
                "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
                "CONTENT_LENGTH": str(body.stat().st_size),
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_AUTHORIZATION": f"Token {token}",
                "wsgi.input": stream,
                "wsgi.errors": sys.stderr,
                "wsgi.url_scheme": "http",
                "wsgi.version": (1, 0),
                "wsgi.multithread": False,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
                "REMOTE_ADDR": "127.0.0.1",
            }
            answer = b"".join(app(environ, start_response))
    finally:
        body.unlink(missing_ok=True)
    return status["code"], json.loads(answer or b"{}")


def _upload_fields(kind: str) -> tuple[str, dict]:
    if kind == "model":
        return "versions", {"version_label": f"b-{uuid.uuid4().hex[:8]}", "framework": "sklearn", "task": "binary"}
    return "datasets", {"role": "test", "target_column": "income", "name": f"b-{uuid.uuid4().hex[:8]}"}


def web(kind: str, source: Path, name: str) -> dict:
    """One upload in this (fresh) process, measured as described in the module docstring."""
    _django()
    from django.core.handlers.wsgi import WSGIHandler

    config = json.loads((Path(os.environ["DATA_DIR"]) / "bench.json").read_text())
    checks = _spy_on_checks()
    app, folder = WSGIHandler(), Path(tempfile.mkdtemp(dir=os.environ["DATA_DIR"]))
    warm = {"model": (folder / "warm.pkl", "warm.pkl"), "dataset": (folder / "warm.csv", "warm.csv")}
    warm["model"][0].write_bytes(b"\x80\x04K\x01.")
    warm["dataset"][0].write_text("age,income\n30,<=50K\n40,>50K\n")
    for warm_kind, (path, warm_name) in warm.items():  # imports and caches of the upload path
        endpoint, fields = _upload_fields(warm_kind)
        _post(
            app,
            token=config["token"],
            path=f"/api/v1/systems/{config['system']}/{endpoint}/",
            fields=fields,
            source=path,
            name=warm_name,
            folder=folder,
        )
    checks.clear()
    idle = _status_mb("VmRSS")
    _reset_peak()
    endpoint, fields = _upload_fields(kind)
    started = time.perf_counter()
    code, body = _post(
        app,
        token=config["token"],
        path=f"/api/v1/systems/{config['system']}/{endpoint}/",
        fields=fields,
        source=source,
        name=name,
        folder=folder,
    )
    wall = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    state = body.get("scan_verdict") or body.get("profile_status") or ("profiled" if "schema" in body else None)
    return {
        "http": code,
        "state": state or body.get("code"),
        "id": body.get("id"),
        "wall_s": round(wall, 2),
        "idle_mb": round(idle, 1),
        "peak_mb": round(peak, 1),
        "above_idle_mb": round(peak - idle, 1),
        "after_mb": round(_status_mb("VmRSS"), 1),
        "checks": checks,
        "message": body.get("message", ""),
    }


def _spy_on_checks() -> list:
    """The child processes the services start, as they end (absent in code that scans in-process)."""
    seen: list[dict] = []
    try:
        from models_registry import services, uploads
    except ImportError:
        return seen
    if not hasattr(services, "upload_check"):
        return seen

    def spy(**kwargs):
        outcome = uploads.upload_check(**kwargs)
        seen.append(
            {
                "status": outcome.status,
                "child_pid": outcome.pid,
                "child_peak_mb": outcome.peak_rss_mb,
                "child_wall_s": outcome.wall_s,
            }
        )
        return outcome

    services.upload_check = spy
    return seen


def work(kind: str, object_id: int) -> dict:
    """The worker's task for a pending upload, in this (fresh) process."""
    _django()
    checks = _spy_on_checks()
    from models_registry.models import Dataset, ModelVersion
    from models_registry.tasks import dataset_profile_task, model_version_scan_task

    idle = _status_mb("VmRSS")
    started = time.perf_counter()
    (model_version_scan_task if kind == "model" else dataset_profile_task)(object_id)
    wall = time.perf_counter() - started
    if kind == "model":
        row = ModelVersion.objects.get(pk=object_id)
        state, reasons = row.scan_verdict, [r["code"] for r in row.scan_report.get("reasons", [])]
    else:
        row = Dataset.objects.get(pk=object_id)
        state, reasons = row.profile_status, [row.profile_error["code"]] if row.profile_error else []
    return {
        "state": state,
        "reasons": reasons,
        "wall_s": round(wall, 2),
        "checks": checks,
        "worker_above_idle_mb": round(_status_mb("VmHWM") - idle, 1),
    }


# --- the orchestrator --------------------------------------------------------------------------


def _run(args: list[str], *, env: dict, code: Path) -> dict:
    """This file's `--web`/`--work`/... mode in a fresh interpreter that imports the portal from `code`."""
    script = (
        f"import runpy, sys; sys.path.insert(0, {str(code)!r}); sys.argv[0] = {__file__!r}; "
        f"runpy.run_path({__file__!r}, run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=code, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cases(args: argparse.Namespace, folder: Path, out=sys.stdout) -> list[dict]:
    code = args.code.resolve()
    env = dict(
        os.environ,
        DATA_DIR=str(folder / "data"),
        DEBUG="1",
        PYTHONPATH=str(code),
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    (folder / "data").mkdir()
    files = folder / "files"
    files.mkdir()
    started = time.perf_counter()
    make_bomb(files / "bomb.pkl", args.bomb_pairs)
    rows = make_csv(files / "adult-resampled.csv", args.csv_mb)
    _run(["--make-model", str(files / "forest.joblib"), str(args.model_mb)], env=env, code=ROOT)
    config = _run(["--setup"], env=env, code=code)
    (folder / "data" / "bench.json").write_text(json.dumps(config))
    print(
        f"files made in {time.perf_counter() - started:.0f} s ({rows:,} CSV rows); code: {code}", file=out, flush=True
    )
    cases = [
        ("opcode bomb", "model", files / "bomb.pkl", "bomb.pkl"),
        (f"{args.csv_mb} MB CSV", "dataset", files / "adult-resampled.csv", "adult-resampled.csv"),
        (f"{args.model_mb} MB joblib", "model", files / "forest.joblib", "forest.joblib"),
    ]
    results = []
    for label, kind, path, name in cases:
        result = {
            "case": label,
            "kind": kind,
            "size_mb": round(path.stat().st_size / MB, 1),
            "web": _run(["--web", kind, str(path), name], env=env, code=code),
        }
        if result["web"]["state"] == "pending" and result["web"]["id"]:
            result["worker"] = _run(["--work", kind, str(result["web"]["id"])], env=env, code=code)
        results.append(result)
        print(
            f"  {label}: HTTP {result['web']['http']} in {result['web']['wall_s']} s, "
            f"+{result['web']['above_idle_mb']:.0f} MB",
            file=out,
            flush=True,
        )
    return results


def report(results: list[dict]) -> str:
    from bench.report import table, verdict

    rows = []
    for r in results:
        web, worker = r["web"], r.get("worker")
        child = max((c["child_peak_mb"] for c in web["checks"]), default=None)
        final = f"{worker['state']} {','.join(worker['reasons'])}".strip() if worker else web["state"]
        rows.append(
            [
                r["case"],
                f"{r['size_mb']:g}",
                web["http"],
                f"{web['wall_s']:.1f}",
                f"{web['idle_mb']:.0f}",
                f"+{web['above_idle_mb']:.0f}",
                verdict(web["above_idle_mb"] <= BOUND_MB),
                f"{child:.0f}" if child else "-",
                f"{worker['wall_s']:.1f}" if worker else "-",
                f"{max((c['child_peak_mb'] for c in worker['checks']), default=0):.0f}" if worker else "-",
                final,
            ]
        )
    return table(
        [
            "case",
            "MB",
            "HTTP",
            "request s",
            "idle MB",
            "peak above idle",
            f"<= {BOUND_MB} MB",
            "child MB",
            "worker s",
            "worker child MB",
            "outcome",
        ],
        rows,
        right={1, 2, 3, 4, 5, 7, 8, 9},
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.make_model:
        make_model(Path(args.make_model[0]), int(args.make_model[1]))
        print("{}")
        return 0
    if args.setup:
        print(json.dumps(setup_database()))
        return 0
    if args.web:
        print(json.dumps(web(args.web[0], Path(args.web[1]), args.web[2])))
        return 0
    if args.work:
        print(json.dumps(work(args.work[0], int(args.work[1]))))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as folder:
        results = run_cases(args, Path(folder))
    print(report(results))
    worst = max(r["web"]["above_idle_mb"] for r in results)
    print(
        f"bound: the web process's peak at most {BOUND_MB} MB above idle for any upload: "
        f"{'met' if worst <= BOUND_MB else 'MISSED'} (largest: +{worst:.0f} MB)"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"code": str(args.code), "results": results}, indent=2))
    print(f"results written to {args.json}")
    return 0 if all(r["web"]["http"] < 500 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
