"""`make bench-trail` seeds a hash chain that verifies and times the trail page, verification and
the exports. Not a timing test: the timings and their targets live in the benchmark."""

from __future__ import annotations

import pytest

from audits.services import audit_trail_verify
from bench import trail
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_trail_benchmark_seeds_chains_that_verify_and_every_page_it_times_renders():
    auditor, other = trail.seed(40, other_events=7)
    assert AuditEvent.objects.filter(organisation=auditor.organisation).count() == 40
    assert audit_trail_verify(all_chains=True).ok
    rows = trail.measure_pages(auditor, 40, repeat=2)
    assert [r["url"] for r in rows] == [url for _, url in trail.page_urls(40)]
    assert all(r["status"] == 200 and r["queries"] > 0 and r["median_ms"] > 0 for r in rows), rows
    verify = {"seconds": 0.5, "idle_mb": 90, "peak_mb": 95, "above_idle_mb": 5, "output": "Audit trail intact"}
    export = {"seconds": 0.4, "idle_mb": 90, "peak_mb": 95, "above_idle_mb": 5, "bytes": 1000, "streaming": True}
    text = trail.report(40, rows, verify, {"jsonl": export, "csv": export})
    assert "verify target" in text and "streamed" in text and "met" in text
