"""CSV cells no spreadsheet runs as a formula, numbers left as numbers, and the guard undone exactly."""

from __future__ import annotations

import csv
import io

import pytest

from fridge_monitor.core.csv_cells import guard, unguard, writer


@pytest.mark.parametrize(("value", "cell"), [
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("+cmd", "'+cmd"),
    ("-1+1", "'-1+1"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\tcalc", "'\tcalc"),
    ("\rcalc", "'\rcalc"),
    ("'=x", "''=x"),
    ("-18.5", "-18.5"),
    ("-3", "-3"),
    ("+4", "+4"),
    ("-1.5e3", "-1.5e3"),
    ("'-18.5", "'-18.5"),
    ("dropped", "dropped"),
    ("", ""),
    ("a=b", "a=b"),
    (-18.5, -18.5),
    (-2, -2),
    (None, None),
])
def test_formulas_are_text_and_numbers_stay_numbers(value, cell):
    assert guard(value) == cell
    if isinstance(value, str):
        assert unguard(cell) == value


@pytest.mark.parametrize("text", ["'", "''", "'''=x", "''-5", "'plain", "=", "-", "'\t"])
def test_unguard_undoes_guard_exactly(text):
    assert unguard(guard(text)) == text


def test_the_writer_guards_every_cell():
    out = io.StringIO(newline="")
    writer(out).writerow(["+cmd", -18.5, "-18.5", "@SUM(1)", 3])
    assert out.getvalue() == "'+cmd,-18.5,-18.5,'@SUM(1),3\n"
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'+cmd", "-18.5", "-18.5", "'@SUM(1)", "3"]
