"""Reading the whole trail back: verification, checkpoints and export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from audits import checkpoints
from audits.certification import signing
from core.chain import (
    ALGORITHM,
    GENESIS_HASH,
    HASHED_FIELDS,
    Anchor,
    Break,
    VerifyResult,
    check_anchors,
    format_timestamp,
    verify_records,
)
from core.exports import neutralise_reversibly
from core.models import AuditChainHead, AuditEvent
from core.trail import audit_record, chain_for

logger = logging.getLogger(__name__)

EXPORT_FIELDS = ("id", *HASHED_FIELDS, "hash")
EXPORT_FORMAT = "ai-portal-audit-export/2"
EXPORT_CHUNK_SIZE = 2000
# How the trail CSV keeps formulas from running without losing the hashed values: see core.exports.
CSV_CELL_ESCAPING = "apostrophe-reversible-v1"


# --- verification ------------------------------------------------------------------------------

VERIFY_CHUNK_SIZE = 2000
RECORD_FIELDS = ("id", *HASHED_FIELDS, "hash")
CANONICAL_TIMESTAMP_SQL = (
    """to_char("audits_auditevent"."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
)


def stream_records(events, *, chunk_size: int = VERIFY_CHUNK_SIZE) -> Iterator[dict]:
    """The events of a queryset as the records `core.chain` hashes, in the queryset's order, read
    `chunk_size` rows at a time with only the columns hashing needs and no model instances, so
    memory stays flat whatever the length of the chain.

    On PostgreSQL the rows come from a server-side cursor (FETCH `chunk_size` at a time) without
    Django's per-value converters, and the database writes the timestamp in the canonical form
    (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, what `core.chain.format_timestamp` writes; `core.chain` hashes
    a timestamp given as text as it is): together about half the time of `QuerySet.iterator`
    over a million events. Elsewhere it is `QuerySet.iterator` over `values_list`."""
    if connection.vendor != "postgresql":
        for row in events.values_list(*RECORD_FIELDS).iterator(chunk_size=chunk_size):
            yield dict(zip(RECORD_FIELDS, row, strict=True))
        return
    fields = list(RECORD_FIELDS)
    fields[fields.index("timestamp")] = "canonical_timestamp"
    rows = events.annotate(canonical_timestamp=RawSQL(CANONICAL_TIMESTAMP_SQL, ())).values_list(*fields)
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # e.g. chain__in=[]: nothing to read
        return
    json_fields = [name for name in RECORD_FIELDS if name in ("before", "after")]
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        # Inside a transaction the cursor needs no WITH HOLD copy of the result on the server.
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk_size):
            for row in batch:
                record = dict(zip(RECORD_FIELDS, row, strict=True))
                for name in json_fields:  # jsonb arrives as text, as Django's JSONField reads it
                    if record[name] is not None:
                        record[name] = json.loads(record[name])
                yield record


def audit_trail_verify(
    *,
    organisation_id: int | None = None,
    all_chains: bool = False,
    record_result: bool = False,
    actor=None,
    chunk_size: int = VERIFY_CHUNK_SIZE,
    workers: int = 1,
) -> VerifyResult:
    """Verify one organisation's chain (or every chain): its links and hashes, its stored head,
    and every anchor kept outside the database -- the signed checkpoints and the audit anchor
    signed into each certificate. Every break is listed, not only the first.

    The events are streamed (`stream_records`): `chunk_size` rows at a time from a server-side
    cursor on PostgreSQL, only the hashed columns, no model instances, so memory stays flat
    whatever the length of the chain.

    `workers` > 1 (the management command; never from a worker's task, whose pool processes may
    not have children) splits long chains into that many parts checked by forked processes on
    PostgreSQL, each part starting from the stored row before it: the same breaks as one pass."""
    events = AuditEvent.objects.order_by("chain", "seq")
    heads = AuditChainHead.objects.all()
    scope = None if all_chains else {chain_for(organisation_id)}
    if scope:
        events, heads = events.filter(chain__in=scope), heads.filter(chain__in=scope)
    head_map = {h.chain: (h.seq, h.hash) for h in heads}
    if workers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        result = _verify_in_parallel(scope, head_map, chunk_size=chunk_size, workers=workers)
    else:
        result = verify_records(stream_records(events, chunk_size=chunk_size), heads=head_map)
    anchors, anchor_breaks = _anchors(scope=scope, organisation_id=None if all_chains else organisation_id)
    breaks = [*result.breaks, *anchor_breaks, *_anchor_mismatches(anchors, head_map)]
    result = VerifyResult(checked=result.checked, chains=result.chains, breaks=breaks, anchors_checked=len(anchors))
    if record_result:
        audit_record(
            verb="audit_trail.verified",
            organisation=organisation_id,
            actor=actor,
            object_type="core.trail",
            object_id=chain_for(organisation_id),
            object_repr="audit trail",
            after={
                "ok": result.ok,
                "checked": result.checked,
                "anchors_checked": result.anchors_checked,
                "breaks": [b.describe() for b in result.breaks],
            },
        )
    return result


PARALLEL_MIN_EVENTS = 50_000


def _verify_in_parallel(scope, head_map, *, chunk_size: int, workers: int) -> VerifyResult:
    """verify_records over every chain in `scope` (None: all), in `workers` forked processes."""
    import multiprocessing

    from django.db import connections

    long_chains = sorted(c for c, (seq, _) in head_map.items() if seq >= PARALLEL_MIN_EVENTS)
    rest_heads = {c: head for c, head in head_map.items() if c not in long_chains}
    present = set(_chain_names()) if scope is None else set(scope)
    parts: list[tuple] = [("rest", sorted(present - set(long_chains)), None, None, rest_heads)]
    for chain in long_chains:
        end = head_map[chain][0]
        bounds = [1 + end * k // workers for k in range(workers)]
        for k, low in enumerate(bounds):
            high = bounds[k + 1] - 1 if k + 1 < workers else None  # the last part is open-ended
            parts.append((chain, None, low, high, {chain: head_map[chain]} if high is None else {}))
    connections.close_all()  # each forked process opens its own connection
    with multiprocessing.get_context("fork").Pool(min(workers, len(parts))) as pool:
        results = pool.map(partial(_verify_part, scope=scope, chunk_size=chunk_size), parts)
    breaks = sorted(
        (b for r in results for b in r.breaks if b.event_id is not None), key=lambda b: (b.chain, b.seq or 0)
    )
    breaks += [b for r in results for b in r.breaks if b.event_id is None]
    chains = len(long_chains) + results[0].chains
    return VerifyResult(checked=sum(r.checked for r in results), chains=chains, breaks=breaks)


def _chain_names() -> list[str]:
    """Every chain that has events, by a loose scan of the (chain, seq) index: one probe per chain."""
    sql = """
        WITH RECURSIVE found(chain) AS (
            SELECT MIN(chain) FROM audits_auditevent
            UNION ALL
            SELECT (SELECT MIN(chain) FROM audits_auditevent WHERE chain > found.chain) FROM found
            WHERE found.chain IS NOT NULL
        )
        SELECT chain FROM found WHERE chain IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def _verify_part(part: tuple, *, scope, chunk_size: int) -> VerifyResult:
    chain, short_chains, low, high, heads = part
    events = AuditEvent.objects.order_by("chain", "seq")
    if scope:
        events = events.filter(chain__in=scope)
    if chain == "rest":  # every short chain (named: an exclusion would walk the long ones' rows too)
        return verify_records(stream_records(events.filter(chain__in=short_chains), chunk_size=chunk_size), heads=heads)
    events = events.filter(chain=chain, seq__gte=low)
    if high is not None:
        events = events.filter(seq__lte=high)
    before = AuditEvent.objects.filter(chain=chain, seq__lt=low).order_by("-seq").values_list("seq", "hash").first()
    return verify_records(
        stream_records(events, chunk_size=chunk_size), heads=heads, after={chain: before} if before else None
    )


def _anchors(*, scope: set[str] | None, organisation_id: int | None) -> tuple[list[Anchor], list[Break]]:
    """The anchors of the chains in `scope` (None: all) that verify, and a break for each that does not."""
    anchors, breaks = [], []
    public_key = checkpoints.checkpoint_public_key()
    for stored in checkpoints.read_all():
        chain = stored.payload.get("chain")
        if scope is not None and chain not in scope and not stored.problem:
            continue
        problem = checkpoints.signature_problem(stored, public_key)
        if problem:
            breaks.append(
                Break(
                    chain if isinstance(chain, str) else "?",
                    stored.payload.get("seq"),
                    None,
                    f"checkpoint {stored.origin}: {problem}",
                )
            )
            continue
        payload = stored.payload
        anchors.append(
            Anchor(
                payload["chain"],
                payload["seq"],
                payload["hash"],
                f"the checkpoint signed {payload.get('taken_at')} ({stored.origin})",
            )
        )
    certificate_anchors, certificate_breaks = _certificate_anchors(scope=scope, organisation_id=organisation_id)
    return [*anchors, *certificate_anchors], [*breaks, *certificate_breaks]


def _certificate_anchors(*, scope, organisation_id) -> tuple[list[Anchor], list[Break]]:
    """Certificates signed since payload version 2 carry the chain head at signing time."""
    from audits.certification.models import Certificate

    certificates = Certificate.objects.filter(document__payload__audit_anchor__isnull=False)
    if scope is not None:
        certificates = certificates.filter(organisation_id=organisation_id)
    current_key = None
    anchors, breaks = [], []
    for certificate in certificates.only("id", "document", "key_id").iterator(chunk_size=500):
        anchor = certificate.document["payload"]["audit_anchor"]
        current_key = current_key or signing.key_id()
        if certificate.document.get("key_id") != current_key:
            continue  # signed before a key rotation: its signature can only be checked with the old public key
        verified = signing.verify_document(certificate.document)
        if not verified.ok:
            breaks.append(
                Break(
                    anchor.get("chain", "?"),
                    anchor.get("seq"),
                    None,
                    f"certificate {certificate.pk} as stored no longer verifies ({verified.reason}): "
                    "it was altered in the database",
                )
            )
            continue
        anchors.append(Anchor(anchor["chain"], anchor["seq"], anchor["hash"], f"certificate {certificate.pk}"))
    return anchors, breaks


def _anchor_mismatches(anchors: list[Anchor], heads: dict[str, tuple[int, str]]) -> list[Break]:
    stored: dict[tuple[str, int], str] = {}
    by_chain: dict[str, set[int]] = {}
    for anchor in anchors:
        by_chain.setdefault(anchor.chain, set()).add(anchor.seq)
    for chain, seqs in by_chain.items():
        for seq, event_hash in AuditEvent.objects.filter(chain=chain, seq__in=sorted(seqs)).values_list("seq", "hash"):
            stored[(chain, seq)] = event_hash
    return check_anchors(anchors, stored, {chain: seq for chain, (seq, _) in heads.items()})


# --- checkpoints -------------------------------------------------------------------------------


def audit_trail_checkpoint_write() -> list[dict]:
    """Sign the head of every chain that moved since its last checkpoint and append it to the
    checkpoint file (and the locked S3 bucket, when configured). Returns the new checkpoints.

    No audit event: a checkpoint changes nothing in the database, and an event would move the
    head it has just signed, so every run would find every chain moved. The checkpoint itself is
    the record (signed, outside the database)."""
    taken_at = timezone.now()
    with checkpoints.locked_file() as path:
        last = checkpoints.last_by_chain(checkpoints.read_file(path))
        documents = [
            checkpoints.checkpoint_document(chain=head.chain, seq=head.seq, head_hash=head.hash, taken_at=taken_at)
            for head in AuditChainHead.objects.order_by("chain")
            if last.get(head.chain) != (head.seq, head.hash)
        ]
        if documents:
            checkpoints.append_to_file(path, documents)
    checkpoints.write_to_s3(documents)
    if documents:
        logger.info("Audit trail checkpoint: %d chain head(s) signed", len(documents))
    return documents


# --- export ------------------------------------------------------------------------------------


def audit_trail_export_record(*, actor, scope: str, label: str, after: dict, organisation=None) -> None:
    """Record that `actor` exported part of the trail (`scope`: "org:<id>", "system:<id>") before
    the file is streamed, so even an interrupted download leaves its trace."""
    with transaction.atomic():
        audit_record(
            verb="audit_trail.exported",
            actor=actor,
            organisation=organisation,
            object_type="core.trail",
            object_id=scope,
            object_repr=label[:300],
            after=after,
        )


@dataclass(frozen=True)
class ExportSnapshot:
    """What an export contains, fixed before the first line is written: the chain's head read
    first bounds the events, so events appended while the file streams are left out and the
    count, digest and head in the signed header describe exactly the lines that follow."""

    events: object  # the bounded QuerySet, in chain order
    chain: str
    head: dict
    count: int
    events_sha256: str


def export_snapshot(queryset, *, chain: str) -> ExportSnapshot:
    head = AuditChainHead.objects.filter(chain=chain).values("seq", "hash").first() or {"seq": 0, "hash": GENESIS_HASH}
    events = queryset.filter(chain=chain, seq__lte=head["seq"]).order_by("seq")
    count, digest = events_digest(events.values_list("hash", flat=True).iterator(chunk_size=5000))
    return ExportSnapshot(events=events, chain=chain, head=head, count=count, events_sha256=digest)  # type: ignore[arg-type]  # a values() row is a plain dict


def events_digest(hashes: Iterable[str]) -> tuple[int, str]:
    """(count, SHA-256 of every event hash in file order, each followed by a newline)."""
    digest, count = hashlib.sha256(), 0
    for event_hash in hashes:
        digest.update(event_hash.encode("ascii") + b"\n")
        count += 1
    return count, digest.hexdigest()


def export_header(*, complete: bool, snapshot: ExportSnapshot | None = None, actor=None, **extra) -> dict:
    """The header every export starts with. Signed (`export_header_line`), it fixes what the file
    must contain: the chain, its head at export time, how many events and their digest."""
    header = {
        "format": EXPORT_FORMAT,
        "algorithm": ALGORITHM,
        "hashed_fields": list(HASHED_FIELDS),
        "complete_chain": complete,
        "documentation": "docs/audit-trail.md",
    }
    if snapshot is not None:
        header.update(
            chain=snapshot.chain,
            chain_head_at_export=snapshot.head,
            events=snapshot.count,
            events_sha256=snapshot.events_sha256,
            exported_at=format_timestamp(timezone.now()),
            exported_by=getattr(actor, "username", "") or "",
        )
    header.update(extra)
    return header


def export_header_line(header: dict) -> dict:
    """The first line of an export: the header and the checkpoint key's signature over its
    canonical JSON (the same rule as certificates: signing.canonical_bytes)."""
    return {"_export": header, "_signature": checkpoints.sign_bytes(signing.canonical_bytes(header))}


def _export_rows(events) -> Iterator[dict]:
    """The rows of the file, streamed like verification (`stream_records`): a bounded number of
    rows in memory whatever the size of the chain."""
    for record in stream_records(events, chunk_size=EXPORT_CHUNK_SIZE):
        if not isinstance(record["timestamp"], str):
            record["timestamp"] = format_timestamp(record["timestamp"])
        yield record


def export_jsonl(queryset, *, complete: bool, chain: str, actor=None, **extra) -> Iterator[str]:
    snapshot = export_snapshot(queryset, chain=chain)
    header = export_header(complete=complete, snapshot=snapshot, actor=actor, **extra)
    yield json.dumps(export_header_line(header), ensure_ascii=False, sort_keys=True) + "\n"
    for row in _export_rows(snapshot.events):
        yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"


def export_csv(queryset, *, complete: bool, chain: str, actor=None, **extra) -> Iterator[str]:
    """CSV: a first row ("_export", the signed header as JSON), the column names, then one row per
    event. JSON-typed columns (before, after) hold JSON text; empty id cells mean null. Text cells
    are neutralised reversibly against spreadsheet formulas (core.exports): the verifier strips
    the one added apostrophe and gets the exact hashed value back."""
    snapshot = export_snapshot(queryset, chain=chain)
    header = export_header(
        complete=complete, snapshot=snapshot, actor=actor, csv_cell_escaping=CSV_CELL_ESCAPING, **extra
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(["_export", json.dumps(export_header_line(header), ensure_ascii=False, sort_keys=True)])
    yield line(EXPORT_FIELDS)
    for row in _export_rows(snapshot.events):
        for field in ("before", "after"):
            row[field] = json.dumps(row[field], ensure_ascii=False, sort_keys=True)
        yield line([_csv_cell(row[f]) for f in EXPORT_FIELDS])


def _csv_cell(value) -> str:
    if value is None:
        return ""
    return neutralise_reversibly(value) if isinstance(value, str) else str(value)
