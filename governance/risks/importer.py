"""CSV import of risks, with a dry run that reports every row it would reject and why.

The header (first line, any order, case-insensitive):

  required: title, category, systems, likelihood, impact
  optional: description, source, owner, residual_likelihood, residual_impact, residual_reason,
            controls, treatment, acceptance_justification, due_date, next_review_date, status

- category / source / treatment / status: the value or its label ("bias" or "Bias and discrimination");
- systems and controls: names separated by ";" (they must exist in the organisation);
- owner: a user name of the organisation (default: the importing user);
- likelihood, impact and residual ones: whole numbers 1–5; dates: YYYY-MM-DD.

An unknown or missing column rejects the whole file. Applying is one transaction: mode
"all_or_nothing" writes nothing if any row is rejected; "valid_only" writes every valid row. A
row is written whole or not at all.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from core.errors import NotAllowed, PortalError, ValidationFailed
from core.models import User
from core.permissions import has_permission
from governance.risks import services
from governance.risks.choices import RiskCategory, RiskSource, RiskStatus, Treatment
from governance.risks.models import Control
from models_registry.models import AISystem

REQUIRED_COLUMNS = ("title", "category", "systems", "likelihood", "impact")
OPTIONAL_COLUMNS = ("description", "source", "owner", "residual_likelihood", "residual_impact", "residual_reason",
                    "controls", "treatment", "acceptance_justification", "due_date", "next_review_date", "status")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MODES = ("all_or_nothing", "valid_only")


@dataclass
class RowResult:
    row: int  # the line's number in the file, the header being row 1
    title: str
    errors: list[dict] = field(default_factory=list)
    risk_id: int | None = None
    reference: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    rows: list[RowResult]
    applied: bool = False
    mode: str = "all_or_nothing"

    @property
    def valid(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def rejected(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.risk_id)

    def to_dict(self) -> dict:
        return {"applied": self.applied, "mode": self.mode, "rows": len(self.rows), "valid": self.valid,
                "created": self.created,
                "rejected": [{"row": r.row, "title": r.title, "errors": r.errors} for r in self.rejected],
                "risks": [{"row": r.row, "id": r.risk_id, "reference": r.reference} for r in self.rows if r.risk_id]}


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("The file is neither UTF-8 nor Windows-1252 text.", code="bad_encoding")


def _read(raw: bytes) -> tuple[list[str], list[tuple[int, dict]]]:
    if not raw:
        raise ValidationFailed("The file is empty.", code="empty_file")
    if len(raw) > MAX_BYTES:
        raise ValidationFailed(f"Import files are limited to {MAX_BYTES // (1024 * 1024)} MB.", code="too_large")
    text = _decode(raw)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or duplicated:
        parts = []
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown))
        if missing:
            parts.append("missing required column(s): " + ", ".join(missing))
        if duplicated:
            parts.append("repeated column(s): " + ", ".join(duplicated))
        raise ValidationFailed("The header is not valid — " + "; ".join(parts) + ". Allowed columns: "
                               + ", ".join(COLUMNS) + ".", code="invalid_header",
                               extra={"unknown": unknown, "missing": missing, "duplicated": duplicated,
                                      "allowed": list(COLUMNS)})
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        if len(values) != len(header):
            rows.append((line, {"__shape__": f"has {len(values)} values for {len(header)} columns"}))
            continue
        rows.append((line, {h: v.strip() for h, v in zip(header, values)}))
        if len(rows) > MAX_ROWS:
            raise ValidationFailed(f"Import at most {MAX_ROWS} rows at a time.", code="too_many_rows")
    if not rows:
        raise ValidationFailed("The file has a header but no rows.", code="no_rows")
    return header, rows


def _choice(value: str, enum, default: str | None, field_name: str, errors: list[dict]):
    if not value:
        return default
    by_key = {v.lower(): v for v in enum.values} | {label.lower(): v for v, label in enum.choices}
    if value.lower() in by_key:
        return by_key[value.lower()]
    errors.append({"field": field_name, "code": f"invalid_{field_name}",
                   "message": f"Unknown {field_name} “{value}”; allowed: {', '.join(enum.values)}."})
    return None


def _level(value: str, field_name: str, errors: list[dict], required: bool):
    if not value:
        if required:
            errors.append({"field": field_name, "code": "required", "message": f"{field_name} is required."})
        return None
    try:
        number = int(value)
    except ValueError:
        errors.append({"field": field_name, "code": "score_not_a_number",
                       "message": f"{field_name} must be a whole number from 1 to 5 (got “{value}”)."})
        return None
    return number  # the range is checked by the shared scoring rules


def _date(value: str, field_name: str, errors: list[dict]):
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append({"field": field_name, "code": "invalid_date",
                       "message": f"{field_name} must be a date as YYYY-MM-DD (got “{value}”)."})
        return None


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(";") if n.strip()]


class _Lookups:
    """The organisation's systems, controls and users, loaded once for the whole file."""

    def __init__(self, actor: User):
        org = actor.organisation_id
        self.systems = {s.name.lower(): s for s in AISystem.objects.filter(organisation_id=org)}
        self.controls = {c.name.lower(): c for c in Control.objects.filter(organisation_id=org)}
        self.users = {u.username.lower(): u for u in User.objects.filter(organisation_id=org, is_active=True)}


def _row_data(values: dict, actor: User, lookups: _Lookups) -> tuple[dict, list[dict]]:
    errors: list[dict] = []
    data = {
        "title": values.get("title", ""), "description": values.get("description", ""),
        "category": _choice(values.get("category", ""), RiskCategory, None, "category", errors),
        "source": _choice(values.get("source", ""), RiskSource, RiskSource.ASSESSMENT, "source", errors),
        "treatment": _choice(values.get("treatment", ""), Treatment, Treatment.MITIGATE, "treatment", errors),
        "status": _choice(values.get("status", ""), RiskStatus, RiskStatus.OPEN, "status", errors),
        "likelihood": _level(values.get("likelihood", ""), "likelihood", errors, True),
        "impact": _level(values.get("impact", ""), "impact", errors, True),
        "residual_likelihood": _level(values.get("residual_likelihood", ""), "residual_likelihood", errors, False),
        "residual_impact": _level(values.get("residual_impact", ""), "residual_impact", errors, False),
        "residual_reason": values.get("residual_reason", ""),
        "acceptance_justification": values.get("acceptance_justification", ""),
        "due_date": _date(values.get("due_date", ""), "due_date", errors),
        "next_review_date": _date(values.get("next_review_date", ""), "next_review_date", errors),
    }
    owner_name = values.get("owner", "")
    data["owner"] = lookups.users.get(owner_name.lower()) if owner_name else actor
    if owner_name and data["owner"] is None:
        errors.append({"field": "owner", "code": "unknown_owner",
                       "message": f"No active user “{owner_name}” in your organisation."})
    for column, table, label in (("systems", lookups.systems, "AI system"), ("controls", lookups.controls, "control")):
        found = []
        for name in _names(values.get(column, "")):
            if name.lower() in table:
                found.append(table[name.lower()])
            else:
                errors.append({"field": column, "code": f"unknown_{column[:-1]}",
                               "message": f"Unknown {label} “{name}”."})
        data[column] = found
    return data, errors


def risk_import(*, actor: User, raw: bytes, apply: bool, mode: str = "all_or_nothing") -> ImportReport:
    """Check (and with `apply`, write) every row of a CSV file. Raises ValidationFailed for a
    file-level problem (header, encoding, size); row problems are in the report."""
    if not has_permission(actor, "risk.manage"):
        raise NotAllowed("Only a compliance officer can import risks.")
    if mode not in MODES:
        raise ValidationFailed(f"Unknown import mode {mode!r}.", code="invalid_mode", extra={"allowed": list(MODES)})
    _, rows = _read(raw)
    lookups = _Lookups(actor)
    appetite = services.risk_settings_for(organisation_id=actor.organisation_id).appetite
    report = ImportReport(rows=[], mode=mode)
    checked = []
    for line, values in rows:
        result = RowResult(row=line, title=values.get("title", "")[:200])
        if "__shape__" in values:
            result.errors.append({"field": "", "code": "wrong_column_count", "message": f"The row {values['__shape__']}."})
            report.rows.append(result)
            continue
        data, errors = _row_data(values, actor, lookups)
        if not errors:  # the shared rules speak only about values that parsed
            errors = services.risk_check(data=data, organisation_id=actor.organisation_id)
        result.errors = errors
        report.rows.append(result)
        checked.append((result, data))
    if not apply or (mode == "all_or_nothing" and report.rejected):
        return report
    # One transaction for the whole file: any unexpected failure rolls every row back.
    with transaction.atomic():
        for result, data in checked:
            if not result.ok:
                continue
            try:
                with transaction.atomic():  # a row is written whole or not at all
                    risk = services.risk_insert(actor=actor, data=data, verb="risk.imported", appetite=appetite)
            except PortalError as exc:
                result.errors = exc.extra.get("problems") or [{"field": "", "code": exc.code, "message": exc.message}]
                if mode == "all_or_nothing":
                    transaction.set_rollback(True)
                    for r in report.rows:
                        r.risk_id, r.reference = None, ""
                    return report
                continue
            result.risk_id, result.reference = risk.pk, risk.reference
    report.applied = True
    return report


def template_csv() -> str:
    """An example file with the documented header."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow(["Unfair declines for young applicants", "bias", "Consumer credit scoring", "3", "4",
                     "Approval rates differ by age group", "validation_finding", "", "2", "4", "", "", "mitigate",
                     "", "2026-12-31", "2026-09-30", "open"])
    return out.getvalue()
