"""The one authorisation point for writes: who may put readings into which series, and the log of it.

The gate (:mod:`regie.governance.gate`) decides every read of personal data; this module decides every write
of readings, whatever the door: the file import API and the upload page, the emoncms routes, MQTT, the
release of quarantined readings, the re-mapping of an input, and the CLI. A door builds a :class:`Writer`
(who asks, how) and a :class:`WriteGuard` for one request; the ingest code (which knows nothing of
accounts) calls the guard on every series it is about to write or create, inside its transaction, and a
refusal (:class:`WriteDenied`) rolls the whole request back: nothing is written. Once the request is over,
:meth:`WriteGuard.finish` appends one :class:`regie.governance.audit.WriteEvent` — allowed or refused, why,
which series, whose data — to the access log; a write that failed for another reason rolled back and is not
logged (as the gate logs a read only once it happened).

Who may write what (OWASP ASVS v4 §4.1.3 "principle of least privilege", §4.2.1 "protection against
insecure direct object references": a caller names a series, the server checks it is theirs):

- the régie's admin, and the shell running ``regie`` (it can open the database anyway): any series;
- an operator of an organisation of kind *régie* (the body that meters the territory): any series;
- a machine key without an owner (issued by the admin with ``regie key add``, for an importer or a gateway
  of the régie): any series, except that a key bound to an emoncms node posts that node's inputs only;
- a sensor key bound to a site (``api_key.site_id``): only that site's series (``series.site_id``, no
  delivery point), and the inputs it posts are created there — whoever owns the key, the site bounds it;
- MQTT: what the broker lets through (its ACL authenticates publishers), as the régie's machine;
- a member (a session, or an API key they own): only the series that describe them — on a delivery point
  they hold, or on the site of one (:func:`regie.governance.gate.personal_prms`) — and only for instants
  when they held it, so a member can neither overwrite a neighbour's curve nor the previous occupant's.
  A series a member's input or import creates is put on their site (their data, governed as such);
  readings of an unknown delivery point are the régie's to quarantine, not a member's;
- anyone else (an operator of a cooperative or a commune, the public, a disabled account): nothing.

Live inputs (the emoncms routes, MQTT) post every few seconds: for them, a decision that repeats one already
logged by this process (same caller, door, series and outcome) within :data:`RELOG_S` is not appended again.
Every file import, release and re-mapping is logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TypeVar

from sqlalchemy import select

from regie.governance import audit, territories
from regie.governance.accounts import CLI_ADMIN, PUBLIC, Account, Role, is_active
from regie.governance.gate import holding_periods, personal_prms
from regie.model import OrganisationKind, Series
from regie.store import Store
from regie.store.schema import organisation

T = TypeVar("T")
RELOG_S = 3600
_MAX_LOGGED_SERIES = 20  # a file import may touch hundreds of series: the event names the first ones


class WriteDenied(PermissionError):
    """A write was refused; ``reason`` says why (it is also in the access log). Nothing was written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Writer:
    """Who writes: an account (:data:`PUBLIC` for a key without owner), how (``session``, ``api_key``,
    ``cli``, ``mqtt``), and the key's id and node when it came with a key."""

    account: Account
    via: str
    key_id: int | None = None
    node: str | None = None
    site_id: str | None = None  # a sensor key: writes its site's series only

    @property
    def label(self) -> str:
        if self.account.role is Role.PUBLIC and self.key_id is not None:
            return f"key#{self.key_id}"
        return self.account.label


CLI = Writer(CLI_ADMIN, "cli")
MQTT = Writer(PUBLIC, "mqtt")


def key_writer(account: Account, key_id: int, node: str | None, site_id: str | None = None) -> Writer:
    """The writer behind an API key: its owner (or :data:`PUBLIC`), its id, its node and its site."""
    return Writer(account, "api_key", key_id, node, site_id)


def regie_of(store: Store, account: Account) -> str | None:
    """The territory whose régie (an organisation of kind régie: the body that meters it) ``account``
    operates, whichever territory of the store it is in; None for anyone else."""
    if account.role is not Role.OPERATOR or not account.operator_of:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(
            select(organisation.c.territory_id, organisation.c.kind).where(organisation.c.id == account.operator_of)
        ).one_or_none()  # fmt: skip
    return row.territory_id if row is not None and row.kind == OrganisationKind.REGIE.value else None


def regie_operator(store: Store, account: Account) -> bool:
    """An operator of an organisation of kind régie (the body that meters the territory)."""
    return regie_of(store, account) is not None


def territory_bound(store: Store, writer: Writer) -> str | None:
    """The one territory a writer of the régie may write in: an admin's own (``account.territory_id``), a régie
    operator's régie's; None for a writer of every territory (an admin of all, the shell, MQTT, machine keys)."""
    if writer.via in ("cli", "mqtt") or writer.account.role is Role.PUBLIC:
        return None
    if writer.account.role is Role.ADMIN:
        return writer.account.territory_id
    return regie_of(store, writer.account)


def _whole(store: Store, writer: Writer) -> str | None:
    """Why ``writer`` may write any series, or None when it may write only its own."""
    if writer.site_id is not None:
        return None
    if writer.via == "cli" and writer.account.id == CLI_ADMIN.id:
        return "the server's shell (regie CLI)"
    if writer.via == "mqtt":
        return "MQTT: a publisher the broker's ACL let through"
    if writer.account.role is Role.PUBLIC and writer.key_id is not None:
        return f"the régie's machine key #{writer.key_id}" + (f" (node {writer.node})" if writer.node else "")
    if writer.account.role is Role.ADMIN:
        return "admin"
    if regie_operator(store, writer.account):
        return f"operator of the régie {writer.account.operator_of}"
    return None


@dataclass
class WriteGuard:
    """The decisions of one write request (a file, a post, an MQTT batch); see the module docstring.

    ``action`` names the door (``import/csv``, ``input/post``, ``mqtt``, ``quarantine/release``...);
    ``source`` what was written (a file name, a node)."""

    store: Store
    writer: Writer
    action: str
    source: str = ""
    live: bool = False  # a live door: repeated identical decisions are logged once per RELOG_S
    series: list[str] = field(default_factory=list)
    subjects: set[str] = field(default_factory=set)
    points: int = 0
    denied: WriteDenied | None = None
    _whole: str | None = None
    _checked: bool = False
    _site_asked: bool = False
    _periods: dict[str, list[tuple[str, int, int | None]]] = field(default_factory=dict)
    _prms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _bound: str | None = None  # the régie's writer of one territory: the only one it writes in
    _territories: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._whole = _whole(self.store, self.writer)
        self._bound = territory_bound(self.store, self.writer) if self._whole is not None else None

    # ---------------------------------------------------------------- decisions (pure: no I/O but reads)

    def _refuse(self, reason: str) -> WriteDenied:
        self.denied = WriteDenied(reason)
        return self.denied

    def _account_ok(self) -> None:
        if self._checked:
            return
        acct = self.writer.account
        if acct.role is not Role.PUBLIC and acct.id > 0 and not is_active(self.store, acct):
            raise self._refuse("account disabled")
        self._checked = True

    def allows_everything(self) -> bool:
        """Whether this writer may write any series (admin, régie operator, the régie's machines)."""
        self._account_ok()
        return self._whole is not None

    def _holder_over(self, prm: str, start: int, end: int) -> str | None:
        if prm not in self._periods:
            self._periods[prm] = holding_periods(self.store, prm)
        for holder, a, b in self._periods[prm]:
            if a <= start and (b is None or end < b):
                return holder
        return None

    def node(self, node: str) -> None:
        """An emoncms node's inputs: a key bound to a node posts that node only."""
        if self.writer.node is not None and node != self.writer.node:
            raise self._refuse(f"this device key may only post to node {self.writer.node}, not {node}")

    def check(self, s: Series, start: int | None = None, end: int | None = None) -> None:
        """May this writer write ``s`` over the instants [start, end] (None: now)? Raises :class:`WriteDenied`."""
        self._account_ok()
        if s.id not in self.series:
            self.series.append(s.id)
        if self._whole is not None:  # the régie's: no per-holder question (and no cost on the live path)
            if self._bound is not None:
                if s.id not in self._territories:
                    self._territories[s.id] = territories.of_series(self.store, s.id)
                found = self._territories[s.id]
                if found is not None:  # None: made by this request, where :meth:`territory` allowed it
                    self.territory(found, f"series {s.id}")
            return
        if self.writer.site_id is not None:
            self._site_check(s)
            return
        now = int(time.time())
        a = now if start is None else int(start)
        b = max(a, now if end is None else int(end))
        if s.id not in self._prms:
            self._prms[s.id] = personal_prms(self.store, s)
        prms = self._prms[s.id]
        holders = {self._holder_over(p, a, b) for p in prms}
        self.subjects |= {h for h in holders if h}
        acct = self.writer.account
        if acct.role is not Role.MEMBER or not acct.holder_id:
            raise self._refuse(f"{acct.role.value} accounts write no series (series {s.id})")
        if not prms:
            raise self._refuse(f"series {s.id} is not yours: it describes no delivery point you hold")
        if holders != {acct.holder_id}:
            raise self._refuse(
                f"series {s.id} is not yours over the instants written: it describes a delivery point "
                "you did not hold then"
            )

    def home(self) -> str | None:
        """The one territory this writer writes in when it is tied to one — a sensor key's site's, a member's
        own, an admin's or régie operator's of one territory — else None (an admin of every territory, the
        shell, MQTT, the régie's machine keys): where a new emoncms input of its gets its series."""
        if self.writer.site_id is not None:
            return territories.of_site(self.store, self.writer.site_id)
        if self._whole is not None:
            return self._bound
        holder = self.writer.account.holder_id
        return territories.of_holder(self.store, holder) if holder else None

    def territory(self, territory_id: str, what: str = "") -> None:
        """May this writer write in ``territory_id`` (a series there, a new one created there)? A writer of the
        régie bound to one territory (:func:`territory_bound`) writes in that one only."""
        self._account_ok()
        if self._bound is not None and territory_id != self._bound:
            raise self._refuse(f"{self.writer.label} writes in territory {self._bound} only, not in "
                               f"{territory_id}" + (f" ({what})" if what else ""))  # fmt: skip

    def _site_check(self, s: Series) -> None:
        """A sensor key writes the series of its site, never a delivery point's (the Linky's curve is Enedis's)."""
        if s.site_id != self.writer.site_id or s.prm is not None:
            raise self._refuse(f"this sensor key writes only the series of site {self.writer.site_id}, not {s.id}")
        self._site_subjects()

    def _site_subjects(self) -> None:
        """Whose data a site's series are: the holders of its delivery points (for the log), asked once."""
        if self._site_asked:
            return
        self._site_asked = True
        inv = self.store.load_inventory(territories.of_site(self.store, self.writer.site_id or ""))
        prms = {d.prm for d in inv.delivery_points if d.site_id == self.writer.site_id}
        today = date.today()
        self.subjects |= {m.holder_id for m in inv.memberships if m.prm in prms and m.active_on(today)}

    def new_series(self, s: Series) -> Series:
        """The series to create for a write (a new input, a new import target), as this writer may create it:
        as is for the régie; on the key's site for a sensor key; on the member's site for a member (their
        data); refused otherwise."""
        self._account_ok()
        if self.writer.site_id is not None:
            placed = replace(s, site_id=self.writer.site_id, prm=None)
            self._site_subjects()
            return placed
        if self._whole is not None:
            return s
        acct = self.writer.account
        if acct.role is not Role.MEMBER or not acct.holder_id:
            raise self._refuse(f"{acct.role.value} accounts create no series ({s.id})")
        today = date.today()
        inv = self.store.load_inventory(territories.of_holder(self.store, acct.holder_id))  # the member's own
        held = {m.prm for m in inv.memberships if m.holder_id == acct.holder_id and m.active_on(today)}
        sites = sorted({d.site_id for d in inv.delivery_points if d.prm in held})
        if len(sites) != 1:
            raise self._refuse(
                f"series {s.id} would be new: a member's new series goes on their site, and you hold "
                f"{len(sites) or 'no'} site(s); ask the régie to map it"
            )
        placed = replace(s, site_id=sites[0], prm=None)
        self.subjects.add(acct.holder_id)
        return placed

    def quarantine(self, key: str) -> None:
        """Readings nobody can place yet (an unknown delivery point) are the régie's to hold."""
        self._account_ok()
        if self._whole is None:
            raise self._refuse("readings of a delivery point regie does not know are for the régie to import")

    # ---------------------------------------------------------------- the log, after the fact

    def finish(self, error: BaseException | None = None, *, points: int | None = None, now: int | None = None) -> None:
        """Log the outcome once the write is over: refused (``error`` a :class:`WriteDenied`, or a refusal
        met on the way), or allowed when ``error`` is None. Another error rolled the write back: nothing."""
        if points is not None:
            self.points = points
        if isinstance(error, WriteDenied):
            self.denied = error
        elif error is not None:
            return
        decision = "refused" if self.denied is not None else "allowed"
        reason = (
            self.denied.reason
            if self.denied is not None
            else (self._whole or (f"sensor key of site {self.writer.site_id}" if self.writer.site_id else "own series"))
        )
        shown = tuple(self.series[:_MAX_LOGGED_SERIES])
        same = (str(self.store.engine.url), self.writer.label, self.action, shown, decision, reason)
        if self.live and _recently_logged(same, now):
            return
        subject = next(iter(self.subjects)) if len(self.subjects) == 1 else None
        event = audit.WriteEvent(
            self.writer.label, self.writer.account.role.value, self.writer.via, self.writer.key_id, self.action,
            self.source[:200], subject, list(shown), len(self.series), decision, reason[:300], self.points,
        )  # fmt: skip
        audit.append(self.store, event, now=now)


_RECENT: dict[tuple, int] = {}
_RECENT_LOCK = threading.Lock()


def _recently_logged(decision: tuple, now: int | None) -> bool:
    """True when the same decision was logged less than :data:`RELOG_S` ago (then remember it again)."""
    at = int(time.time()) if now is None else int(now)
    with _RECENT_LOCK:
        last = _RECENT.get(decision)
        if last is not None and 0 <= at - last < RELOG_S:
            return True
        if len(_RECENT) > 10_000:
            _RECENT.clear()
        _RECENT[decision] = at
    return False


def guard(store: Store, writer: Writer, action: str, source: str = "", *, live: bool = False) -> WriteGuard:
    """A guard for one write request (``live`` for the emoncms inputs and MQTT: see the module docstring)."""
    return WriteGuard(store, writer, action, source, live)


def run(guard: WriteGuard, write: Callable[[], T]) -> T:
    """Run a write that asks ``guard``, then log its outcome (:meth:`WriteGuard.finish`); a refusal is
    re-raised once logged."""
    try:
        out = write()
    except WriteDenied as exc:
        guard.finish(exc)
        raise
    guard.finish()
    return out
