"""One AI system's part of the audit trail, exported with its hash chain.

The organisation has one chain; a system's events are scattered through it between other
systems' and people's events. The export is therefore a filtered view: every event keeps its own
`seq`, `prev_hash` and `hash`, so each event's hash can be recomputed, and where two exported
events are consecutive in the chain the link between them can be checked too
(`tools/verify_audit_export.py` does both; see docs/audit-trail.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import Q, QuerySet

from audits.services import EXPORT_FIELDS, export_header, export_header_line, export_snapshot
from core.chain import format_timestamp
from core.models import AuditEvent
from core.trail import chain_for


def system_trail_object_ids(*, system) -> dict[str, set[str]]:
    """object_type -> ids of everything about the system: itself, its versions and datasets
    (also deleted ones, found through their registration events), runs, findings, comments,
    submissions, conditions, conflicts, certificates, determinations, obligations, risks and the
    person-written points of its Annex IV documentation."""
    from audits.certification.models import Certificate, Condition, ConflictOfInterest, FindingComment, Submission
    from audits.models import AnnexIVEntry, Finding, ValidationRun
    from governance.models import Determination, Obligation, Risk

    def ids(queryset) -> set[str]:
        return {str(pk) for pk in queryset.values_list("pk", flat=True)}

    return {
        "models_registry.aisystem": {str(system.pk)},
        "models_registry.modelversion": ids(system.versions.all()) | _registered_ids(system, "model_version"),
        "models_registry.dataset": ids(system.datasets.all()) | _registered_ids(system, "dataset"),
        "audits.validationrun": ids(ValidationRun.objects.filter(system=system)),
        "audits.finding": ids(Finding.objects.filter(system=system)),
        "audits.findingcomment": ids(FindingComment.objects.filter(submission__system=system)),
        "audits.submission": ids(Submission.objects.filter(system=system)),
        "audits.condition": ids(Condition.objects.filter(submission__system=system)),
        "audits.conflictofinterest": ids(ConflictOfInterest.objects.filter(system=system)),
        "audits.certificate": ids(Certificate.objects.filter(system=system)),
        "governance.determination": ids(Determination.objects.filter(system=system)),
        "governance.obligation": ids(Obligation.objects.filter(system=system)),
        "governance.risk": ids(Risk.objects.filter(systems=system)),
        "audits.annexiventry": ids(AnnexIVEntry.objects.filter(system=system)),
        "core.trail": {f"system:{system.pk}"},  # earlier exports of this very trail
    }


def _registered_ids(system, kind: str) -> set[str]:
    """Versions or datasets registered for the system, including deleted ones (their rows are
    gone, their registration events name the system, under any name it has had)."""
    events = AuditEvent.objects.filter(
        organisation_id=system.organisation_id,
        verb=f"{kind}.registered",
        after__system__in=sorted(_system_names(system)),
    )
    return set(events.values_list("object_id", flat=True))


def _system_names(system) -> set[str]:
    names = {system.name}
    renames = AuditEvent.objects.filter(
        object_type="models_registry.aisystem", object_id=str(system.pk), verb="system.updated"
    ).values_list("before", "after")
    for before, after in renames:
        for summary in (before, after):
            if isinstance(summary, dict) and isinstance(summary.get("name"), str):
                names.add(summary["name"])
    return names


def system_trail_events(*, system) -> QuerySet:
    """The system's events, in chain order."""
    match = Q()
    for object_type, object_ids in system_trail_object_ids(system=system).items():
        if object_ids:
            match |= Q(object_type=object_type, object_id__in=sorted(object_ids))
    return (
        AuditEvent.objects.filter(organisation_id=system.organisation_id, chain=chain_for(system.organisation_id))
        .filter(match)
        .order_by("seq")
    )


def system_trail_header(*, system, snapshot, actor) -> dict:
    chain = snapshot.chain
    return export_header(
        complete=False,
        snapshot=snapshot,
        actor=actor,
        scope="system",
        note=(
            f"A FILTERED VIEW of the organisation's hash chain {chain}: only the {snapshot.count} events about the "
            f"AI system {system.name!r} (id {system.pk}) and its versions, datasets, validation runs, "
            "findings, submissions, certificates, determinations, obligations and risks. Events of the "
            "chain in between are left out: each event's hash can be checked, and the link to the "
            "previous event only where both are in this file (consecutive seq)."
        ),
        system={"id": system.pk, "name": system.name},
    )


def system_trail_jsonl(*, system, actor) -> Iterator[str]:
    # Bounded by the head read first (export_snapshot): events appended while the file streams are
    # left out, so the count, digest and head in the signed header describe exactly the lines that follow.
    snapshot = export_snapshot(system_trail_events(system=system), chain=chain_for(system.organisation_id))
    header = system_trail_header(system=system, snapshot=snapshot, actor=actor)
    yield json.dumps(export_header_line(header), ensure_ascii=False, sort_keys=True) + "\n"
    for event in snapshot.events.iterator(chunk_size=2000):
        record = event.as_record()
        record["timestamp"] = format_timestamp(event.timestamp)
        yield (
            json.dumps({field: record.get(field) for field in EXPORT_FIELDS}, ensure_ascii=False, sort_keys=True) + "\n"
        )
