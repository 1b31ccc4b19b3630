"""Reading the Annex IV editing form: per point a text area (`text-<slug>`) and the revision and
text hash the editor started from (`rev-<slug>`, `base-<slug>`, hidden)."""

from __future__ import annotations

import re

from audits.reports.annex_iv import annex_iv_points, point_slug
from audits.reports.services import PointEdit
from core.errors import ValidationFailed

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def annex_iv_edits_from_post(data) -> list[PointEdit]:
    """The points present in the POST, in Annex IV order; a malformed hidden field is a 400."""
    edits = []
    for point in annex_iv_points():
        slug = point_slug(point)
        if f"text-{slug}" not in data:
            continue
        revision, base = data.get(f"rev-{slug}", ""), data.get(f"base-{slug}", "")
        if not revision.isdigit() or not _SHA256.match(base):
            raise ValidationFailed(
                f"The form for point {point} is incomplete (reload the page; your text is kept below).",
                code="malformed_form",
            )
        edits.append(PointEdit(point, data[f"text-{slug}"], int(revision), base))
    return edits
