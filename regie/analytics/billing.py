"""Bills of a collective self-consumption operation: what the PMO invoices each consumer for local energy.

Each consumer of an ACC operation gets two bills (Code de l'énergie art. L315-4): the PMO's (or the
producer's) for the energy allocated to it, AUTOCONS, at the operation's local price; and its usual
supplier's for the rest, COMPLEMENT, computed by the grid operator. regie computes the first and shows
the complement for information only.

Taxes and network charges come from versioned data files (:mod:`regie.analytics.tariffs`), passed in as
:class:`Parameters` so these functions stay pure. Money is handled as ``Decimal`` and each line is
rounded to the cent (half up), as on a printed invoice. Energies are in Wh in, kWh on the bill.

What applies to which line (the rules, with their texts; the rates are in the data files):

- local energy (the PMO's price): VAT at the normal rate (CGI art. 278);
- accise sur l'électricité, per MWh consumed, by category (CIBS art. L. 312-24 categories, L. 312-37 normal
  rates, L. 312-37-1 ZNI surcharge): in the VAT base, as every tax but VAT itself (CGI art. 267 I 1°);
- the TURPE line (ACC option, energy component): in the VAT base too;
- CTA (contribution tarifaire d'acheminement, loi n° 2004-803 du 9 août 2004, art. 18): assessed on the
  *fixed* part of the TURPE only (décret n° 2005-123 du 14 février 2005, art. 1: for BT ≤ 36 kVA the
  subscription), so never on a line of energy: a local-energy bill, which has no subscription, carries none.

A bill whose period straddles a change of figures is split at the date (:func:`bill_consumer_over` with one
:class:`Part` per stretch, :func:`regie.analytics.tariffs.periods`): each stretch's lines use the figures in
force over all of it, and say which days they cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Literal

from regie.analytics.tariffs import Parameters
from regie.model.metering import mask_prm
from regie.model.operation import Participant, ParticipantType

CENT = Decimal("0.01")
AcciseCategory = Literal["household", "sme", "high_power"]
TurpeMode = Literal["none", "information", "billed"]


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def accise_category(subscribed_kva: float | None) -> AcciseCategory:
    """Accise category from subscribed power (CIBS): ≤ 36 kVA "ménages et assimilés", ≤ 250 kVA PME."""
    if subscribed_kva is None or subscribed_kva <= 36:
        return "household"
    return "sme" if subscribed_kva <= 250 else "high_power"


@dataclass(frozen=True, slots=True)
class PriceRule:
    """A local price [EUR/kWh, excluding VAT] for participants of a type and/or who entered in a window.

    ``entered_from`` is included, ``entered_before`` excluded; None means no bound.
    """

    price_eur_per_kwh: float
    participant_type: ParticipantType | None = None
    entered_from: date | None = None
    entered_before: date | None = None

    def matches(self, participant: Participant) -> bool:
        return ((self.participant_type is None or participant.type == self.participant_type)
                and (self.entered_from is None or participant.entry >= self.entered_from)
                and (self.entered_before is None or participant.entry < self.entered_before))


@dataclass(frozen=True, slots=True)
class LocalPrice:
    """The operation's price for local energy: the first matching rule, else the default [EUR/kWh HT].

    The PMO sets it (e.g. a lower price for the commune, or the price each household signed at entry).
    """

    default_eur_per_kwh: float
    rules: tuple[PriceRule, ...] = ()

    def __post_init__(self) -> None:
        for p in (self.default_eur_per_kwh, *(r.price_eur_per_kwh for r in self.rules)):
            if p < 0:
                raise ValueError(f"a local price cannot be negative, got {p} EUR/kWh")

    def for_participant(self, participant: Participant) -> float:
        return next((r.price_eur_per_kwh for r in self.rules if r.matches(participant)), self.default_eur_per_kwh)


@dataclass(frozen=True, slots=True)
class BillingConfig:
    """How an operation bills. ``turpe``: the network charge on self-consumed energy under the TURPE
    collective self-consumption option — left out (``"none"``), shown for information (``"information"``,
    when the supplier passes it on) or invoiced by the PMO (``"billed"``). ``accise`` and ``vat`` say
    whether the PMO charges those taxes on local energy (it depends on the operation's legal and tax set-up:
    configure, don't assume)."""

    local_price: LocalPrice
    turpe: TurpeMode = "none"
    accise: bool = True
    vat: bool = True


@dataclass(frozen=True, slots=True)
class TariffSet:
    """The parameter versions one bill uses; each must be in force over the whole period."""

    vat: Parameters | None = None
    accise: Parameters | None = None
    turpe_acc: Parameters | None = None

    def all(self) -> list[Parameters]:
        return [p for p in (self.vat, self.accise, self.turpe_acc) if p is not None]


@dataclass(frozen=True, slots=True)
class BillLine:
    """One line; ``start``/``end`` (local days, included) when the bill is split at a change of figures."""

    label: str
    quantity_kwh: Decimal
    unit_price_eur: Decimal
    amount_eur: Decimal
    vat_rate: Decimal | None
    in_total: bool = True
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """A stretch [start, end] of a bill's period (local days, included), its AUTOCONS [Wh] and the tariffs in
    force over all of it."""

    start: date
    end: date
    autocons_wh: float
    tariffs: TariffSet


@dataclass(frozen=True, slots=True)
class Bill:
    """A consumer's bill for local energy over [start, end] (local days, both included)."""

    prm_masked: str
    start: date
    end: date
    lines: tuple[BillLine, ...]
    total_excl_vat_eur: Decimal
    vat_eur: Decimal
    total_incl_vat_eur: Decimal
    complement_kwh: Decimal
    sources: tuple[str, ...] = field(default=())
    illustrative: bool = False


def _check_in_force(params: Parameters, start: date, end: date) -> None:
    if not params.in_force(start) or not params.in_force(end):
        change = params.valid_until + timedelta(days=1) if params.valid_until else params.valid_from
        raise ValueError(f"{params.kind} parameters of {params.file} are not in force over {start}…{end}; "
                         f"the period straddles a change on {change}: bill the two parts separately")


def bill_consumer(participant: Participant, autocons_wh: float, complement_wh: float, start: date, end: date,
                  config: BillingConfig, tariffs: TariffSet,
                  category: AcciseCategory = "household") -> Bill:
    """Bill one consumer for the local energy allocated to it over a period with one set of tariffs.

    Parameters
    ----------
    autocons_wh : Σ AUTOCONS of the consumer over the period [Wh]
    complement_wh : Σ COMPLEMENT [Wh], billed by its own supplier: shown for information
    category : the consumer's accise category (see :func:`accise_category`)
    """
    return bill_consumer_over(participant, [Part(start, end, autocons_wh, tariffs)], complement_wh, config, category)


def _kwh(wh: Decimal) -> Decimal:
    return (wh / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def bill_consumer_over(participant: Participant, parts: Sequence[Part], complement_wh: float, config: BillingConfig,
                       category: AcciseCategory = "household") -> Bill:
    """Bill one consumer over consecutive stretches, each with the tariffs in force over all of it.

    The local energy is one line at the PMO's price (split only if its VAT rate changes); the TURPE and
    accise lines are one per stretch, dated, so a month across a change of rate shows both periods.
    The stretches' kWh add up to the bill's: the last takes what rounding left.
    """
    if not parts:
        raise ValueError("a bill needs at least one period")
    for a, b in pairwise(parts):
        if b.start != a.end + timedelta(days=1):
            raise ValueError(f"bill periods must follow each other: {a.end} then {b.start}")
    start, end = parts[0].start, parts[-1].end
    if end < start or any(p.end < p.start for p in parts):
        raise ValueError(f"bill period ends ({end}) before it starts ({start})")
    if any(p.autocons_wh < 0 for p in parts) or complement_wh < 0:
        raise ValueError("allocated and complement energies cannot be negative")
    for p in parts:
        for params in p.tariffs.all():
            _check_in_force(params, p.start, p.end)
    total_kwh = _kwh(sum((_dec(p.autocons_wh) for p in parts), Decimal(0)))
    kwhs = [_kwh(_dec(p.autocons_wh)) for p in parts[:-1]]
    kwhs.append(total_kwh - sum(kwhs, Decimal(0)))
    split = len(parts) > 1

    def dated(p: Part) -> dict:
        return {"start": p.start, "end": p.end} if split else {}

    vat_rates = []
    for p in parts:
        if not config.vat:
            vat_rates.append(None)
        elif p.tariffs.vat is None:
            raise ValueError("VAT is configured but no VAT parameters were given")
        else:
            vat_rates.append(_dec(p.tariffs.vat.values["energy"]))
    price = _dec(config.local_price.for_participant(participant))
    label = "Local energy (autoconsommation collective)"
    if len(set(vat_rates)) == 1:
        lines = [BillLine(label, total_kwh, price, _money(total_kwh * price), vat_rates[0])]
    else:
        lines = [BillLine(label, k, price, _money(k * price), r, **dated(p))
                 for p, k, r in zip(parts, kwhs, vat_rates, strict=True)]
    for p, kwh, vat_rate in zip(parts, kwhs, vat_rates, strict=True):
        if config.turpe != "none":
            if p.tariffs.turpe_acc is None:
                raise ValueError(f"TURPE mode {config.turpe!r} needs the turpe_acc parameters")
            rate = _dec(p.tariffs.turpe_acc.values["autoproduced"])
            lines.append(BillLine("TURPE, self-consumed energy (ACC option)", kwh, rate, _money(kwh * rate), vat_rate,
                                  in_total=config.turpe == "billed", **dated(p)))
    for p, kwh, vat_rate in zip(parts, kwhs, vat_rates, strict=True):
        if config.accise:
            if p.tariffs.accise is None:
                raise ValueError("accise is configured but no accise parameters were given")
            rate = _dec(p.tariffs.accise.values[category]) / 1000  # EUR/MWh → EUR/kWh
            lines.append(BillLine(f"Accise sur l'électricité ({category})", kwh, rate, _money(kwh * rate), vat_rate,
                                  **dated(p)))
    billed = [line for line in lines if line.in_total]
    total = sum((line.amount_eur for line in billed), Decimal(0))
    vat = sum((_money(line.amount_eur * line.vat_rate) for line in billed if line.vat_rate is not None), Decimal(0))
    used = list({params.file: params for p in parts for params in p.tariffs.all()}.values())
    return Bill(
        prm_masked=mask_prm(participant.prm), start=start, end=end, lines=tuple(lines),
        total_excl_vat_eur=total, vat_eur=vat, total_incl_vat_eur=total + vat,
        complement_kwh=_kwh(_dec(complement_wh)),
        sources=tuple(p.cite() for p in used), illustrative=any(p.illustrative for p in used),
    )


def bill_operation(consumers: Sequence[Participant], autocons_wh: Sequence[float], complement_wh: Sequence[float],
                   start: date, end: date, config: BillingConfig, tariffs: TariffSet,
                   categories: Sequence[AcciseCategory] | None = None) -> list[Bill]:
    """Bills of every consumer for a period, from the per-consumer totals of an allocation [Wh]."""
    if not len(consumers) == len(autocons_wh) == len(complement_wh):
        raise ValueError("one AUTOCONS and one COMPLEMENT total per consumer")
    cats = categories if categories is not None else ["household"] * len(consumers)
    return [bill_consumer(p, float(a), float(c), start, end, config, tariffs, cat)
            for p, a, c, cat in zip(consumers, autocons_wh, complement_wh, cats, strict=True)]
