"""Invoices of a collective self-consumption operation as PDF (fpdf2) and CSV; producer statements; a yearly summary.

What goes on the page is computed elsewhere (:mod:`regie.services.acc`, :mod:`regie.analytics.billing`):
this module only lays it out, in French or English. Numbers, money and dates are formatted with Babel for the
language's locale (fr_FR, en_GB); the CSV files hold plain numbers (decimal point, no grouping) so that a
spreadsheet or an accounting import reads them without guessing. PRMs are printed masked.

The text lives in the small table :data:`MESSAGES` rather than in the web catalogues: a PDF is produced
outside any request (the CLI) and ``regie.services`` does not import ``regie.web``. The PDFs use the PDF
core font Helvetica (Latin-1), so amounts are written with the ISO code ("12,50 EUR") rather than "€".

Bills are personal data: call these functions only with a :class:`regie.services.acc.BillingRun` that was
computed from curves read through the governance gate (see ``regie.services.acc.gate_reader``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from regie.model.metering import mask_prm
from regie.services.acc import BillingRun, ConsumerBill, ProducerStatement, YearlySummary

if TYPE_CHECKING:
    from fpdf import FPDF

Lang = Literal["fr", "en"]
LOCALES: dict[str, str] = {"fr": "fr_FR", "en": "en_GB"}

#: Every user-facing string of the documents, in French and English.
MESSAGES: dict[str, dict[str, str]] = {
    "invoice": {"fr": "Facture d'énergie locale", "en": "Local energy invoice"},
    "statement": {"fr": "Relevé du producteur", "en": "Producer's statement"},
    "summary": {"fr": "Bilan annuel de l'opération", "en": "Yearly summary of the operation"},
    "number": {"fr": "N°", "en": "No."},
    "period": {"fr": "Période", "en": "Period"},
    "from_to": {"fr": "du {a} au {b}", "en": "from {a} to {b}"},
    "operation": {"fr": "Opération d'autoconsommation collective", "en": "Collective self-consumption operation"},
    "pmo": {"fr": "Personne morale organisatrice", "en": "Organising legal person (PMO)"},
    "customer": {"fr": "Participant", "en": "Participant"},
    "prm": {"fr": "Point de livraison (PRM)", "en": "Delivery point (PRM)"},
    "key": {"fr": "Clé de répartition", "en": "Allocation key"},
    "line": {"fr": "Désignation", "en": "Description"},
    "quantity": {"fr": "Quantité (kWh)", "en": "Quantity (kWh)"},
    "unit_price": {"fr": "Prix unitaire HT", "en": "Unit price excl. VAT"},
    "amount": {"fr": "Montant HT", "en": "Amount excl. VAT"},
    "vat_rate": {"fr": "TVA", "en": "VAT"},
    "total_excl": {"fr": "Total HT", "en": "Total excl. VAT"},
    "vat": {"fr": "TVA", "en": "VAT"},
    "total_incl": {"fr": "Total TTC", "en": "Total incl. VAT"},
    "not_billed": {"fr": "pour information, non facturé", "en": "for information, not billed"},
    "complement": {
        "fr": "Complément facturé par votre fournisseur habituel (pour information) : {kwh} kWh",
        "en": "Complement billed by your usual supplier (for information): {kwh} kWh",
    },
    "two_bills": {
        "fr": "En autoconsommation collective vous recevez deux factures : celle-ci pour l'énergie locale, "
        "et celle de votre fournisseur pour le complément (Code de l'énergie, art. L315-4).",
        "en": "In collective self-consumption you get two bills: this one for local energy, and your "
        "supplier's for the complement (Code de l'énergie, art. L315-4).",
    },
    "sources": {"fr": "Sources des taux", "en": "Sources of the rates"},
    "illustrative": {
        "fr": "ILLUSTRATIF : calculé avec des paramètres non officiels, ce document n'est pas une facture.",
        "en": "ILLUSTRATIVE: computed with unofficial parameters, this document is not an invoice.",
    },
    "injected": {"fr": "Production injectée (PROD)", "en": "Energy injected (PROD)"},
    "shared": {"fr": "Énergie partagée dans l'opération (AUTOPROD)", "en": "Energy shared in the operation (AUTOPROD)"},
    "surplus": {"fr": "Surplus (SURPLUS)", "en": "Surplus (SURPLUS)"},
    "local_sales": {
        "fr": "Ventes d'énergie locale (HT, hors accise)", "en": "Local energy sales (excl. VAT and excise)",
    },
    "month": {"fr": "Mois", "en": "Month"},
    "prod": {"fr": "Production", "en": "Production"},
    "autocons": {"fr": "Autoconsommé", "en": "Self-consumed"},
    "cons": {"fr": "Consommation", "en": "Consumption"},
    "sc_rate": {"fr": "Taux d'autoconsommation", "en": "Self-consumption rate"},
    "sp_rate": {"fr": "Taux d'autoproduction", "en": "Self-production rate"},
    "billed": {"fr": "Facturé TTC", "en": "Billed incl. VAT"},
    "year_total": {"fr": "Total de l'année", "en": "Year total"},
    "participants": {"fr": "Participants", "en": "Participants"},
    "col_energy": {"fr": "Conso. / prod. (kWh)", "en": "Cons. / prod. (kWh)"},
    "col_shared": {"fr": "Autoconsommé / partagé", "en": "Self-consumed / shared"},
    "col_amount": {"fr": "Facturé TTC / ventes HT", "en": "Billed incl. VAT / sales"},
    "page": {"fr": "Page {n}", "en": "Page {n}"},
    "key_default": {"fr": "dynamique par défaut", "en": "default dynamic"},
    "key_static": {"fr": "statique", "en": "static"},
    "key_priority": {"fr": "par priorités", "en": "by priority"},
    "key_dynamic_simple": {"fr": "dynamique simple", "en": "dynamic simple"},
    "key_full_dynamic": {"fr": "full dynamique", "en": "full dynamic"},
    "line_local": {
        "fr": "Énergie locale (autoconsommation collective)", "en": "Local energy (collective self-consumption)",
    },
    "line_turpe": {"fr": "TURPE, énergie autoconsommée (option ACC)", "en": "TURPE, self-consumed energy (ACC option)"},
    "line_accise": {"fr": "Accise sur l'électricité", "en": "Excise duty on electricity"},
}


def message(key: str, lang: Lang, **values: object) -> str:
    """The text of ``key`` in ``lang`` (French if the language is unknown), with ``{placeholders}`` filled."""
    text = MESSAGES[key].get(lang) or MESSAGES[key]["fr"]
    return text.format(**values) if values else text


_LATIN1 = str.maketrans({"\u202f": "\u00a0", "\u2019": "'", "\u2014": "-", "\u2013": "-", "\u2026": "...",
                         "\u0153": "oe", "\u20ac": "EUR", "\u201c": '"', "\u201d": '"',
                         "\u2264": "<=", "\u2265": ">="})


def _latin1(text: str) -> str:
    """Text the PDF core font can draw: Babel's narrow no-break space (French grouping) becomes a no-break
    space, typographic dashes and quotes their plain forms; anything else outside Latin-1 becomes "?"."""
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def money(amount: Decimal | float, lang: Lang) -> str:
    """An amount in euros for the language, e.g. ``1 234,50 EUR`` / ``1,234.50 EUR``."""
    return _latin1(format_currency(amount, "EUR", format="#,##0.00\u00a0¤¤", locale=LOCALES[lang],
                                   currency_digits=False))


def price(amount: Decimal | float, lang: Lang) -> str:
    """A unit price [EUR/kWh] with four decimals (taxes per kWh are often fractions of a cent)."""
    return _latin1(format_decimal(amount, format="#,##0.0000", locale=LOCALES[lang])) + "\u00a0EUR/kWh"


def kwh(amount: Decimal | float, lang: Lang) -> str:
    return _latin1(format_decimal(amount, format="#,##0.000", locale=LOCALES[lang]))


def day(d: date, lang: Lang) -> str:
    return _latin1(format_date(d, format="long", locale=LOCALES[lang]))


def percent(x: float | None, lang: Lang) -> str:
    return "—" if x is None else _latin1(format_percent(x, format="#,##0.0 %", locale=LOCALES[lang]))


def _line_label(label: str, lang: Lang) -> str:
    if label.startswith("Local energy"):
        return message("line_local", lang)
    if label.startswith("TURPE"):
        return message("line_turpe", lang)
    if label.startswith("Accise"):
        category = label[label.find("(") :] if "(" in label else ""
        return f"{message('line_accise', lang)} {category}".strip()
    return label


def _key_label(key: str, lang: Lang) -> str:
    return message(f"key_{key}", lang) if f"key_{key}" in MESSAGES else key


# ------------------------------------------------------------------------------------------------ PDF


@cache
def _document_class() -> type[FPDF]:
    """The invoices' page layout. fpdf2 (with Pillow and fontTools, ~28 MB resident) is imported on the first PDF,
    not when the web server starts: most processes never render one."""
    from fpdf import FPDF

    class _Document(FPDF):
        def __init__(self, lang: Lang, title: str) -> None:
            super().__init__(format="A4")
            self.lang = lang
            self.set_title(title)
            self.set_creator("regie")
            self.set_auto_page_break(auto=True, margin=18)
            self.alias_nb_pages()

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=7)
            self.cell(0, 5, message("page", self.lang, n=self.page_no()), align="C")

        def text_line(self, text: str, *, size: float = 9, bold: bool = False, h: float = 5) -> None:
            self.set_font("Helvetica", "B" if bold else "", size)
            self.multi_cell(0, h, _latin1(text), new_x="LMARGIN", new_y="NEXT")

        def row(self, cells: Iterable[str], widths: Iterable[float], *, bold: bool = False, fill: bool = False) -> None:
            self.set_font("Helvetica", "B" if bold else "", 8.5)
            cells, widths = list(cells), list(widths)
            for i, (text, w) in enumerate(zip(cells, widths, strict=True)):
                self.cell(w, 6, _latin1(text), border="B", align="L" if i == 0 else "R", fill=fill)
            self.ln(6)

    return _Document


def _document(lang: Lang, title: str) -> Any:
    return _document_class()(lang, title)


def _header(pdf: Any, title: str, number: str | None, pmo_name: str, operation_name: str,
            start: date, end: date, key: str) -> None:
    lang = pdf.lang
    pdf.add_page()
    pdf.text_line(pmo_name, size=11, bold=True)
    pdf.text_line(f"{message('pmo', lang)} — {message('operation', lang)} « {operation_name} »", size=8)
    pdf.ln(4)
    pdf.text_line(title, size=16, bold=True, h=8)
    if number:
        pdf.text_line(f"{message('number', lang)} {number}")
    span = message("from_to", lang, a=day(start, lang), b=day(end, lang))
    pdf.text_line(f"{message('period', lang)}{_colon(lang)}{span}")
    pdf.text_line(f"{message('key', lang)}{_colon(lang)}{_key_label(key, lang)}")
    pdf.ln(2)


def _colon(lang: Lang) -> str:
    return " : " if lang == "fr" else ": "


def invoice_pdf(cb: ConsumerBill, run: BillingRun, *, pmo_name: str, lang: Lang = "fr") -> bytes:
    """One consumer's invoice for local energy, as PDF bytes (one page for an ordinary bill)."""
    bill, p = cb.bill, cb.participant
    pdf = _document(lang, f"{message('invoice', lang)} {cb.number}")
    _header(pdf, message("invoice", lang), cb.number, pmo_name, run.operation.name, bill.start, bill.end, run.key)
    if bill.illustrative:
        pdf.set_text_color(170, 0, 0)
        pdf.text_line(message("illustrative", lang), bold=True)
        pdf.set_text_color(0, 0, 0)
    pdf.text_line(f"{message('customer', lang)}{_colon(lang)}{p.name or mask_prm(p.prm)}", bold=True)
    pdf.text_line(f"{message('prm', lang)}{_colon(lang)}{bill.prm_masked}")
    pdf.ln(3)
    widths = (72, 26, 34, 30, 18)
    pdf.row([message(k, lang) for k in ("line", "quantity", "unit_price", "amount", "vat_rate")], widths,
            bold=True)
    for line in bill.lines:
        label = _line_label(line.label, lang) + ("" if line.in_total else f" ({message('not_billed', lang)})")
        if line.start is not None and line.end is not None:  # a bill split at a change of rate: the line's days
            label += f" ({line.start:%d/%m}-{line.end:%d/%m})"
        rate = percent(float(line.vat_rate), lang) if line.vat_rate is not None else "—"
        pdf.row([label, kwh(line.quantity_kwh, lang), price(line.unit_price_eur, lang),
                 money(line.amount_eur, lang), rate], widths)
    pdf.ln(2)
    totals = (("total_excl", bill.total_excl_vat_eur), ("vat", bill.vat_eur), ("total_incl", bill.total_incl_vat_eur))
    for k, v in totals:
        pdf.row([message(k, lang), money(v, lang)], (150, 30), bold=k == "total_incl")
    pdf.ln(4)
    pdf.text_line(message("complement", lang, kwh=kwh(bill.complement_kwh, lang)))
    pdf.text_line(message("two_bills", lang), size=8)
    if bill.sources:
        pdf.ln(3)
        pdf.text_line(message("sources", lang), size=7, bold=True, h=4)
        for s in bill.sources:
            pdf.text_line(s, size=6.5, h=3.5)
    return bytes(pdf.output())


def statement_pdf(st: ProducerStatement, run: BillingRun, *, pmo_name: str, lang: Lang = "fr") -> bytes:
    """A producer's statement for the period: injected, shared, surplus, and its local sales."""
    pdf = _document(lang, f"{message('statement', lang)} {st.number}")
    _header(pdf, message("statement", lang), st.number, pmo_name, run.operation.name, st.start, st.end, run.key)
    p = st.participant
    pdf.text_line(f"{message('customer', lang)}{_colon(lang)}{p.name or mask_prm(p.prm)}", bold=True)
    pdf.text_line(f"{message('prm', lang)}{_colon(lang)}{mask_prm(p.prm)}")
    pdf.ln(3)
    for k, v in (("injected", st.prod_kwh), ("shared", st.autoprod_kwh), ("surplus", st.surplus_kwh)):
        pdf.row([message(k, lang), f"{kwh(v, lang)} kWh"], (140, 40))
    pdf.row([message("local_sales", lang), money(st.local_sales_eur, lang)], (140, 40), bold=True)
    return bytes(pdf.output())


def summary_pdf(summary: YearlySummary, *, pmo_name: str, lang: Lang = "fr") -> bytes:
    """The operation's year, month by month, then participant by participant."""
    pdf = _document(lang, f"{message('summary', lang)} {summary.year}")
    _header(pdf, f"{message('summary', lang)} {summary.year}", None, pmo_name, summary.operation.name,
            date(summary.year, 1, 1), date(summary.year, 12, 31), summary.key)
    widths = (20, 28, 28, 28, 24, 24, 38)
    pdf.row([message(k, lang) for k in ("month", "prod", "autocons", "cons")] + ["AC", "AP", message("billed", lang)],
            widths, bold=True)
    rows = summary.month_rows()
    for r in rows:
        pdf.row([r["month"], kwh(r["prod_kwh"], lang), kwh(r["autocons_kwh"], lang), kwh(r["cons_kwh"], lang),
                 percent(r["self_consumption"], lang), percent(r["self_production"], lang),
                 money(r["billed_incl_vat_eur"], lang)], widths)
    prod = sum((r["prod_kwh"] for r in rows), Decimal(0))
    auto = sum((r["autocons_kwh"] for r in rows), Decimal(0))
    cons = sum((r["cons_kwh"] for r in rows), Decimal(0))
    pdf.row([message("year_total", lang), kwh(prod, lang), kwh(auto, lang), kwh(cons, lang),
             percent(float(auto / prod) if prod else None, lang), percent(float(auto / cons) if cons else None, lang),
             money(sum((r["billed_incl_vat_eur"] for r in rows), Decimal(0)), lang)], widths, bold=True)
    pdf.text_line(f"AC = {message('sc_rate', lang)} ; AP = {message('sp_rate', lang)}", size=7)
    pdf.ln(4)
    pdf.text_line(message("participants", lang), size=11, bold=True)
    widths = (70, 36, 36, 48)
    pdf.row([message(k, lang) for k in ("customer", "col_energy", "col_shared", "col_amount")], widths, bold=True)
    for r in summary.participant_rows():
        p = r["participant"]
        name = f"{p.name or ''} {mask_prm(p.prm)}".strip()
        if "cons_kwh" in r:
            pdf.row([name, kwh(r["cons_kwh"], lang), kwh(r["autocons_kwh"], lang),
                     money(r["billed_incl_vat_eur"], lang)], widths)
        else:
            pdf.row([name, kwh(r["prod_kwh"], lang), kwh(r["autoprod_kwh"], lang),
                     money(r["local_sales_eur"], lang)], widths)
    return bytes(pdf.output())


# ------------------------------------------------------------------------------------------------ CSV

INVOICE_COLUMNS = (
    "number", "prm", "name", "start", "end", "autocons_kwh", "local_price_eur_per_kwh", "energy_eur", "turpe_eur",
    "accise_eur", "total_excl_vat_eur", "vat_eur", "total_incl_vat_eur", "complement_kwh", "illustrative",
)  # fmt: skip


def _amount(cb: ConsumerBill, prefix: str) -> Decimal:
    return sum((line.amount_eur for line in cb.bill.lines if line.label.startswith(prefix) and line.in_total),
               Decimal(0))


def invoices_csv(run: BillingRun) -> str:
    """One row per invoice (``;``-separated, decimal point): what an accounting import needs."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(INVOICE_COLUMNS)
    for cb in run.bills:
        b = cb.bill
        w.writerow([
            cb.number, b.prm_masked, cb.participant.name, b.start.isoformat(), b.end.isoformat(),
            b.lines[0].quantity_kwh, b.lines[0].unit_price_eur, _amount(cb, "Local energy"), _amount(cb, "TURPE"),
            _amount(cb, "Accise"), b.total_excl_vat_eur, b.vat_eur, b.total_incl_vat_eur, b.complement_kwh,
            int(b.illustrative),
        ])  # fmt: skip
    return buf.getvalue()


def statements_csv(run: BillingRun) -> str:
    """One row per producer statement."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(("number", "prm", "name", "start", "end", "prod_kwh", "autoprod_kwh", "surplus_kwh", "local_sales_eur"))
    for s in run.statements:
        w.writerow([s.number, mask_prm(s.participant.prm), s.participant.name, s.start.isoformat(), s.end.isoformat(),
                    s.prod_kwh, s.autoprod_kwh, s.surplus_kwh, s.local_sales_eur])
    return buf.getvalue()


def summary_csv(summary: YearlySummary) -> str:
    """The yearly summary's month rows (plain numbers; rates as fractions)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    cols = ("month", "prod_kwh", "autocons_kwh", "surplus_kwh", "cons_kwh", "self_consumption", "self_production",
            "billed_excl_vat_eur", "billed_incl_vat_eur")
    w.writerow(cols)
    for r in summary.month_rows():
        w.writerow(["" if r[c] is None else (f"{r[c]:.6f}" if isinstance(r[c], float) else r[c]) for c in cols])
    return buf.getvalue()


def write_documents(run: BillingRun, out: Path, *, pmo_name: str, lang: Lang = "fr") -> list[Path]:
    """Write every invoice and statement PDF of a period plus ``invoices.csv`` and ``statements.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for cb in run.bills:
        path = out / f"{cb.number}.pdf"
        path.write_bytes(invoice_pdf(cb, run, pmo_name=pmo_name, lang=lang))
        written.append(path)
    for st in run.statements:
        path = out / f"{st.number}.pdf"
        path.write_bytes(statement_pdf(st, run, pmo_name=pmo_name, lang=lang))
        written.append(path)
    for name, text in (("invoices.csv", invoices_csv(run)), ("statements.csv", statements_csv(run))):
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return written
