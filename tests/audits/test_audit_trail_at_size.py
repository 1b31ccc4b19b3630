"""The audit trail at size (issue #15, target 5): the trail page pages by keyset, verification
and export stream the events. The timings live in `make bench-trail`; these tests check the
behaviour on a small trail, with small pages and chunks so that several are crossed."""

from __future__ import annotations

import io
import json
import re
import subprocess
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audits import checkpoints, selectors
from audits.services import audit_trail_verify, stream_records
from core.chain import compute_hash, format_timestamp, normalise_json
from core.models import AuditChainHead, AuditEvent
from core.trail import audit_record, chain_for

pytestmark = pytest.mark.django_db

PAGE = 4


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(selectors, "AUDIT_PAGE_SIZE", PAGE)


@pytest.fixture
def trail(organisation, other_organisation, auditor, outsider):
    """13 events of the organisation (every third one a 'demo.special'), and 5 of another one."""
    for n in range(13):
        audit_record(
            verb="demo.special" if n % 3 == 0 else "demo.changed", target=auditor, actor=auditor, after={"n": n}
        )
    for n in range(5):
        audit_record(verb="secret.other", target=outsider, actor=outsider, after={"n": n})
    return list(AuditEvent.objects.filter(organisation=organisation).order_by("seq"))


def all_seqs(user) -> list[int]:
    """Every sequence number of the user's organisation, newest first (logging in adds one)."""
    return list(
        AuditEvent.objects.filter(organisation=user.organisation).order_by("-seq").values_list("seq", flat=True)
    )


def seqs_on(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<small class=\"muted\">#(\d+) ", html)]


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'href="(\?[^"]*)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client, start: str, rel: str) -> list[list[int]]:
    """Every page from `start`, following the `rel` link ("next": older, "prev": newer)."""
    pages, url = [], start
    while url is not None:
        response = client.get(reverse("audits:event_list") + url)
        assert response.status_code == 200
        html = response.content.decode()
        pages.append(seqs_on(html))
        url = link(html, rel)
        assert len(pages) < 50, "the pages never end"
    return pages


def test_paging_older_shows_every_event_of_the_organisation_exactly_once_newest_first(
    client, trail, auditor, small_pages
):
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    pages = walk(client, "?", "next")
    seen = [seq for page in pages for seq in page]
    assert seen == all_seqs(auditor) and len(seen) > 3 * PAGE
    assert all(len(page) == PAGE for page in pages[:-1])
    html = client.get(reverse("audits:event_list")).content.decode()
    assert "secret.other" not in html and "Newer" not in html


def test_paging_newer_from_the_oldest_page_comes_back_to_the_newest_page_over_the_same_events(
    client, trail, auditor, small_pages
):
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    older = walk(client, "?", "next")
    oldest_cursor = f"?before={older[-1][0] + 1}"
    newer = walk(client, oldest_cursor, "prev")
    assert newer[0] == older[-1]
    assert newer[-1] == older[0], "the last newer page is the newest page, full"
    assert sorted((seq for page in newer for seq in page), reverse=True) == all_seqs(auditor)


def test_a_filtered_trail_pages_by_keyset_and_keeps_its_filter(client, trail, auditor, small_pages):
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    pages = walk(client, "?verb=demo.special", "next")
    special = [e.seq for e in trail if e.verb == "demo.special"]
    assert [seq for page in pages for seq in page] == sorted(special, reverse=True)
    first = client.get(reverse("audits:event_list") + "?verb=demo.special").content.decode()
    assert "verb=demo.special&before=" in link(first, "next")


def test_another_organisation_never_sees_the_events_even_with_a_cursor_into_them(client, trail, outsider, small_pages):
    client.force_login(outsider, backend="django.contrib.auth.backends.ModelBackend")
    for start in ("?", f"?before={trail[-1].seq + 1}", "?after=0", f"?before={trail[6].seq}"):
        seen = [seq for page in walk(client, start, "next") for seq in page]
        html = client.get(reverse("audits:event_list") + start).content.decode()
        assert "demo.changed" not in html and "demo.special" not in html
        assert set(seen) <= set(all_seqs(outsider))
    assert [seq for page in walk(client, "?", "next") for seq in page] == all_seqs(outsider)
    assert "secret.other" in client.get(reverse("audits:event_list")).content.decode()


def test_the_trail_page_neither_counts_the_events_nor_skips_with_offset(client, trail, auditor, small_pages):
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    for url in ("", f"?before={trail[8].seq}", f"?after={trail[2].seq}", "?verb=demo"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("audits:event_list") + url).status_code == 200
        trail_sql = [q["sql"].upper() for q in queries.captured_queries if "AUDITS_AUDITEVENT" in q["sql"].upper()]
        assert trail_sql
        assert not [sql for sql in trail_sql if "COUNT(" in sql or "OFFSET" in sql or "DISTINCT" in sql], trail_sql


def test_the_filter_choices_list_each_verb_and_object_type_of_the_organisation_once(trail, auditor, outsider):
    assert selectors.audit_verb_choices(user=auditor) == ["demo.changed", "demo.special"]
    assert selectors.audit_object_type_choices(user=auditor) == ["core.user"]
    assert selectors.audit_verb_choices(user=outsider) == ["secret.other"]


@pytest.mark.parametrize("cursor", ["before=abc", "after=-3", "before=1.5", "after=99999999999999999999999"])
def test_a_page_cursor_that_is_not_a_sequence_number_is_a_clear_400(client, trail, auditor, cursor):
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(reverse("audits:event_list") + "?" + cursor)
    assert response.status_code == 400
    assert "sequence number" in response.content.decode()


# --- verification, streamed ------------------------------------------------------------------------


def tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audits_auditevent DISABLE TRIGGER audits_auditevent_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audits_auditevent ENABLE TRIGGER audits_auditevent_append_only")


def test_verification_in_small_chunks_reads_every_event_and_finds_a_tampered_one_in_a_later_chunk(trail):
    organisation_id = trail[0].organisation_id
    intact = audit_trail_verify(organisation_id=organisation_id, chunk_size=3)
    assert intact.ok and intact.checked == len(trail)
    victim = trail[10]  # in the fourth chunk of three
    tamper("UPDATE audits_auditevent SET reason = %s WHERE id = %s", ["nothing to see", victim.id])
    result = audit_trail_verify(organisation_id=organisation_id, chunk_size=3)
    assert result.checked == len(trail)
    assert [(b.seq, "altered" in b.problem) for b in result.breaks] == [(victim.seq, True)]
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_trail", "--chunk-size", "2", stdout=out, stderr=err)
    assert f"#{victim.seq}" in err.getvalue()


def test_the_verify_command_refuses_a_chunk_size_below_one(trail):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("verify_audit_trail", "--chunk-size", "0", stdout=io.StringIO())


def test_streamed_records_are_exactly_what_the_chain_hashes_timestamps_included(organisation, auditor):
    """The database writes the timestamp on PostgreSQL: it must be the text core.chain writes,
    also for a whole second (no microseconds) and a time before 1 am."""
    chain = chain_for(organisation.pk)
    prev = "0" * 64
    stamps = [datetime(2025, 3, 1, 0, 0, 0, tzinfo=UTC), datetime(2025, 3, 1, 0, 5, 7, 42, tzinfo=UTC)]
    for seq, stamp in enumerate(stamps, start=1):
        event = AuditEvent(
            chain=chain,
            seq=seq,
            prev_hash=prev,
            timestamp=stamp,
            organisation=organisation,
            actor=auditor,
            actor_username=auditor.username,
            actor_role=auditor.role,
            verb="demo.timed",
            before=normalise_json({"ünï": "✓", "b": [1, 2.5, None]}),
            ip="2001:db8::1",
            origin="web",
        )
        event.hash = compute_hash(event.as_record())
        event.save(force_insert=True)
        prev = event.hash
    AuditChainHead.objects.create(chain=chain, seq=len(stamps), hash=prev)
    records = list(stream_records(AuditEvent.objects.filter(chain=chain).order_by("seq"), chunk_size=1))
    assert [
        r["timestamp"] if isinstance(r["timestamp"], str) else format_timestamp(r["timestamp"]) for r in records
    ] == [
        "2025-03-01T00:00:00.000000Z",
        "2025-03-01T00:05:07.000042Z",
    ]
    assert all(compute_hash(r) == r["hash"] for r in records)
    assert audit_trail_verify(organisation_id=organisation.pk, chunk_size=1).ok


# --- export, streamed ------------------------------------------------------------------------------


def event_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "audits_auditevent"' in q["sql"]]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_export_streams_line_by_line_reading_the_events_only_as_it_is_sent_and_still_verifies(
    client, trail, auditor, tmp_path, fmt
):
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("audits:event_export", args=[fmt]))
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    assert not event_queries(queries), "no event was read before the body is consumed"
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(chunks)
    assert b"_export" in first and event_queries(queries), "the header is made when the body starts"
    rest = list(chunks)
    events = AuditEvent.objects.filter(organisation=auditor.organisation).count()
    lines = 1 + events + (1 if fmt == "csv" else 0)  # header, events (the export's own included); CSV: columns
    assert len(rest) + 1 == lines, "one chunk per line, not one body"
    path = tmp_path / f"trail.{fmt}"
    path.write_bytes(first + b"".join(rest))
    key = tmp_path / "key.pem"
    key.write_text(f"Key id: {checkpoints.checkpoint_key_id()}\n{checkpoints.checkpoint_public_key_pem()}")
    checked = subprocess.run(
        ["python3", "tools/verify_audit_export.py", str(path), "--public-key", str(key)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    if fmt == "jsonl":
        assert json.loads(path.read_text().splitlines()[1])["seq"] == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the parallel check runs on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_verification_split_over_two_processes_finds_what_one_pass_finds(trail, monkeypatch):
    from audits import services

    monkeypatch.setattr(services, "PARALLEL_MIN_EVENTS", 5)
    organisation_id = trail[0].organisation_id
    whole = audit_trail_verify(all_chains=True, chunk_size=2, workers=2)
    assert whole.ok and whole.checked == AuditEvent.objects.count() and whole.chains == 2
    # 13 events in two parts (1-6, 7-): remove the first row of the second part, alter one row
    # in each part and remove the last event of the chain.
    tamper("DELETE FROM audits_auditevent WHERE id = %s", [trail[6].id])
    for victim in (trail[2], trail[9]):
        tamper("UPDATE audits_auditevent SET reason = %s WHERE id = %s", ["rewritten", victim.id])
    tamper("DELETE FROM audits_auditevent WHERE id = %s", [trail[-1].id])
    one = audit_trail_verify(organisation_id=organisation_id, all_chains=True, chunk_size=2, workers=1)
    two = audit_trail_verify(organisation_id=organisation_id, all_chains=True, chunk_size=2, workers=2)
    assert sorted(b.describe() for b in two.breaks) == sorted(b.describe() for b in one.breaks)
    assert {b.seq for b in one.breaks} >= {trail[2].seq, trail[7].seq, trail[9].seq}
    assert any("removed from the end" in b.problem for b in two.breaks)
    assert (two.checked, two.chains) == (one.checked, one.chains)


def test_a_cursor_past_the_oldest_event_shows_an_empty_page_with_the_way_back(client, trail, auditor, small_pages):
    client.force_login(auditor, backend="django.contrib.auth.backends.ModelBackend")
    for cursor in ("before=1", "before=0"):
        html = client.get(reverse("audits:event_list") + "?" + cursor).content.decode()
        assert seqs_on(html) == [] and "No events match" in html
        assert link(html, "prev") == "?after=0" and link(html, "next") is None
