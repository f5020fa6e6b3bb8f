"""Workbook files: XLSX, ODS, or a folder of CSV files (one per sheet), read into a :class:`Book` and written
from one.

Libraries, chosen on merit (docs/inventory.md has the measured figures):

- reading XLSX and ODS: python-calamine, bindings to the Rust calamine crate: one reader for both formats,
  maintained, some 35 times faster than odfpy on an ODS workbook of 2,000 delivery points;
- writing XLSX: XlsxWriter (write-only, fast, maintained, cells typed: text PRMs, real dates and numbers);
- writing ODS: directly (a zip of one XML document of plain typed cells): odfpy, the OpenDocument library
  pandas uses, took some 27 times longer for the same file and has had no release since 2020;
- CSV: the standard library; UTF-8 with a byte-order mark (so that Excel opens accents right), a comma or
  a semicolon (French Excel) as separator on reading.

Every cell becomes text (numbers without a spurious ``.0``, dates as ISO 8601); ``regie.inventory.values``
then reads the text by its column's type.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from regie.inventory.book import Book, Row
from regie.inventory.format import FORMAT_VERSION, MORE_EXAMPLES, SHEETS, Kind, sheet
from regie.inventory.values import number_text, parse

SUFFIXES = (".xlsx", ".ods")


class WorkbookError(ValueError):
    """A file that is not a workbook regie reads (wrong extension, damaged, unreadable)."""


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time | timedelta):
        return str(value)
    text = str(value).strip()
    return text or None


def _from_rows(book: Book, name: str, rows: list[list]) -> None:
    """One sheet from its cells: the first non-blank row is the header; blank rows are skipped (their
    numbers still count, so a problem names the row the spreadsheet shows)."""
    header: list[str] | None = None
    out: list[Row] = []
    numbers: list[int] = []
    for i, cells in enumerate(rows, start=1):
        texts = [_cell_text(c) for c in cells]
        if not any(texts):
            continue
        if header is None:
            header = [(t or "").strip() for t in texts]
            while header and not header[-1]:
                header.pop()
            continue
        out.append({h: (texts[j] if j < len(texts) else None) for j, h in enumerate(header) if h})
        numbers.append(i)
    book.set_sheet(name, out, header=[h for h in header or [] if h], numbers=numbers)


def read_book(path: str | Path) -> Book:
    """Read a workbook: ``.xlsx``, ``.ods``, or a folder of ``<sheet>.csv`` files."""
    path = Path(path)
    if path.is_dir():
        return _read_csv_folder(path)
    if not path.exists():
        raise WorkbookError(f"{path}: no such file or folder")
    if path.suffix.lower() not in SUFFIXES:
        raise WorkbookError(f"{path.name}: a workbook is an .xlsx or .ods file, or a folder of .csv files")
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        book = Book()
        for name in wb.sheet_names:
            _from_rows(book, name.strip(), wb.get_sheet_by_name(name).to_python(skip_empty_area=False))
    except Exception as exc:  # calamine raises its own errors for damaged or encrypted files
        raise WorkbookError(f"{path.name}: cannot be read as a workbook ({type(exc).__name__}: {exc})") from None
    return book


def _read_csv_folder(folder: Path) -> Book:
    book = Book()
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise WorkbookError(f"{folder}: no .csv file in this folder (one per sheet: {SHEETS[0].name}.csv, ...)")
    for f in files:
        raw = f.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")  # a CSV saved by Excel on Windows in its "ANSI" code page
        first = text.split("\n", 1)[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        _from_rows(book, f.stem, list(csv.reader(io.StringIO(text), delimiter=delimiter)))
    return book


def _ordered(book: Book) -> list[tuple[str, list[str], list[Row]]]:
    out = []
    for s in SHEETS:
        if s.name in book:
            out.append((s.name, list(s.column_names), book[s.name]))
    for name in book:
        if name not in {s.name for s in SHEETS}:
            out.append((name, book.header(name), book[name]))
    return out


def _typed(name: str, column: str, text: str | None):
    """The cell value to write: numbers and dates as such (the spreadsheet can sort and compute), the rest
    as text (a PRM stays 14 characters)."""
    if text is None:
        return None
    try:
        c = sheet(name).column(column)
    except KeyError:
        return text
    if c.kind in (Kind.NUMBER, Kind.INTEGER, Kind.DATE):
        try:
            return parse(c, text)
        except ValueError:
            return text
    return text


def write_book(path: str | Path, book: Book) -> Path:
    """Write a workbook; the format follows the name: ``.xlsx``, ``.ods``, else a folder of CSV files."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        _write_xlsx(path, book)
    elif suffix == ".ods":
        _write_ods(path, book)
    elif suffix in ("", ".csv") or path.is_dir():
        _write_csv_folder(path.with_suffix("") if suffix == ".csv" else path, book)
    else:
        raise WorkbookError(f"{path.name}: write an .xlsx or .ods file, or a folder (no extension) of CSV files")
    return path


def _write_xlsx(path: Path, book: Book) -> None:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF4"})
    text = wb.add_format({"num_format": "@"})
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, columns, rows in _ordered(book):
        ws = wb.add_worksheet(name[:31])
        for j, col in enumerate(columns):
            ws.write_string(0, j, col, head)
            ws.set_column(j, j, max(12, len(col) + 2), text if _kind(name, col) not in (Kind.NUMBER, Kind.INTEGER,
                                                                                          Kind.DATE) else None)
        ws.freeze_panes(1, 0)
        for i, row in enumerate(rows, start=1):
            for j, col in enumerate(columns):
                v = _typed(name, col, row.get(col))
                if v is None:
                    continue
                if isinstance(v, date):
                    ws.write_datetime(i, j, datetime.combine(v, time()), day)
                elif isinstance(v, int | float):
                    ws.write_number(i, j, v)
                else:
                    ws.write_string(i, j, str(v))
    wb.close()


def _kind(name: str, column: str) -> Kind | None:
    try:
        return sheet(name).column(column).kind
    except KeyError:
        return None


_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{_ODS_MIME}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
_ODS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" \
xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" \
xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" \
xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" \
xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2">
<office:automatic-styles><style:style style:name="head" style:family="table-cell">\
<style:table-cell-properties fo:background-color="#e8eef4"/><style:text-properties fo:font-weight="bold"/>\
</style:style></office:automatic-styles><office:body><office:spreadsheet>
"""
_ODS_TAIL = "</office:spreadsheet></office:body></office:document-content>\n"


def _ods_cell(v) -> str:
    if v is None:
        return "<table:table-cell/>"
    if isinstance(v, date):
        d = v.isoformat()
        return (f'<table:table-cell office:value-type="date" office:date-value="{d}"><text:p>{d}</text:p>'
                "</table:table-cell>")
    if isinstance(v, int | float):
        n = number_text(v)
        return f'<table:table-cell office:value-type="float" office:value="{n}"><text:p>{n}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="string"><text:p>{xml_escape(str(v))}</text:p></table:table-cell>'


def _write_ods(path: Path, book: Book) -> None:
    """An OpenDocument spreadsheet (ODF 1.2, part 1 §9 tables; part 3 §3 packages: the ``mimetype`` entry
    first and stored uncompressed, then the manifest). Written directly: the document is one table per
    sheet of plain typed cells, and odfpy took some 27 times longer to write the same file."""
    parts = [_ODS_HEAD]
    for name, columns, rows in _ordered(book):
        parts.append(f'<table:table table:name="{xml_escape(name, {chr(34): "&quot;"})}">')
        parts.append("<table:table-row>" + "".join(
            f'<table:table-cell table:style-name="head" office:value-type="string"><text:p>{xml_escape(c)}'
            "</text:p></table:table-cell>" for c in columns) + "</table:table-row>")
        for row in rows:
            parts.append("<table:table-row>" + "".join(_ods_cell(_typed(name, c, row.get(c))) for c in columns)
                         + "</table:table-row>")
        parts.append("</table:table>")
    parts.append(_ODS_TAIL)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), _ODS_MIME, compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        z.writestr("content.xml", "".join(parts))


def _write_csv_folder(folder: Path, book: Book) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, columns, rows in _ordered(book):
        with (folder / f"{name}.csv").open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for row in rows:
                w.writerow([row.get(c) or "" for c in columns])


def template() -> Book:
    """A blank workbook: every sheet with its columns and an example row (the format's examples, and a
    second row where the example needs one to hold together), the about sheet at this regie's version."""
    book = Book()
    for s in SHEETS:
        row = {c.name: (c.example or None) for c in s.columns}
        if s.name == "about":
            row["format_version"] = str(FORMAT_VERSION)
        more = [{c.name: r.get(c.name) for c in s.columns} for r in MORE_EXAMPLES.get(s.name, [])]
        book.set_sheet(s.name, [row, *more], header=list(s.column_names))
    return book
