"""The Annex IV technical documentation as a Word document (python-docx), for providers who finish
or hand on the documentation outside the portal: per point a heading, what the portal filled from
the record, the text a person wrote, and the gaps; a footer names the system, its current version
and when the file was made."""

from __future__ import annotations

import io

from audits.reports.annex_iv import AnnexIV, Item, annex_iv_build


def annex_iv_docx(*, system) -> bytes:
    from docx import Document  # imported only when a Word file is made
    from docx.shared import Pt

    document = annex_iv_build(system=system)
    doc = Document()
    doc.core_properties.title = f"Annex IV technical documentation (draft): {system.name}"
    doc.core_properties.author = system.organisation.name
    doc.styles["Normal"].font.size = Pt(10)
    doc.add_heading(f"Technical documentation (Annex IV): {system.name}", level=0)
    doc.add_paragraph(
        f"Draft assembled by the portal on {document.generated_at:%Y-%m-%d %H:%M} UTC · "
        f"{system.organisation.name} · classification: {document.classification}"
    )
    doc.add_paragraph(_required_text(document))
    for section in document.sections:
        doc.add_heading(f"{section.number}. {section.title}", level=1)
        for item in section.items:
            _add_item(doc, item)
    _add_footer(doc, document)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _required_text(document: AnnexIV) -> str:
    if document.required:
        return (
            "This system is high-risk: Art. 11(1) requires technical documentation with the content of "
            "Annex IV, drawn up before it is placed on the market or put into service and kept up to date. "
            f"{document.gap_count} gaps remain to be closed."
        )
    return (
        "Not required: Annex IV technical documentation is required for high-risk systems (Art. 11(1)); "
        "this draft is for information."
    )


def _add_item(doc, item: Item) -> None:
    doc.add_heading(f"{item.point} {item.title} [{item.status_label}]", level=2)
    if item.not_applicable:
        doc.add_paragraph(item.not_applicable)
    if item.facts or item.tables or item.notes:
        doc.add_heading("Filled by the portal from the record", level=3)
    for label, value in item.facts:
        paragraph = doc.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(str(value))
    for table in item.tables:
        if table.caption:
            doc.add_paragraph().add_run(table.caption).italic = True
        grid = doc.add_table(rows=1, cols=len(table.headers))
        grid.style = "Table Grid"
        for cell, header in zip(grid.rows[0].cells, table.headers, strict=True):
            cell.text = header
        for row in table.rows:
            for cell, value in zip(grid.add_row().cells, row, strict=True):
                cell.text = str(value)
    for note in item.notes:
        doc.add_paragraph(note)
    doc.add_heading("Written by the provider", level=3)
    if item.written:
        for paragraph in item.written.split("\n\n"):
            doc.add_paragraph(paragraph)
        who = item.edited_by.display_name if item.edited_by else "someone"
        doc.add_paragraph(f"Last edited by {who} on {item.edited_at:%Y-%m-%d %H:%M} UTC (revision {item.revision}).")
    else:
        doc.add_paragraph("Nothing written yet.")
    if item.gaps:
        doc.add_heading("Gaps", level=3)
        for gap in item.gaps:
            doc.add_paragraph(f"GAP — {gap}", style="List Bullet")


def _add_footer(doc, document: AnnexIV) -> None:
    system = document.system
    version = system.versions.order_by("-created_at").first()
    label = f"version {version.version_label}" if version else "no model version registered"
    footer = doc.sections[0].footer.paragraphs[0]
    footer.text = (
        f"{system.name} · {label} · Annex IV draft generated {document.generated_at:%Y-%m-%d %H:%M} UTC by the portal"
    )
