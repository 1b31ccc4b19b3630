"""The register as CSV (streamed) or XLSX (openpyxl, write-only mode)."""

from __future__ import annotations

import io

from core.exports import csv_writer, xlsx_row

EXPORT_COLUMNS = (
    "reference",
    "title",
    "category",
    "source",
    "systems",
    "owner",
    "likelihood",
    "impact",
    "inherent_score",
    "residual_likelihood",
    "residual_impact",
    "residual_score",
    "current_score",
    "above_appetite",
    "controls",
    "treatment",
    "acceptance_justification",
    "status",
    "due_date",
    "next_review_date",
    "overdue",
    "source_type",
    "source_id",
    "created_at",
    "updated_at",
)


def export_row(risk) -> list:
    return [
        risk.reference,
        risk.title,
        risk.get_category_display(),
        risk.get_source_display(),
        "; ".join(s.name for s in risk.systems.all()),
        risk.owner.username,
        risk.likelihood,
        risk.impact,
        risk.inherent_score,
        risk.residual_likelihood,
        risk.residual_impact,
        risk.residual_score,
        risk.current_score,
        "yes" if risk.above_appetite else "no",
        "; ".join(c.name for c in risk.controls.all()),
        risk.get_treatment_display(),
        risk.acceptance_justification,
        risk.get_status_display(),
        risk.due_date,
        risk.next_review_date,
        "yes" if risk.is_overdue else "no",
        risk.source_type,
        risk.source_id,
        risk.created_at.isoformat(timespec="seconds"),
        risk.updated_at.isoformat(timespec="seconds"),
    ]


def _chunks(queryset, size: int = 500):
    """Rows in pages of `size`, each page with its systems and controls prefetched (iterator()
    with prefetch_related would need Django to batch the same way)."""
    ids = list(queryset.values_list("pk", flat=True))
    model_qs = queryset.select_related("owner").prefetch_related("systems", "controls")
    for start in range(0, len(ids), size):
        order = {pk: i for i, pk in enumerate(ids[start : start + size])}
        yield from sorted(model_qs.filter(pk__in=order), key=lambda r: order[r.pk])


def csv_rows(queryset):
    # Every cell through core.exports: text that a spreadsheet would run as a formula is defused.
    writer = csv_writer()
    yield writer.writerow(EXPORT_COLUMNS)
    for risk in _chunks(queryset):
        yield writer.writerow(export_row(risk))


def xlsx_bytes(queryset) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Risk register")
    header = []
    for name in EXPORT_COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for risk in _chunks(queryset):
        # Typed cells (numbers, dates) rather than text; strings escaped like the CSV.
        sheet.append(xlsx_row(export_row(risk)))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
