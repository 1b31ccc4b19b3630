"""Reading the whole trail back: verification and export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db import transaction

from audits.chain import ALGORITHM, HASHED_FIELDS, VerifyResult, verify_records
from audits.models import AuditChainHead, AuditEvent
from audits.trail import audit_record, chain_for

EXPORT_FIELDS = ("id", *HASHED_FIELDS, "hash")


def audit_trail_verify(*, organisation_id: int | None = None, all_chains: bool = False,
                       record_result: bool = False, actor=None) -> VerifyResult:
    """Verify one organisation's chain (or every chain) against its stored head."""
    events = AuditEvent.objects.order_by("chain", "seq")
    heads = AuditChainHead.objects.all()
    if not all_chains:
        chain = chain_for(organisation_id)
        events, heads = events.filter(chain=chain), heads.filter(chain=chain)
    result = verify_records((event.as_record() for event in events.iterator(chunk_size=2000)),
                            heads={h.chain: (h.seq, h.hash) for h in heads})
    if record_result:
        audit_record(verb="audit_trail.verified", organisation=organisation_id, actor=actor,
                     object_type="audits.trail", object_id=chain_for(organisation_id),
                     object_repr="audit trail",
                     after={"ok": result.ok, "checked": result.checked,
                            "breaks": [b.describe() for b in result.breaks]})
    return result


def audit_trail_export_record(*, actor, scope: str, label: str, after: dict, organisation=None) -> None:
    """Record that `actor` exported part of the trail (`scope`: "org:<id>", "system:<id>") before
    the file is streamed, so even an interrupted download leaves its trace."""
    with transaction.atomic():
        audit_record(verb="audit_trail.exported", actor=actor, organisation=organisation,
                     object_type="audits.trail", object_id=scope, object_repr=label[:300], after=after)


def _export_rows(queryset) -> Iterator[dict]:
    for event in queryset.order_by("chain", "seq").iterator(chunk_size=2000):
        record = event.as_record()
        record["timestamp"] = event.timestamp
        yield {field: record.get(field) for field in EXPORT_FIELDS}


def export_header(*, complete: bool) -> dict:
    return {"algorithm": ALGORITHM, "hashed_fields": list(HASHED_FIELDS), "complete_chain": complete,
            "documentation": "docs/audit-trail.md"}


def export_jsonl(queryset, *, complete: bool) -> Iterator[str]:
    from audits.chain import format_timestamp

    yield json.dumps({"_export": export_header(complete=complete)}) + "\n"
    for row in _export_rows(queryset):
        row["timestamp"] = format_timestamp(row["timestamp"])
        yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"


def export_csv(queryset, *, complete: bool) -> Iterator[str]:
    """CSV: JSON-typed columns (before, after) hold JSON text; empty cells of ids mean null."""
    from audits.chain import format_timestamp

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    yield buffer.getvalue()
    for row in _export_rows(queryset):
        buffer.seek(0)
        buffer.truncate()
        row["timestamp"] = format_timestamp(row["timestamp"])
        for field in ("before", "after"):
            row[field] = json.dumps(row[field], ensure_ascii=False, sort_keys=True)
        writer.writerow(["" if row[f] is None else row[f] for f in EXPORT_FIELDS])
        yield buffer.getvalue()
