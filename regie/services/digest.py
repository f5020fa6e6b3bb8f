"""The monthly digest: an e-mail to each member who asked for it (``/me``, opt-in) with the month's figures —
their consumption, the local share of it, its estimated cost, and the village's published rates — and a
link that stops it without logging in.

- Nothing is sent without the opt-in (:func:`regie.store.member_preferences.subscribers`), nor to a
  disabled account or one without an address; a month already sent to an account is not sent again unless
  asked (``force``).
- The member's figures are read through the gate as the member (the dashboard's reads: they show in their
  access log, purpose dpv:ServiceProvision, the service they asked for); the village's rates are the public
  balance's (:func:`regie.publication.balance.public_balance`), None where secrecy hides them.
- Each attempt is logged (``digest_log``: account, month, when, sent or failed and why — never the body).
- The unsubscribe link carries a one-time token (:mod:`regie.governance.one_time`, purpose ``unsubscribe``,
  valid :data:`UNSUBSCRIBE_TTL`); the message also has ``List-Unsubscribe`` and ``List-Unsubscribe-Post``
  (RFC 8058: one-click unsubscribe from the mail client).

- The signal's green hours used: the share of the member's consumption that fell in the half-hours the
  **day-ahead signal** called green (:func:`regie.services.signal.day_ahead_levels`: the signal as issued at
  noon the day before, from the public figures known then, replayed), one replay per month for everyone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal, format_percent

from regie.analytics import signal as sig
from regie.governance import accounts, one_time
from regie.governance.accounts import Account, Role
from regie.mail import SmtpServer, text_message
from regie.model import Inventory, Step
from regie.publication.balance import public_balance
from regie.services import member
from regie.services import signal as signals
from regie.services.balance import BalanceRequestError
from regie.store import Store
from regie.store import member_preferences as prefs_store

UNSUBSCRIBE = "unsubscribe"
UNSUBSCRIBE_TTL = 400 * 86400  # a link stays good for a year of digests and a little more
Translate = Callable[[str], Callable[[str], str]]  # locale → gettext


def address_of(store: Store, account: Account) -> str | None:
    """Where the member's mail goes: the account's address, else the person's in the inventory."""
    if account.email:
        return account.email
    inv = store.load_inventory()
    person = next((p for p in inv.persons if p.id == account.holder_id), None)
    return person.email if person is not None and person.email else None


def _account_by_id(store: Store, account_id: int) -> Account | None:
    return next((a for a in accounts.list_accounts(store) if a.id == account_id), None)


def issue_unsubscribe(store: Store, account_id: int, *, now: int | None = None) -> str:
    """A one-time token that stops the account's digest (older links stay valid until used or expired)."""
    with store.engine.begin() as conn:
        token, _ = one_time.issue(conn, account_id, UNSUBSCRIBE, UNSUBSCRIBE_TTL, created_by="regie-digest",
                                  now=one_time.now_s(now), replace=False)  # fmt: skip
    return token


def unsubscribe(store: Store, token: str, *, now: int | None = None) -> int:
    """Spend the token and stop the digest of its account (its other choices stay); returns the account id.
    Raises :class:`regie.governance.one_time.TokenError` for an unknown, used or expired link."""
    one_time.check(store, token, UNSUBSCRIBE, now=now)
    with store.engine.begin() as conn:
        account_id = one_time.spend(conn, token, UNSUBSCRIBE, one_time.now_s(now))
    current = prefs_store.get(store, account_id)
    prefs_store.put(store, account_id, prefs_store.Preferences(current.tariff_option, False, current.language))
    return account_id


@dataclass(frozen=True, slots=True)
class Outcome:
    username: str
    outcome: str  # sent, failed, skipped
    detail: str = ""


def village_rates(store: Store, month: str) -> dict[str, float | None]:
    """The territory's published rates over the month (None where secrecy hides them)."""
    first, end = member.month_bounds(month)
    zone = store.load_inventory().territory.zone
    a = datetime(first.year, first.month, first.day, tzinfo=zone)
    b = datetime(end.year, end.month, end.day, tzinfo=zone)
    try:
        totals = public_balance(store, a, b, Step.parse("P1M"))["totals"]
    except BalanceRequestError:
        return {"self_sufficiency": None, "coverage": None, "self_consumption": None}
    return {k: totals.get(k) for k in ("self_sufficiency", "coverage", "self_consumption")}


@dataclass(frozen=True, slots=True)
class GreenSteps:
    """The day-ahead signal's levels over a month (:func:`regie.services.signal.day_ahead_levels`)."""

    a: int
    step: int
    levels: list[str]


def green_steps(store: Store, inv: Inventory, month: str) -> GreenSteps | None:
    """The month's replayed day-ahead levels, None when the signal cannot be computed for the territory (no
    coordinates, no load curve) — the mail then leaves the figure out."""
    first, end = member.month_bounds(month)
    zone = inv.territory.zone
    try:
        t, step, levels = signals.day_ahead_levels(store, inv, member.local_midnight(first, zone),
                                                   member.local_midnight(end, zone))  # fmt: skip
    except (signals.SignalError, BalanceRequestError):
        return None
    return GreenSteps(int(t[0]), step, levels) if len(t) else None


def green_use(store: Store, account: Account, green: GreenSteps | None) -> dict[str, Any] | None:
    """The member's consumption in the green steps (read through the gate as the member, like the dashboard)."""
    if green is None:
        return None
    series = member.consumption_series(store, account.holder_id or "")
    if not series:
        return None
    b = green.a + green.step * len(green.levels)
    wh = member.my_consumption(store, account, series, green.a, b, green.step)
    use = sig.green_use(wh, green.levels)
    return {"share": use.share, "green_wh": use.green_wh, "consumption_wh": use.consumption_wh,
            "unknown_wh": use.unknown_wh, "green_hours": use.green_steps * green.step / 3600}  # fmt: skip


def compose(figures: dict[str, Any], rates: dict[str, float | None], month: str, locale: str,
            gettext: Callable[[str], str], link: str, territory: str) -> tuple[str, str]:  # fmt: skip
    """(subject, body) of one member's digest in ``locale``."""
    _ = gettext

    def kwh(wh: float) -> str:
        return format_decimal(round(wh / 1000, 1), format="#,##0.0", locale=locale) + " kWh"

    def pct(x: float | None) -> str:
        return _("hidden (statistical secrecy)") if x is None else format_percent(x, format="#,##0 %", locale=locale)

    lines = [_("Your energy in %(month)s, %(territory)s") % {"month": month, "territory": territory}, ""]
    lines.append(_("Your consumption: %(value)s") % {"value": kwh(figures["consumption_wh"])})
    if figures["last_year_wh"]:
        lines.append(_("Same month last year: %(value)s") % {"value": kwh(figures["last_year_wh"])})
    share = figures["local_share"]
    if share and share["share"] is not None:
        lines.append(_("%(share)s of your electricity came from the village's own production (%(value)s).")
                     % {"share": pct(share["share"]), "value": kwh(share["local_wh"])})  # fmt: skip
    if share and share["unknown_wh"]:
        unknown = _(
            "The local share is unknown for %(value)s of your consumption: the village's figures are "
            "hidden by statistical secrecy over those half-hours."
        )
        lines.append(unknown % {"value": kwh(share["unknown_wh"])})
    cost = figures["cost"]
    if cost and cost["eur"] is not None:
        money = format_decimal(cost["eur"], format="#,##0.00", locale=locale)
        lines.append(_("Estimated cost of that energy at the regulated tariff: %(eur)s EUR (subscription not "
                       "included).") % {"eur": money})  # fmt: skip
    green = figures.get("green")
    if green and green["share"] is not None:
        hours = format_decimal(round(green["green_hours"], 1), format="#,##0.#", locale=locale)
        used = _(
            "%(share)s of your consumption fell in the half-hours the signal called green (a local surplus "
            "expected): %(value)s."
        )
        lines.append(used % {"share": pct(green["share"]), "value": kwh(green["green_wh"])})
        what = _(
            "The signal was green for %(hours)s hours this month: the day-ahead signal, as issued at noon the "
            "day before from the village's public figures."
        )
        lines.append(what % {"hours": hours})
        if green["unknown_wh"] > 0:
            apart = _("The signal had no level for %(value)s of your consumption (too little public data then): "
                      "that part is left out of the share.")  # fmt: skip
            lines.append(apart % {"value": kwh(green["unknown_wh"])})
    elif green is not None:
        lines.append(_("The signal's green hours: unknown this month (not enough public figures)."))
    lines += ["", _("The village this month:"),
              _("self-sufficiency: %(value)s") % {"value": pct(rates["self_sufficiency"])},
              _("coverage by local production: %(value)s") % {"value": pct(rates["coverage"])},
              _("self-consumption of local production: %(value)s") % {"value": pct(rates["self_consumption"])},
              "", _("You receive this digest because you asked for it on your page. To stop it:"), link]  # fmt: skip
    subject = _("Your energy in %(month)s") % {"month": month}
    return subject, "\n".join(lines)


def send_digests(store: Store, server: SmtpServer | None, month: str, *, base_url: str, translate: Translate,
                 force: bool = False, now: int | None = None) -> list[Outcome]:  # fmt: skip
    """Send the digest of ``month`` to every member who opted in; returns one outcome per subscriber.

    Without an SMTP server nothing is sent (each subscriber's outcome says so, and nothing is logged as sent).
    """
    member.month_bounds(month)  # ValueError on a malformed month, before anything is read or sent
    at = int(time.time()) if now is None else int(now)
    done = prefs_store.digests_sent(store, month)
    inv = store.load_inventory()
    rates = village_rates(store, month)
    green: GreenSteps | None = None
    replayed = False
    out: list[Outcome] = []
    for account_id, prefs in prefs_store.subscribers(store):
        acct = _account_by_id(store, account_id)
        if acct is None or acct.role is not Role.MEMBER or acct.disabled_at is not None:
            out.append(Outcome(acct.username if acct else str(account_id), "skipped", "not an active member"))
            continue
        if account_id in done and not force:
            out.append(Outcome(acct.username, "skipped", f"the digest of {month} was already sent"))
            continue
        to = address_of(store, acct)
        if not to:
            out.append(Outcome(acct.username, "skipped", "no e-mail address"))
            continue
        if server is None:
            out.append(Outcome(acct.username, "skipped", "no SMTP server configured (REGIE_SMTP_HOST)"))
            continue
        first, _ = member.month_bounds(month)
        figures = member.dashboard(store, acct, inv, "month", first, prefs.tariff_option).as_dict()
        if not replayed:  # once for everyone, and only when someone gets a mail
            green, replayed = green_steps(store, inv, month), True
        figures["green"] = green_use(store, acct, green)
        token = issue_unsubscribe(store, account_id, now=at)
        link = f"{base_url.rstrip('/')}/digest/unsubscribe/{token}"
        subject, body = compose(figures, rates, month, prefs.language, translate(prefs.language), link,
                                inv.territory.name)  # fmt: skip
        message = text_message(to, subject, body)
        # one line per header up to RFC 5322's 998 characters: a long link is never folded into encoded words
        # (RFC 2369 wants the URL in angle brackets as it is)
        message.policy = message.policy.clone(max_line_length=998)
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        try:
            server.send(message)
        except OSError as exc:  # smtplib errors are OSErrors: log, go on with the next member
            prefs_store.log_digest(store, account_id, month, "failed", f"{type(exc).__name__}: {exc}", now=at)
            out.append(Outcome(acct.username, "failed", str(exc)))
            continue
        prefs_store.log_digest(store, account_id, month, "sent", None, now=at)
        out.append(Outcome(acct.username, "sent"))
    return out
