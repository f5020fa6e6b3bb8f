"""Invoices, statements and the yearly summary as PDF and CSV: they open, and their totals are the service's."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from _acc_store import PRM_A, PRM_C, RecordingReader, build
from pypdf import PdfReader

from regie.services import acc as service
from regie.services import invoices


@pytest.fixture
def run(store_url: str):
    store = build(store_url)
    try:
        yield service.bill_month(store, "acc-test", "2025-06", RecordingReader(store))
    finally:
        store.close()


def _text(pdf: bytes) -> tuple[int, str]:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), text.replace("\u00a0", " ")


def test_invoice_pdf_in_french_holds_the_totals(run) -> None:
    cb = next(b for b in run.bills if b.participant.prm == PRM_A)
    pages, text = _text(invoices.invoice_pdf(cb, run, pmo_name="Coopérative solaire", lang="fr"))
    assert pages == 1
    assert "Facture d'énergie locale" in text
    assert "2 386,04 EUR" in text  # total TTC, hand-checked in test_acc_service
    assert "1 988,37 EUR" in text and "397,67 EUR" in text
    assert "10 824,000" in text  # kWh allocated
    assert "3 576,000 kWh" in text  # the complement (14,400 − 10,824 kWh), for information
    assert "**********0002" in text and "30000000000002" not in text
    assert "du 1 juin 2025 au 30 juin 2025" in text


def test_invoice_pdf_in_english(run) -> None:
    cb = next(b for b in run.bills if b.participant.prm == PRM_C)
    _, text = _text(invoices.invoice_pdf(cb, run, pmo_name="Solar cooperative", lang="en"))
    assert "Local energy invoice" in text
    assert "167.50 EUR" in text
    assert "from 2 June 2025 to 30 June 2025" in text


def test_csv_totals_equal_the_service(run) -> None:
    rows = list(csv.DictReader(io.StringIO(invoices.invoices_csv(run)), delimiter=";"))
    assert len(rows) == len(run.bills) == 3
    assert sum(Decimal(r["total_incl_vat_eur"]) for r in rows) == run.total_incl_vat_eur
    assert sum(Decimal(r["total_excl_vat_eur"]) for r in rows) == run.total_excl_vat_eur
    for r, cb in zip(rows, run.bills, strict=True):
        assert Decimal(r["energy_eur"]) + Decimal(r["turpe_eur"]) + Decimal(r["accise_eur"]) == Decimal(
            r["total_excl_vat_eur"]
        )
        assert Decimal(r["autocons_kwh"]) == cb.bill.lines[0].quantity_kwh
        assert not r["prm"][:10].isdigit()  # masked
    (st,) = list(csv.DictReader(io.StringIO(invoices.statements_csv(run)), delimiter=";"))
    assert Decimal(st["local_sales_eur"]) == sum((b.bill.lines[0].amount_eur for b in run.bills), Decimal(0))


def test_producer_statement_and_written_documents(run, tmp_path) -> None:
    (st,) = run.statements
    pages, text = _text(invoices.statement_pdf(st, run, pmo_name="Coopérative solaire", lang="fr"))
    assert pages == 1 and "Relevé du producteur" in text and "17 280,000 kWh" in text
    written = invoices.write_documents(run, tmp_path, pmo_name="Coopérative solaire", lang="en")
    assert sorted(p.suffix for p in written) == [".csv", ".csv", ".pdf", ".pdf", ".pdf", ".pdf"]
    assert all(p.stat().st_size > 0 for p in written)


def test_yearly_summary_pdf_and_csv(store_url: str) -> None:
    store = build(store_url)
    try:
        summary = service.yearly_summary(store, "acc-test", 2025, RecordingReader(store))
    finally:
        store.close()
    rows = list(csv.DictReader(io.StringIO(invoices.summary_csv(summary)), delimiter=";"))
    assert len(rows) == 12
    assert sum(Decimal(r["billed_incl_vat_eur"]) for r in rows) == sum(
        (m.total_incl_vat_eur for m in summary.months), Decimal(0)
    )
    pages, text = _text(invoices.summary_pdf(summary, pmo_name="Coopérative solaire", lang="fr"))
    assert pages >= 1 and "Bilan annuel de l'opération 2025" in text and "2025-06" in text


def test_messages_exist_in_both_languages() -> None:
    for key, texts in invoices.MESSAGES.items():
        assert texts.get("fr") and texts.get("en"), key
