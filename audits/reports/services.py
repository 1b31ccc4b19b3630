"""Writes to the Annex IV technical documentation: the text a person adds to each point.

Each changed point is one audit event (who, which point, the text's sha256 and length before and
after; not the text itself, which stays on the entry). Saving is optimistic: the editor sends, per
point, the revision they started from and the sha256 of the text they saw. A point they did not
change is left alone; a point they changed that someone else saved meanwhile is a Conflict, and
nothing of that save is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from audits.reports.annex_iv import annex_iv_points, annex_iv_text_normalise, annex_iv_text_sha256
from audits.reports.models import AnnexIVEntry
from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from core.permissions import has_permission
from core.trail import audit_record

MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class PointEdit:
    """One point as the editor sends it: the text now, and what it was based on."""

    point: str
    text: str
    based_on_revision: int
    based_on_sha256: str


def _check(actor, system, edits: list[PointEdit]) -> None:
    if getattr(actor, "organisation_id", None) != system.organisation_id:
        raise NotFound("No such system.")
    if not has_permission(actor, "documentation.edit"):
        raise NotAllowed("Your role may read the technical documentation but not edit it.")
    known = set(annex_iv_points())
    for edit in edits:
        if edit.point not in known:
            raise ValidationFailed(f"Annex IV has no point {edit.point!r}.", code="unknown_point")
        if len(annex_iv_text_normalise(edit.text)) > MAX_TEXT_CHARS:
            raise ValidationFailed(
                f"The text of point {edit.point} is longer than {MAX_TEXT_CHARS:,} characters; shorten it or "
                "attach the longer document as evidence of the obligation and refer to it.",
                code="text_too_long",
                extra={"point": edit.point},
            )


def _summary(entry: AnnexIVEntry | None) -> dict:
    text = entry.text if entry else ""
    return {"revision": entry.revision if entry else 0, "sha256": annex_iv_text_sha256(text), "chars": len(text)}


def annex_iv_document_save(*, actor, system, edits: list[PointEdit], reason: str = "") -> list[str]:
    """Save the points the editor changed; return them in Annex IV order (empty: nothing changed)."""
    _check(actor, system, edits)
    changed = [e for e in edits if annex_iv_text_sha256(e.text) != e.based_on_sha256]
    if not changed:
        return []
    try:
        with transaction.atomic():
            # The rows are locked so two editors saving at once cannot both pass the revision check.
            rows = {
                r.point: r
                for r in AnnexIVEntry.objects.select_for_update().filter(
                    system=system, point__in=[e.point for e in changed]
                )
            }
            stale = [e.point for e in changed if _summary(rows.get(e.point))["revision"] != e.based_on_revision]
            if stale:
                raise _stale(stale, rows)
            now = timezone.now()
            for edit in changed:
                _save_point(actor, system, rows.get(edit.point), edit, now, reason)
    except IntegrityError:
        # Another editor created the first entry of the same point between our read and our insert.
        raise Conflict(
            "Someone else saved this point at the same moment. Your text is kept below; save again.",
            code="annex_iv_point_changed",
            extra={"points": [e.point for e in changed]},
        ) from None
    order = {p: i for i, p in enumerate(annex_iv_points())}
    return sorted((e.point for e in changed), key=order.__getitem__)


def _stale(points: list[str], rows: dict[str, AnnexIVEntry]) -> Conflict:
    names = ", ".join(points)
    return Conflict(
        f"Someone else saved point{'s' if len(points) > 1 else ''} {names} while you were editing. Nothing was "
        "saved: your text is kept below, beside the text now saved. Merge them and save again.",
        code="annex_iv_point_changed",
        extra={"points": points, "current": {p: _summary(rows.get(p)) for p in points}},
    )


def _save_point(actor, system, entry: AnnexIVEntry | None, edit: PointEdit, now, reason: str) -> None:
    before = _summary(entry)
    if entry is None:
        entry = AnnexIVEntry(organisation_id=system.organisation_id, system=system, point=edit.point)
    entry.text = annex_iv_text_normalise(edit.text)
    entry.revision = before["revision"] + 1
    entry.edited_by, entry.edited_at = actor, now
    entry.save()
    audit_record(
        verb="annex_iv.point_edited",
        target=entry,
        actor=actor,
        before=before,
        after={"point": edit.point, **_summary(entry)},
        reason=reason,
    )
