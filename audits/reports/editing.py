"""What the Annex IV editing page shows per point: the point as assembled, and the text area's
content with the revision and hash it is based on. Reads only."""

from __future__ import annotations

from dataclasses import dataclass

from audits.reports.annex_iv import AnnexIV, Item, Section, annex_iv_text_sha256


@dataclass
class EditRow:
    item: Item
    text: str  # what the text area holds: the saved text, or the editor's own after a refusal
    revision: int  # the revision the next save is based on
    base_sha256: str
    conflict: bool = False  # someone else saved this point while the editor was writing


@dataclass
class EditSection:
    section: Section
    rows: list[EditRow]


def annex_iv_edit_rows(*, document: AnnexIV, posted=None, conflict: list[str] | tuple = ()) -> list[EditSection]:
    """After a refused save (`posted`), the editor's text is kept. On a point someone else saved
    meanwhile, the row is based on the saved revision, so saving again is a deliberate choice."""
    sections = []
    for section in document.sections:
        rows = []
        for item in section.items:
            row = EditRow(item, item.written, item.revision, annex_iv_text_sha256(item.written))
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
