"""Spreadsheet-safe cells for every CSV and XLSX export (one rule for the whole portal).

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and a
leading tab or carriage return lets such a cell slip past naive checks (OWASP "CSV injection"). So
every text cell that starts with one of those characters gets a leading apostrophe: the spreadsheet
then shows the text instead of running it. Numbers, booleans and dates keep their type (a negative
number is not a formula), which keeps XLSX columns numeric.

The audit-trail CSV needs the exact stored values back to recompute the hash chain, so it uses the
reversible variant (``neutralise_reversibly`` / ``restore``): a value that already starts with an
apostrophe gets one more, so the verifier can always strip exactly one. A separate "display"
column would not help there: the spreadsheet would still evaluate the raw column beside it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def neutralise(value):
    """The value as a spreadsheet should receive it: text starting with a formula trigger gets a
    leading apostrophe; None becomes an empty cell; numbers and dates stay as they are."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal, dt.date, dt.datetime, dt.time)):
        return value
    text = value if isinstance(value, str) else str(value)
    return ESCAPE + text if text.startswith(FORMULA_TRIGGERS) else text


def neutralise_reversibly(text: str) -> str:
    """Like ``neutralise`` for text, and invertible with ``restore``: a value that starts with an
    apostrophe is escaped too, so exactly one leading apostrophe is ever added."""
    return ESCAPE + text if text.startswith((*FORMULA_TRIGGERS, ESCAPE)) else text


def restore(cell: str) -> str:
    """The original text of a cell written by ``neutralise_reversibly``."""
    return cell[1:] if cell.startswith(ESCAPE) else cell


class SafeCsvWriter:
    """``csv.writer`` whose rows are neutralised cell by cell."""

    def __init__(self, file, **options):
        self._writer = csv.writer(file, **options)

    def writerow(self, row: Iterable):
        return self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable]):
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file that hands back what is written, so a csv writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_writer(file=None) -> SafeCsvWriter:
    """A safe writer into ``file``, or, without one, a writer whose ``writerow`` returns the CSV
    line (for ``StreamingHttpResponse``)."""
    return SafeCsvWriter(file if file is not None else _Echo())


def csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of a header and rows, line by line, every cell neutralised."""
    writer = csv_writer()
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def xlsx_row(values: Iterable) -> list:
    """One row for openpyxl: text neutralised, numbers and dates kept typed, None left empty."""
    return [None if value is None else neutralise(value) for value in values]
