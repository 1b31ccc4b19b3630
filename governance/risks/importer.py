"""CSV import of risks, with a dry run that reports what it would do with every row: create a
risk, update one (naming the fields that change), leave one as it is, or reject the row and why.

The header (first line, any order, case-insensitive):

  required: title, category, systems, likelihood, impact
            (all five may be left out when the file has a `reference` column)
  optional: description, source, owner, residual_likelihood, residual_impact, residual_reason,
            controls, treatment, acceptance_justification, due_date, next_review_date, status,
            reference

- reference empty (or no such column): the row creates a risk, and the five required cells must
  be filled; reference "R-12": the row updates that risk of the organisation (an unknown reference
  rejects the row; a risk is updated at most once per file). In an update an empty cell leaves the
  field as it is; the change goes through the same service as the edit form, so every changed
  field is in the risk's history and the audit trail with its value before and after, and a
  status change follows the transitions table;
- category / source / treatment / status: the value or its label ("bias" or "Bias and discrimination");
- systems and controls: names separated by ";" (they must exist in the organisation);
- owner: a user name of the organisation (default for a new risk: the importing user);
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
from core.exports import csv_writer
from core.input_guard import control_character
from core.models import User
from core.permissions import has_permission
from governance.risks import services
from governance.risks.choices import RiskCategory, RiskSource, RiskStatus, Treatment
from governance.risks.models import Control, Risk
from models_registry.models import AISystem

REQUIRED_COLUMNS = ("title", "category", "systems", "likelihood", "impact")
OPTIONAL_COLUMNS = (
    "description",
    "source",
    "owner",
    "residual_likelihood",
    "residual_impact",
    "residual_reason",
    "controls",
    "treatment",
    "acceptance_justification",
    "due_date",
    "next_review_date",
    "status",
    "reference",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MODES = ("all_or_nothing", "valid_only")
CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass
class RowResult:
    row: int  # the line's number in the file, the header being row 1
    title: str
    errors: list[dict] = field(default_factory=list)
    risk_id: int | None = None
    reference: str = ""
    action: str = CREATE
    fields: list[str] = field(default_factory=list)  # what an update changes, in column order
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def outcome(self) -> str:
        """What the row does, in the words of the dry run."""
        if self.errors:
            return "rejected: " + " ".join(e["message"] for e in self.errors)
        if self.action == UPDATE:
            return f"update (fields: {', '.join(self.fields)})"
        return "no change" if self.action == UNCHANGED else "create"


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
        return sum(1 for r in self.rows if r.written and r.action == CREATE)

    @property
    def updated(self) -> int:
        return sum(1 for r in self.rows if r.written and r.action == UPDATE)

    @property
    def to_create(self) -> int:
        return sum(1 for r in self.rows if r.ok and r.action == CREATE)

    @property
    def to_update(self) -> int:
        return sum(1 for r in self.rows if r.ok and r.action == UPDATE)

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.rows if r.ok and r.action == UNCHANGED)

    def to_dict(self) -> dict:
        return {
            "applied": self.applied,
            "mode": self.mode,
            "rows": len(self.rows),
            "valid": self.valid,
            "created": self.created,
            "updated": self.updated,
            "rejected": [{"row": r.row, "title": r.title, "errors": r.errors} for r in self.rejected],
            "outcomes": [
                {"row": r.row, "reference": r.reference, "action": r.action, "fields": r.fields, "outcome": r.outcome}
                for r in self.rows
            ],
            "risks": [{"row": r.row, "id": r.risk_id, "reference": r.reference} for r in self.rows if r.written],
        }


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("The file is neither UTF-8 nor Windows-1252 text.", code="bad_encoding")


def _refuse_control_characters(text: str) -> None:
    """The input guard never reads file contents, and PostgreSQL refuses a NUL in text: a cell with
    a control character (tab, CR and LF aside) is refused here, naming its line."""
    found = control_character(text)
    if found:
        position, character = found
        line = text.count("\n", 0, position) + 1
        raise ValidationFailed(
            f"Line {line} contains a control character ({character}), which is not allowed in "
            "an import. Remove it and try again.",
            code="invalid_characters",
            extra={"line": line, "character": character},
        )


def _read(raw: bytes) -> tuple[list[str], list[tuple[int, dict]]]:
    if not raw:
        raise ValidationFailed("The file is empty.", code="empty_file")
    if len(raw) > MAX_BYTES:
        raise ValidationFailed(f"Import files are limited to {MAX_BYTES // (1024 * 1024)} MB.", code="too_large")
    text = _decode(raw)
    _refuse_control_characters(text)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS]
    # With references the file may only update; rows that create are then checked one by one.
    missing = [] if "reference" in header else [c for c in REQUIRED_COLUMNS if c not in header]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or duplicated:
        parts = []
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown))
        if missing:
            parts.append("missing required column(s): " + ", ".join(missing))
        if duplicated:
            parts.append("repeated column(s): " + ", ".join(duplicated))
        raise ValidationFailed(
            "The header is not valid — " + "; ".join(parts) + ". Allowed columns: " + ", ".join(COLUMNS) + ".",
            code="invalid_header",
            extra={"unknown": unknown, "missing": missing, "duplicated": duplicated, "allowed": list(COLUMNS)},
        )
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


def _choice(value: str, enum, field_name: str, errors: list[dict]):
    by_key = {v.lower(): v for v in enum.values} | {label.lower(): v for v, label in enum.choices}
    if value.lower() in by_key:
        return by_key[value.lower()]
    errors.append(
        {
            "field": field_name,
            "code": f"invalid_{field_name}",
            "message": f"Unknown {field_name} “{value}”; allowed: {', '.join(enum.values)}.",
        }
    )
    return None


def _level(value: str, field_name: str, errors: list[dict]):
    try:
        return int(value)  # the range is checked by the shared scoring rules
    except ValueError:
        errors.append(
            {
                "field": field_name,
                "code": "score_not_a_number",
                "message": f"{field_name} must be a whole number from 1 to 5 (got “{value}”).",
            }
        )
        return None


def _date(value: str, field_name: str, errors: list[dict]):
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(
            {
                "field": field_name,
                "code": "invalid_date",
                "message": f"{field_name} must be a date as YYYY-MM-DD (got “{value}”).",
            }
        )
        return None


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(";") if n.strip()]


class _Lookups:
    """The organisation's systems, controls, users and the risks the file refers to, loaded once."""

    def __init__(self, actor: User, references: set[str]):
        org = actor.organisation_id
        self.systems = {s.name.lower(): s for s in AISystem.objects.filter(organisation_id=org)}
        self.controls = {c.name.lower(): c for c in Control.objects.filter(organisation_id=org)}
        self.users = {u.username.lower(): u for u in User.objects.filter(organisation_id=org, is_active=True)}
        risks = (
            Risk.objects.filter(organisation_id=org, reference__in=references)
            .select_related("owner", "accepted_by")
            .prefetch_related("systems", "controls", "obligations")
        )
        self.risks = {r.reference.upper(): r for r in risks}


TEXTS = ("title", "description", "residual_reason", "acceptance_justification")
CHOICES = (("category", RiskCategory), ("source", RiskSource), ("treatment", Treatment), ("status", RiskStatus))
LEVELS = ("likelihood", "impact", "residual_likelihood", "residual_impact")
DATES = ("due_date", "next_review_date")
# A new risk's fields when its cells are empty (the owner defaults to the importing user).
CREATE_DEFAULTS = {
    "title": "",
    "description": "",
    "category": None,
    "source": RiskSource.ASSESSMENT,
    "treatment": Treatment.MITIGATE,
    "status": RiskStatus.OPEN,
    "likelihood": None,
    "impact": None,
    "residual_likelihood": None,
    "residual_impact": None,
    "residual_reason": "",
    "acceptance_justification": "",
    "due_date": None,
    "next_review_date": None,
}


def _filled_fields(values: dict, lookups: _Lookups, errors: list[dict]) -> dict:
    """The row's filled cells as field values; a cell that does not parse adds to `errors`."""
    cells = {name: value for name, value in values.items() if value and name != "reference"}
    data = {name: cells[name] for name in TEXTS if name in cells}
    data.update({name: _choice(cells[name], enum, name, errors) for name, enum in CHOICES if name in cells})
    data.update({name: _level(cells[name], name, errors) for name in LEVELS if name in cells})
    data.update({name: _date(cells[name], name, errors) for name in DATES if name in cells})
    if "owner" in cells:
        data["owner"] = lookups.users.get(cells["owner"].lower())
        if data["owner"] is None:
            errors.append(
                {
                    "field": "owner",
                    "code": "unknown_owner",
                    "message": f"No active user “{cells['owner']}” in your organisation.",
                }
            )
    for column, table, label in (("systems", lookups.systems, "AI system"), ("controls", lookups.controls, "control")):
        if column not in cells:
            continue
        data[column] = [table[name.lower()] for name in _names(cells[column]) if name.lower() in table]
        errors += [
            {"field": column, "code": f"unknown_{column[:-1]}", "message": f"Unknown {label} “{name}”."}
            for name in _names(cells[column])
            if name.lower() not in table
        ]
    return data


def _plan_create(result: RowResult, values: dict, actor: User, lookups: _Lookups) -> dict:
    """Check a row without a reference; returns the new risk's data."""
    errors = [
        {
            "field": name,
            "code": "required",
            "message": f"{name} is required for a new risk (a row without a reference).",
        }
        for name in REQUIRED_COLUMNS
        if not values.get(name)
    ]
    data = {**CREATE_DEFAULTS, "owner": actor, "systems": [], "controls": [], **_filled_fields(values, lookups, errors)}
    if not errors:  # the shared rules speak only about values that parsed
        errors = services.risk_check(data=data, organisation_id=actor.organisation_id)
    result.errors = errors
    return data


def _same(risk: Risk, name: str, value) -> bool:
    if name in ("systems", "controls"):
        return {o.pk for o in value} == {o.pk for o in getattr(risk, name).all()}
    return getattr(risk, name) == value


def _plan_update(
    result: RowResult, reference: str, values: dict, actor: User, lookups: _Lookups, seen: dict[str, int]
) -> tuple[Risk | None, dict]:
    """Check a row with a reference; returns the risk and the fields that change."""
    result.action, result.reference = UPDATE, reference
    risk = lookups.risks.get(reference)
    if risk is None:
        result.errors = [
            {
                "field": "reference",
                "code": "unknown_reference",
                "message": f"There is no risk "
                f"“{reference}” in your organisation; leave the reference empty to create a risk.",
            }
        ]
        return None, {}
    if reference in seen:
        result.errors = [
            {
                "field": "reference",
                "code": "duplicate_reference",
                "message": f"Row {seen[reference]} already updates {reference}; update a risk once per file.",
            }
        ]
        return None, {}
    seen[reference] = result.row
    result.risk_id, result.title = risk.pk, result.title or risk.title
    errors: list[dict] = []
    changes = {
        name: value for name, value in _filled_fields(values, lookups, errors).items() if not _same(risk, name, value)
    }
    if not errors and changes:  # the edit form's own checks: permission, transitions, scores, acceptance
        errors = services.risk_update_check(risk=risk, actor=actor, changes=changes)
    result.errors, result.fields = errors, [name for name in COLUMNS if name in changes]
    if not changes and not errors:
        result.action = UNCHANGED
    return risk, changes


def _plan(rows: list[tuple[int, dict]], actor: User) -> tuple[ImportReport, list[tuple[RowResult, Risk | None, dict]]]:
    references = {values.get("reference", "").strip().upper() for _, values in rows} - {""}
    lookups, seen = _Lookups(actor, references), {}
    report, planned = ImportReport(rows=[]), []
    for line, values in rows:
        result = RowResult(row=line, title=values.get("title", "")[:200])
        report.rows.append(result)
        if "__shape__" in values:
            result.errors.append(
                {"field": "", "code": "wrong_column_count", "message": f"The row {values['__shape__']}."}
            )
            continue
        reference = values.get("reference", "").strip().upper()
        if reference:
            planned.append((result, *_plan_update(result, reference, values, actor, lookups, seen)))
        else:
            planned.append((result, None, _plan_create(result, values, actor, lookups)))
    return report, planned


def _write(result: RowResult, risk: Risk | None, data: dict, *, actor: User, appetite: int) -> None:
    if risk is None:
        created = services.risk_insert(actor=actor, data=data, verb="risk.imported", appetite=appetite)
        result.risk_id, result.reference = created.pk, created.reference
    else:
        services.risk_update(
            risk=risk, actor=actor, changes=data, reason=f"Imported from a CSV file (row {result.row})."
        )
    result.written = True


def risk_import(*, actor: User, raw: bytes, apply: bool, mode: str = "all_or_nothing") -> ImportReport:
    """Check (and with `apply`, write) every row of a CSV file. Raises ValidationFailed for a
    file-level problem (header, encoding, size); row problems are in the report."""
    if not has_permission(actor, "risk.manage"):
        raise NotAllowed("Only a compliance officer can import risks.")
    if mode not in MODES:
        raise ValidationFailed(f"Unknown import mode {mode!r}.", code="invalid_mode", extra={"allowed": list(MODES)})
    _, rows = _read(raw)
    appetite = services.risk_settings_for(organisation_id=actor.organisation_id).appetite
    report, planned = _plan(rows, actor)
    report.mode = mode
    if not apply or (mode == "all_or_nothing" and report.rejected):
        return report
    # One transaction for the whole file: any unexpected failure rolls every row back.
    with transaction.atomic():
        for result, risk, data in planned:
            if not result.ok or result.action == UNCHANGED:
                continue
            try:
                with transaction.atomic():  # a row is written whole or not at all
                    _write(result, risk, data, actor=actor, appetite=appetite)
            except PortalError as exc:
                result.errors = exc.extra.get("problems") or [{"field": "", "code": exc.code, "message": exc.message}]
                if mode == "all_or_nothing":
                    transaction.set_rollback(True)
                    _forget_writes(report)
                    return report
    report.applied = True
    return report


def _forget_writes(report: ImportReport) -> None:
    """After a rollback nothing was written: new risks have no id or reference any more."""
    for r in report.rows:
        if r.written and r.action == CREATE:
            r.risk_id, r.reference = None, ""
        r.written = False


def template_csv() -> str:
    """An example file with the documented header."""
    out = io.StringIO()
    writer = csv_writer(out)  # the one export helper, like every file the portal hands out
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            "Unfair declines for young applicants",
            "bias",
            "Consumer credit scoring",
            "3",
            "4",
            "Approval rates differ by age group",
            "validation_finding",
            "",
            "2",
            "4",
            "",
            "",
            "mitigate",
            "",
            "2026-12-31",
            "2026-09-30",
            "open",
            "",
        ]
    )
    return out.getvalue()
