"""`make bench-pages` seeds an organisation and renders the compliance officer's pages. Not a
timing test: the timings and their target live in the benchmark."""

from __future__ import annotations

import pytest

from bench import pages

pytestmark = pytest.mark.django_db


def test_the_page_benchmark_seeds_linked_risks_and_every_page_it_times_renders():
    from governance.risks.models import Risk
    from models_registry.models import AISystem

    officer = pages.seed(12, 30)
    assert AISystem.objects.filter(organisation=officer.organisation).count() == 12
    risks = Risk.objects.filter(organisation=officer.organisation)
    assert risks.count() == 30 and risks.filter(systems__isnull=True).count() == 0
    assert set(risks.values_list("inherent_score", flat=True)) <= {lk * i for lk in range(1, 6) for i in range(1, 6)}
    rows = pages.measure(officer, repeat=1)
    assert [r["url"] for r in rows] == [url for _, url in pages.PAGES]
    assert all(r["status"] == 200 and r["queries"] > 0 and r["median_ms"] > 0 for r in rows), rows
