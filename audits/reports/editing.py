"""What the Annex IV editing page shows per point: the point as assembled, and the text area's
content with the revision and hash it is based on. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field

from audits.reports.annex_iv import AnnexIV, Item, Section, annex_iv_text_sha256


@dataclass
class EditRow:
    item: Item
    text: str  # what the text area holds: the saved text, or the editor's own after a refusal
    revision: int  # the revision the next save is based on
    base_sha256: str
    conflict: bool = False  # someone else saved this point while the editor was writing
    history: list = field(default_factory=list)  # the point's trail events, newest first


@dataclass
class EditSection:
    section: Section
    rows: list[EditRow]


def annex_iv_edit_rows(*, document: AnnexIV, posted=None, conflict: list[str] | tuple = ()) -> list[EditSection]:
    """After a refused save (`posted`), the editor's text is kept. On a point someone else saved
    meanwhile, the row is based on the saved revision, so saving again is a deliberate choice."""
    history = _history(document)
    sections = []
    for section in document.sections:
        rows = []
        for item in section.items:
            row = EditRow(item, item.written, item.revision, annex_iv_text_sha256(item.written))
            row.history = history.get(str(item.entry_id), [])
            if posted is not None and f"text-{item.slug}" in posted:
                row.text = posted[f"text-{item.slug}"]
                if item.point in conflict:
                    row.conflict = True
                else:
                    rev, base = posted.get(f"rev-{item.slug}", ""), posted.get(f"base-{item.slug}", "")
                    row.revision = int(rev) if rev.isdigit() else item.revision
                    row.base_sha256 = base if len(base) == 64 else row.base_sha256
            rows.append(row)
        sections.append(EditSection(section, rows))
    return sections


HISTORY_PER_POINT = 10


def _history(document: AnnexIV) -> dict[str, list]:
    """The trail events of the document's written points (object id -> newest first, capped)."""
    from core.models import AuditEvent

    ids = [str(item.entry_id) for item in document.items if item.entry_id]
    events = AuditEvent.objects.filter(
        organisation_id=document.system.organisation_id,
        object_type="audits.annexiventry",
        object_id__in=ids,
        verb="annex_iv.point_edited",
    ).order_by("-seq")
    history: dict[str, list] = {}
    for event in events:
        if len(history.setdefault(event.object_id, [])) < HISTORY_PER_POINT:
            history[event.object_id].append(event)
    return history
