"""`make bench-pages`: how long the compliance officer's pages take with thousands of AI systems
and risks (issue #7: the register and the dashboard must stay fast at that size).

Seeds one organisation with `--systems` AI systems and `--risks` risks (each linked to a system,
scores spread over the 5x5 grid, review dates spread over two years) into a throw-away database:
a SQLite file in a temporary data folder, or the PostgreSQL database named by `DATABASE_URL`
(which must be an empty database you can drop). Then renders each page `--repeat` times through
Django's test client, logged in as a compliance officer, and prints the median and slowest time
and the number of SQL queries per page. Target: every page's median under 500 ms.

    python -m bench.pages [--systems 5000] [--risks 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta

from bench.report import table, verdict

TARGET_MS = 500
PAGES = [
    ("compliance dashboard", "/compliance/"),
    ("risk register", "/risks/"),
    ("register, filtered (above appetite)", "/risks/?above_appetite=true"),
    ("heatmap and trend", "/risks/heatmap/"),
    ("new risk form", "/risks/new/"),
    ("obligations board", "/obligations/"),
    ("inventory", "/systems/"),
    ("home", "/"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=5000)
    parser.add_argument("--risks", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=7)
    return parser.parse_args(argv)


def _setup_django() -> None:
    if "DATABASE_URL" not in os.environ:
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="bench-pages-")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(n_systems: int, n_risks: int):
    """One organisation, its compliance officer, `n_systems` systems and `n_risks` risks."""
    from core.models import Organisation, User
    from governance.risks.models import Risk
    from models_registry.models import AISystem

    org = Organisation.objects.create(name="Bench Bank", slug=f"bench-{int(time.time())}")
    officer = User.objects.create(username=f"bench-officer-{org.pk}", organisation=org, role="compliance_officer")
    engineer = User.objects.create(username=f"bench-engineer-{org.pk}", organisation=org, role="ml_engineer")
    tiers, stages = ["high", "minimal", "limited", "unclassified"], ["idea", "development", "validation", "deployed"]
    AISystem.objects.bulk_create(
        [
            AISystem(
                organisation=org,
                name=f"System {n:05d}",
                purpose="Benchmark",
                risk_tier=tiers[n % 4],
                lifecycle_stage=stages[n % 4],
                created_by=engineer,
            )
            for n in range(n_systems)
        ],
        batch_size=2000,
    )
    system_ids = list(AISystem.objects.filter(organisation=org).values_list("pk", flat=True))

    def score(n: int) -> tuple[int, int]:
        return 1 + n % 5, 1 + (n // 5) % 5

    risks = Risk.objects.bulk_create(
        [
            Risk(
                organisation=org,
                reference=f"R-{n + 1}",
                title=f"Risk {n + 1}",
                category="bias",
                owner=officer,
                created_by=officer,
                likelihood=score(n)[0],
                impact=score(n)[1],
                inherent_score=score(n)[0] * score(n)[1],
                current_score=score(n)[0] * score(n)[1],
                next_review_date=date(2026, 1, 1) + timedelta(days=n % 730),
            )
            for n in range(n_risks)
        ],
        batch_size=2000,
    )
    links = Risk.systems.through
    links.objects.bulk_create(
        [links(risk_id=risk.pk, aisystem_id=system_ids[i % len(system_ids)]) for i, risk in enumerate(risks)],
        batch_size=5000,
    )
    return officer


def measure(officer, repeat: int) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    rows = []
    with override_settings(ALLOWED_HOSTS=["*"], DEBUG=False):
        client = Client()
        client.force_login(officer, backend="django.contrib.auth.backends.ModelBackend")
        for label, url in PAGES:
            status = client.get(url).status_code  # warm: templates compiled, caches filled
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            rows.append(
                {
                    "page": label,
                    "url": url,
                    "status": status,
                    "median_ms": statistics.median(times),
                    "max_ms": max(times),
                    "queries": len(queries),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _setup_django()
    from django.db import connection

    started = time.perf_counter()
    officer = seed(args.systems, args.risks)
    print(
        f"seeded {args.systems:,} AI systems and {args.risks:,} risks in {time.perf_counter() - started:.1f} s "
        f"({connection.vendor})",
        flush=True,
    )
    rows = measure(officer, args.repeat)
    print(
        table(
            ["page", "url", "HTTP", "median ms", "slowest ms", "queries"],
            [
                [r["page"], r["url"], r["status"], f"{r['median_ms']:.0f}", f"{r['max_ms']:.0f}", r["queries"]]
                for r in rows
            ],
            right={2, 3, 4, 5},
        )
    )
    worst = max(rows, key=lambda r: r["median_ms"])
    print(
        f"target: every page's median under {TARGET_MS} ms: {verdict(worst['median_ms'] < TARGET_MS)} "
        f"(slowest: {worst['page']}, {worst['median_ms']:.0f} ms)"
    )
    return 0 if all(r["status"] == 200 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
