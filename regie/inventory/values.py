"""A cell's text, read by its column's type, and a stored value written back as the text a workbook holds.

Spreadsheets differ in how they show the same value (``6`` / ``6.0``, ``2024-06-01`` / ``01/06/2024``,
``0,06`` in a French locale): :func:`canonical` turns any accepted spelling into one text, so that a
workbook exported then imported again compares equal and changes nothing.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from regie.inventory.format import Column, Kind
from regie.inventory.problems import N_
from regie.model.metering import validate_prm
from regie.model.parties import ERASED_HOLDER
from regie.model.units import Step

_ID = re.compile(r"[A-Za-z0-9._-]+")
#: INSEE commune code (code officiel géographique): 2 digits, or 2A / 2B for Corsica, then 3 digits.
_INSEE = re.compile(r"(?:\d{2}|2[AB])\d{3}")
_FR_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ROUGH = re.compile(r"(\d{4})(?:-(\d{2}))?")
_TRUE = {"yes", "oui", "true", "vrai", "1", "y", "o"}
_FALSE = {"no", "non", "false", "faux", "0", "n"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


#: Significant digits a number keeps: a spreadsheet keeps 15 (Excel's limit, "Excel specifications and
#: limits": number precision 15 digits), so a workbook saved by one compares equal to what regie wrote.
DIGITS = 15


class CellError(ValueError):
    """A cell that cannot be read by its column's type: the message, and its catalogue id and values."""

    def __init__(self, template: str, **params) -> None:
        self.template, self.params = template, params
        super().__init__(template % params)


def number_text(x: float) -> str:
    """The one text of a number: rounded to :data:`DIGITS` significant digits, integral values without a
    decimal point, others as Python's shortest repr of the rounded value."""
    x = float(f"{float(x):.{DIGITS}g}")
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _number(text: str) -> float:
    t = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in t and "." not in t and t.count(",") == 1:
        t = t.replace(",", ".")  # a French decimal comma
    try:
        x = float(t)
    except ValueError:
        raise CellError(N_("%(text)s is not a number"), text=repr(text)) from None
    if not math.isfinite(x):
        raise CellError(N_("%(text)s is not a finite number"), text=repr(text))
    return x


def _date(text: str) -> date:
    t = text.strip()
    m = _FR_DATE.fullmatch(t)
    try:
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
        if len(t) > 10 and t[10] in "T " and t[11:].strip("0:") in ("", "."):
            t = t[:10]  # a date written with a midnight time, as some spreadsheets save a date cell
        return date.fromisoformat(t)
    except ValueError:
        raise CellError(N_("%(text)s is not a date: write it 2024-06-01 (or 01/06/2024)"), text=repr(text)) from None


def parse(column: Column, text: str | None):
    """The value of a cell (None for a blank one), or a ValueError saying why it cannot be read."""
    if text is None or not str(text).strip():
        return None
    t = str(text).strip()
    k = column.kind
    if k == Kind.TEXT:
        return t
    if k == Kind.ID:
        if column.refers_to == "holders" and t.startswith(ERASED_HOLDER) and _ID.fullmatch(t[len(ERASED_HOLDER):]):
            return t  # the tombstone of a person erased at their request (their memberships keep their dates)
        if not _ID.fullmatch(t):
            raise CellError(N_("%(text)s is not an id: use letters, digits, '-', '_' or '.', without spaces"),
                            text=repr(t))
        return t
    if k == Kind.PRM:
        if t.isdigit() and len(t) < 14:
            raise CellError(N_("a PRM is exactly 14 digits, this one has %(n)s: a leading zero lost when the "
                               "column was read as numbers? Format the column as text"), n=len(t))
        try:
            return validate_prm(t)
        except ValueError:
            raise CellError(N_("a PRM is exactly 14 digits, got %(n)s characters"), n=len(t)) from None
    if k == Kind.NUMBER:
        return _number(t)
    if k == Kind.INTEGER:
        x = _number(t)
        if not x.is_integer():
            raise CellError(N_("%(text)s is not a whole number"), text=repr(t))
        return int(x)
    if k == Kind.DATE:
        return _date(t)
    if k == Kind.ROUGH_DATE:
        m = _ROUGH.fullmatch(t)
        if m and (m[2] is None or 1 <= int(m[2]) <= 12):
            return t
        return _date(t).isoformat()
    if k == Kind.BOOLEAN:
        low = t.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise CellError(N_("%(text)s is not yes or no"), text=repr(t))
    if k == Kind.ENUM:
        if t in column.values:
            return t
        low = t.lower()
        if low in column.values:
            return low
        raise CellError(N_("%(text)s is not one of: %(values)s"), text=repr(t), values=", ".join(column.values))
    if k == Kind.INSEE:
        if not _INSEE.fullmatch(t.upper()):
            raise CellError(N_("%(text)s is not an INSEE commune code: 5 characters, e.g. 66150 or 2A004"),
                            text=repr(t))
        return t.upper()
    if k == Kind.DURATION:
        try:
            return Step.parse(t).iso
        except ValueError:
            raise CellError(N_("%(text)s is not an ISO 8601 duration (PT30M, PT15M)"), text=repr(t)) from None
    if k == Kind.EMAIL:
        if not _EMAIL.fullmatch(t):
            raise CellError(N_("%(text)s is not an e-mail address"), text=repr(t))
        return t
    raise AssertionError(f"unknown column kind {k}")


def render(column: Column, value) -> str | None:
    """The text a workbook holds for a stored value (None for no value)."""
    if value is None or value == "":
        return None
    if column.kind in (Kind.NUMBER, Kind.INTEGER):
        return number_text(value)
    if column.kind == Kind.BOOLEAN:
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def canonical(column: Column, text: str | None) -> str | None:
    """The one spelling of a cell's text (raises ValueError like :func:`parse`)."""
    return render(column, parse(column, text))
