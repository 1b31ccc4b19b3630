"""One export helper for every CSV and XLSX file the portal hands out (issue #12 item 13)."""

import datetime as dt
import io

import pytest

from core.exports import csv_lines, csv_writer, neutralise, neutralise_reversibly, restore, xlsx_row


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", " =1 spaced", "'quoted", "a=b"])
def test_other_text_is_left_as_it_is(value):
    assert neutralise(value) == value


def test_numbers_and_dates_keep_their_type_and_none_is_an_empty_cell():
    day = dt.date(2026, 1, 2)
    assert xlsx_row([-3, 2.5, day, None, True, "=x"]) == [-3, 2.5, day, None, True, "'=x"]
    assert neutralise(None) == ""


def test_the_csv_writer_neutralises_every_cell():
    out = io.StringIO()
    csv_writer(out).writerow(["=cmd|' /C calc'!A0", "ok", -1])
    assert out.getvalue() == "'=cmd|' /C calc'!A0,ok,-1\r\n"
    assert "".join(csv_lines(["a"], [["@x"]])) == "a\r\n'@x\r\n"


@pytest.mark.parametrize("text", ["=1", "'=1", "''", "'", "plain", "-", "\t", ""])
def test_the_reversible_form_gives_back_exactly_the_original(text):
    cell = neutralise_reversibly(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore(cell) == text
