"""`make bench-trail`: the audit trail at size (issue #15, target 5).

Seeds one organisation's chain with `--events` audit events (default 1,000,000) and a second
organisation's with a few hundred, into a throw-away database: a SQLite file in a temporary data
folder, or the empty PostgreSQL database named by `DATABASE_URL`. The events are hashed by
`core.chain.compute_hash` (the writer's own function) and chained exactly as `core.trail.audit_record`
chains them, then inserted in bulk (COPY on PostgreSQL), so `verify_audit_trail` finds them intact.

Then it measures, logged in as the organisation's auditor:
  - the trail page (first page, a page in the middle of the chain, a filtered page): median and
    p95 of `--repeat` renders through Django's test client, and the SQL queries of one render;
  - `verify_audit_trail` over every chain, in a fresh process: seconds and peak RSS;
  - the JSON Lines and CSV exports of the whole chain, each in a fresh process, the streamed body
    read to the end: seconds, bytes and peak RSS.
Targets (issue #15): page median <= 150 ms and p95 <= 300 ms, verify <= 15 s for 1,000,000 events
with bounded memory, exports streamed in constant memory (peak RSS independent of the number of
events: compare two sizes).

    python -m bench.trail [--events 1000000] [--repeat 15] [--json artifacts/bench/trail.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import table, verdict
from core.chain import HASHED_FIELDS  # Django-free: the fields an event's hash covers

PAGE_MEDIAN_MS = 150
PAGE_P95_MS = 300
VERIFY_S_PER_MILLION = 15.0
OTHER_ORG_EVENTS = 300
VERBS = ("risk.updated", "system.updated", "validation.started", "finding.decided", "classification.answered")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.trail", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", default="artifacts/bench/trail.json")
    parser.add_argument("--child", choices=("verify", "export-jsonl", "export-csv"), help=argparse.SUPPRESS)
    parser.add_argument("--user", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _django(migrate: bool = False) -> None:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


# --- seeding -----------------------------------------------------------------------------------


def _records(chain: str, organisation_id: int, actor, n: int, start: datetime):
    """`n` records of one chain, hashed and linked as core.trail.audit_record does it."""
    from core.chain import GENESIS_HASH, compute_hash, normalise_json

    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        verb = VERBS[seq % len(VERBS)]
        record = {
            "chain": chain,
            "seq": seq,
            "prev_hash": prev,
            "timestamp": start + timedelta(seconds=seq),
            "organisation_id": organisation_id,
            "actor_id": actor.pk,
            "actor_username": actor.username,
            "actor_role": actor.role,
            "verb": verb,
            "object_type": "governance.risk",
            "object_id": str(seq % 10_000 + 1),
            "object_repr": f"Risk {seq % 10_000 + 1}",
            "before": normalise_json({"status": "open", "score": seq % 25}),
            "after": normalise_json({"status": "mitigating", "score": (seq + 1) % 25}),
            "reason": "" if seq % 3 else "quarterly review",
            "request_id": f"{seq:032x}",
            "ip": "10.0.0.1",
            "origin": "web",
        }
        record["hash"] = compute_hash(record)
        prev = record["hash"]
        yield record


COLUMNS = ("hash", *HASHED_FIELDS)  # every hashed field and the hash: what an event row stores


def _insert(records, total: int) -> None:
    from django.db import connection, transaction

    from core.models import AuditEvent

    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3: COPY is the fast path for a million rows
            sql = f"COPY {AuditEvent._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
            with raw.copy(sql) as copy:
                for record in records:
                    row = dict(record)
                    row["before"], row["after"] = json.dumps(row["before"]), json.dumps(row["after"])
                    copy.write_row([row[c] for c in COLUMNS])
        return
    batch = []
    for record in records:
        batch.append(AuditEvent(**{c: record[c] for c in COLUMNS}))
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)


def seed(n_events: int, *, other_events: int = OTHER_ORG_EVENTS):
    """Two organisations, each with an auditor; `n_events` events in the first one's chain and
    `other_events` in the second's. Returns (auditor of the first, auditor of the second)."""
    from core.models import AuditChainHead, AuditEvent, Organisation, User
    from core.trail import chain_for

    auditors = []
    stamp = int(time.time() * 1000)
    for n, count in enumerate((n_events, other_events)):
        org = Organisation.objects.create(name=f"Bench Bank {n} {stamp}", slug=f"bench-{n}-{stamp}")
        auditor = User.objects.create(username=f"bench-auditor-{org.pk}", organisation=org, role="auditor")
        chain = chain_for(org.pk)
        _insert(_records(chain, org.pk, auditor, count, datetime(2025, 1, 1, tzinfo=UTC)), count)
        head = AuditEvent.objects.filter(chain=chain).order_by("-seq").values("seq", "hash").first()
        AuditChainHead.objects.update_or_create(chain=chain, defaults=head or {"seq": 0, "hash": "0" * 64})
        auditors.append(auditor)
    if _vendor() == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audits_auditevent")
    return auditors[0], auditors[1]


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


# --- measuring ---------------------------------------------------------------------------------


def page_urls(n_events: int) -> list[tuple[str, str]]:
    middle = max(1, n_events // 2)
    return [
        ("trail page, newest", "/audit-trail/"),
        ("trail page, middle of the chain (older link)", f"/audit-trail/?before={middle}"),
        ("trail page, filtered by verb", "/audit-trail/?verb=finding.decided"),
        ("trail page, filtered, middle of the chain", f"/audit-trail/?verb=finding.decided&before={middle}"),
    ]


def measure_pages(auditor, n_events: int, repeat: int) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    rows = []
    with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False):
        client = Client()
        client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
        for label, url in page_urls(n_events):
            response = client.get(url)  # warm: templates compiled
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            times.sort()
            rows.append(
                {
                    "page": label,
                    "url": url,
                    "status": response.status_code,
                    "median_ms": statistics.median(times),
                    "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
                    "queries": len(queries),
                    "sql": [q["sql"][:300] for q in queries.captured_queries],
                }
            )
    return rows


def _status_mb(field: str) -> float:
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as handle:  # "5": reset the peak RSS mark (Linux >= 4.0)
        handle.write("5")


def child(kind: str, user_id: int | None) -> dict:
    """Run in a fresh process: one verification or one export, timed, with the peak RSS it reached
    above the process's idle size (Django set up, connection open)."""
    _django()
    from django.db import connection

    connection.ensure_connection()
    idle = _status_mb("VmRSS")
    _reset_peak()
    started = time.perf_counter()
    if kind == "verify":
        from io import StringIO

        from django.core.management import call_command

        out = StringIO()
        call_command("verify_audit_trail", stdout=out, stderr=out)
        result = {"output": out.getvalue().strip()}
    else:
        from django.test import Client
        from django.test.utils import override_settings

        from core.models import User

        fmt = kind.split("-")[1]
        with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False):
            client = Client()
            client.force_login(User.objects.get(pk=user_id), backend="django.contrib.auth.backends.ModelBackend")
            response = client.get(f"/audit-trail/export.{fmt}")
            size, lines = 0, 0
            for chunk in response.streaming_content:
                size += len(chunk)
                lines += chunk.count(b"\n")
        result = {"status": response.status_code, "streaming": response.streaming, "bytes": size, "lines": lines}
    import resource

    result.update(
        # verify_audit_trail's forked workers (--workers): the largest one's peak
        workers_peak_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        seconds=round(time.perf_counter() - started, 2),
        idle_mb=round(idle, 1),
        peak_mb=round(_status_mb("VmHWM"), 1),
        above_idle_mb=round(_status_mb("VmHWM") - idle, 1),
    )
    return result


def run_child(kind: str, user_id: int | None = None) -> dict:
    args = [sys.executable, "-m", "bench.trail", "--child", kind]
    if user_id is not None:
        args += ["--user", str(user_id)]
    done = subprocess.run(args, capture_output=True, text=True, env=os.environ.copy(), check=False)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-2000:], "seconds": 0, "peak_mb": 0, "above_idle_mb": 0}
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(n_events: int, pages: list[dict], verify: dict, exports: dict[str, dict]) -> str:
    page_rows = [
        [
            r["page"],
            r["url"],
            r["status"],
            f"{r['median_ms']:.0f}",
            f"{r['p95_ms']:.0f}",
            r["queries"],
            verdict(r["median_ms"] <= PAGE_MEDIAN_MS and r["p95_ms"] <= PAGE_P95_MS),
        ]
        for r in pages
    ]
    verify_target = VERIFY_S_PER_MILLION * max(n_events, 1) / 1_000_000
    lines = [
        table(["page", "url", "HTTP", "median ms", "p95 ms", "queries", "target"], page_rows, right={2, 3, 4, 5}),
        f"page target: median <= {PAGE_MEDIAN_MS} ms and p95 <= {PAGE_P95_MS} ms on every page",
        "",
    ]
    job_rows = [
        [
            f"verify_audit_trail (all chains; workers' peak {verify.get('workers_peak_mb', 0):.0f} MB)",
            f"{verify['seconds']:.1f}",
            f"{verify.get('idle_mb', 0):.0f}",
            f"{verify['peak_mb']:.0f}",
            f"+{verify['above_idle_mb']:.0f}",
            "",
            verdict(verify["seconds"] <= verify_target and "error" not in verify and "intact" in verify["output"]),
        ]
    ]
    for fmt, e in exports.items():
        job_rows.append(
            [
                f"export {fmt} (whole chain)",
                f"{e['seconds']:.1f}",
                f"{e.get('idle_mb', 0):.0f}",
                f"{e['peak_mb']:.0f}",
                f"+{e['above_idle_mb']:.0f}",
                f"{e.get('bytes', 0) / 1e6:,.0f}",
                "streamed" if e.get("streaming") else "NOT STREAMED",
            ]
        )
    lines.append(table(["job", "seconds", "idle MB", "peak MB", "above idle MB", "MB out", "result"], job_rows))
    lines.append(
        f"verify target: {verify_target:.1f} s for {n_events:,} events ({VERIFY_S_PER_MILLION:.0f} s per million): "
        f"{verdict(verify['seconds'] <= verify_target)}; {verify.get('output') or verify.get('error', '')}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.user)))
        return 0
    if "DATABASE_URL" not in os.environ:
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-trail-")
    _django(migrate=True)
    started = time.perf_counter()
    auditor, _ = seed(args.events)
    print(f"seeded {args.events:,} audit events in {time.perf_counter() - started:.1f} s ({_vendor()})", flush=True)
    pages = measure_pages(auditor, args.events, args.repeat)
    verify = run_child("verify")
    exports = {fmt: run_child(f"export-{fmt}", auditor.pk) for fmt in ("jsonl", "csv")}
    print(report(args.events, pages, verify, exports))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"events": args.events, "pages": pages, "verify": verify, "exports": exports}, indent=2)
        )
    broken = any(r["status"] != 200 for r in pages) or "error" in verify or any("error" in e for e in exports.values())
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
