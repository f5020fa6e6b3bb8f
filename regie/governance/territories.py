"""Territories of a store, and which of them an account runs.

One store may keep several territories (every metadata table is keyed by ``territory_id``). An admin or an
operator whose account names a territory (``account.territory_id``, schema 0009) runs that one only and sees
nothing of another: :func:`visible` is the one rule, used by the gate (:mod:`regie.governance.gate`), the
pages and the CLI. An account without a territory — the first admin, made by the setup page; the shell
(:data:`regie.governance.accounts.CLI_ADMIN`) — sees them all. Members are bound to their delivery points by
their memberships, not by this rule; the public sees each territory's published figures.

:func:`create_territory` is the one way to add a territory, from the setup page (:mod:`regie.web.setup_pages`)
and from ``regie territory create``: the same checks (those of :class:`regie.model.Territory`: slug id, IANA
time zone, INSEE code, coordinates, ISO 8601 step) and one entry in the access log.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select

from regie.governance import audit
from regie.governance.accounts import Account, Role, is_active, list_accounts
from regie.model import Inventory, Territory
from regie.model.basemap import BaseMap
from regie.store import Store, map_base
from regie.store.schema import account as account_table
from regie.store.schema import delivery_point, organisation, person
from regie.store.schema import series as series_table
from regie.store.schema import site as site_table
from regie.store.schema import territory as territory_table

#: A territory's id names its published figures (``<id>/consumption``: :mod:`regie.publication.balance`),
#: whose column holds 64 characters: the id keeps room for the figure's own name.
MAX_ID = 32
#: The metering steps a territory may keep its load curves at: Enedis publishes load curves every 30 minutes
#: (and every 10 minutes for a Linky asked so); an ACC operation is computed every 15 minutes since 2025
#: (CRE délibération n° 2024-235); a sensor's 1- or 5-minute means are resampled to one of these.
STEPS = ("PT10M", "PT15M", "PT30M", "PT1H")


class TerritoryError(ValueError):
    """A refused territory operation, with a message that says what, where and why; ``code`` names the field
    (``id``, ``name``, ``insee``, ``timezone``, ``coordinates``, ``step``, ``exists``, ``actor``) so that a page
    can say it in the visitor's language."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


#: A territory id: what :class:`regie.model.Territory` accepts (a slug), at most :data:`MAX_ID` characters.
_ID = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_ID}}}")
#: The INSEE *code officiel géographique* of a commune: 2 digits of department (2A / 2B in Corsica) and 3 of
#: commune (INSEE, "Code officiel géographique", https://www.insee.fr/fr/information/2560452).
_INSEE = re.compile(r"(?:\d{2}|2[AB])\d{3}")


@dataclass(frozen=True, slots=True)
class TerritoryEvent:
    """A territory was created (who, which, its settings): appended to the access log."""

    kind: ClassVar[str] = "territory"
    action: str
    territory_id: str
    actor: str
    detail: dict


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else int(now)


def territory_from(
    id: str, name: str, *, insee: str | None = None, timezone: str = "Europe/Paris",
    latitude: float | None = None, longitude: float | None = None, step: str | None = None,
) -> Territory:  # fmt: skip
    """A :class:`Territory` from form or command-line values, or a :class:`TerritoryError` saying which is wrong."""
    id, name, insee = (id or "").strip(), (name or "").strip(), (insee or "").strip().upper() or None
    timezone = (timezone or "").strip() or "Europe/Paris"
    if not _ID.fullmatch(id) or not id.replace("-", "").replace("_", "").replace(".", ""):
        raise TerritoryError(f"territory id {id!r}: 1 to {MAX_ID} letters, digits, '-', '_' or '.'", "id")
    if not name or len(name) > 200:
        raise TerritoryError(f"territory {id!r} needs a name of at most 200 characters", "name")
    if insee is not None and not _INSEE.fullmatch(insee):
        raise TerritoryError(f"territory {id!r}: an INSEE code is 5 characters (66150, 2A004), got {insee!r}",
                             "insee")  # fmt: skip
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise TerritoryError(f"territory {id!r}: unknown time zone {timezone!r} (an IANA name: Europe/Paris)",
                             "timezone") from None  # fmt: skip
    if (latitude is None) != (longitude is None) or (
        latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180)  # type: ignore[operator]
    ):
        raise TerritoryError(f"territory {id!r}: give both latitude (-90 to 90) and longitude (-180 to 180), "
                             "or neither", "coordinates")  # fmt: skip
    if step is not None and step not in STEPS:
        raise TerritoryError(f"territory {id!r}: metering step {step!r} is not one of {', '.join(STEPS)}", "step")
    try:
        return Territory(id, name, timezone, latitude, longitude, insee, step)
    except ValueError as exc:  # the model's own checks, should one be stricter than the above
        raise TerritoryError(str(exc)) from None


def create_territory(store: Store, actor: Account, t: Territory, *, now: int | None = None) -> Territory:
    """Add a territory to the store (nothing else: its sites, points and people come with the inventory).

    Only an active admin who runs every territory (no ``territory_id``) adds one; an existing id is refused,
    never overwritten. One entry in the access log names who, which and its settings."""
    if actor.role is not Role.ADMIN or not is_active(store, actor):
        raise TerritoryError("only an admin creates a territory", "actor")
    if actor.territory_id is not None:
        raise TerritoryError(f"{actor.label} runs territory {actor.territory_id!r} only: an admin of every "
                             "territory creates new ones", "actor")  # fmt: skip
    if len(t.id) > MAX_ID:
        raise TerritoryError(f"territory id {t.id!r} is longer than {MAX_ID} characters", "id")
    with store.engine.execution_options(writer=True).begin() as conn:
        if conn.execute(select(territory_table.c.id).where(territory_table.c.id == t.id)).first() is not None:
            raise TerritoryError(f"territory {t.id!r} already exists", "exists")
        conn.execute(insert(territory_table).values(asdict(t)))
    store._inventories.clear()  # the store caches inventories; a new territory changes the default's neighbours
    detail = {k: v for k, v in asdict(t).items() if k != "id" and v is not None}
    audit.append(store, TerritoryEvent("created", t.id, actor.label, detail), now=_now(now))
    return t


def list_territories(store: Store) -> list[Territory]:
    """Every territory of the store, by id."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(territory_table).order_by(territory_table.c.id)).all()
    return [Territory(**r._asdict()) for r in rows]


def get_territory(store: Store, territory_id: str) -> Territory | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(territory_table).where(territory_table.c.id == territory_id)).one_or_none()
    return None if r is None else Territory(**r._asdict())


def inventories(store: Store) -> list[Inventory]:
    """The inventory of every territory of the store (cached by the store), by territory id."""
    return [store.load_inventory(t.id) for t in list_territories(store)]


def visible(store: Store, account: Account) -> list[Territory]:
    """The territories ``account`` may see: its own when it is scoped to one, else all of them."""
    everything = list_territories(store)
    if account.territory_id is None:
        return everything
    return [t for t in everything if t.id == account.territory_id]


def may_see(account: Account, territory_id: str | None) -> bool:
    """Whether ``account`` may see what belongs to ``territory_id`` (None: belongs to no territory)."""
    return account.territory_id is None or territory_id is None or territory_id == account.territory_id


def scoped(account: Account) -> bool:
    """Whether the account runs one territory only (an admin or operator with a ``territory_id``)."""
    return account.territory_id is not None and account.role in (Role.ADMIN, Role.OPERATOR)


def first_with_data(store: Store) -> str | None:
    """The territory whose series came first into the store (the smallest series row id), None before any.

    A stable "main" territory: adding a territory later, whatever its id, never changes it. The publication
    keeps this territory's figures under their historic names (:func:`regie.publication.balance.figure_prefix`),
    and pages show it when nothing else is chosen (:mod:`regie.web.territory_choice`)."""
    with store.engine.connect() as conn:
        q = select(series_table.c.territory_id).order_by(series_table.c.id).limit(1)
        return conn.execute(q).scalar_one_or_none()


def main_territory(store: Store) -> str:
    """The territory pages show by default: :func:`first_with_data`, else the first by id (LookupError if none)."""
    return first_with_data(store) or store.territory_id()


def of_series(store: Store, series_id: str) -> str | None:
    """The territory a series belongs to (None for an unknown series)."""
    with store.engine.connect() as conn:
        return conn.execute(
            select(series_table.c.territory_id).where(series_table.c.key == series_id)
        ).scalar_one_or_none()


def of_site(store: Store, site_id: str) -> str | None:
    """The territory a site belongs to (None for an unknown site)."""
    with store.engine.connect() as conn:
        return conn.execute(select(site_table.c.territory_id).where(site_table.c.id == site_id)).scalar_one_or_none()


def of_prm(store: Store, prm: str) -> str | None:
    """The territory of a delivery point (through its site; None for an unknown PRM)."""
    q = (select(site_table.c.territory_id).join(delivery_point, delivery_point.c.site_id == site_table.c.id)
         .where(delivery_point.c.prm == prm))  # fmt: skip
    with store.engine.connect() as conn:
        return conn.execute(q).scalar_one_or_none()


def outside(store: Store, account: Account, series_ids: list[str]) -> list[str]:
    """Those of ``series_ids`` that belong to a territory the account does not run (empty when unscoped)."""
    if not scoped(account):
        return []
    return [sid for sid in series_ids if not may_see(account, of_series(store, sid))]


def holders_of(store: Store, territory_id: str) -> set[str]:
    """The persons and organisations of a territory (the ids members' accounts and grants name)."""
    with store.engine.connect() as conn:
        return {r.id for table in (person, organisation)
                for r in conn.execute(select(table.c.id).where(table.c.territory_id == territory_id))}  # fmt: skip


def of_holder(store: Store, holder_id: str) -> str | None:
    """The territory of a person or organisation (None for an unknown one)."""
    with store.engine.connect() as conn:
        for table in (person, organisation):
            found = conn.execute(select(table.c.territory_id).where(table.c.id == holder_id)).scalar_one_or_none()
            if found is not None:
                return found
    return None


def may_act_on_holder(store: Store, account: Account, holder_id: str) -> bool:
    """Whether ``account`` may act on a person or organisation: always unless it runs one territory only,
    then only on those of that territory (an unknown holder belongs to none: refused to a scoped account)."""
    return not scoped(account) or of_holder(store, holder_id) == account.territory_id


def accounts_seen_by(store: Store, account: Account) -> list[Account]:
    """The accounts an admin's pages list: all of them, or for an admin of one territory, those of that
    territory (scoped to it, or a member or operator of one of its persons or organisations)."""
    everyone = list_accounts(store)
    if not scoped(account):
        return everyone
    holders = holders_of(store, account.territory_id or "")
    return [a for a in everyone
            if a.territory_id == account.territory_id or a.holder_id in holders or a.operator_of in holders]


def may_manage(store: Store, actor: Account, target: Account) -> bool:
    """Whether an admin may manage ``target``'s account (a reset link, turning its second factor off): an
    admin of every territory any account, an admin of one territory those :func:`accounts_seen_by` lists."""
    if not scoped(actor):
        return True
    return any(a.id == target.id for a in accounts_seen_by(store, actor))


def refuse(store: Store, account: Account, territory_id: str, what: str, *, now: int | None = None) -> str:
    """Log that ``account`` was refused something of a territory it does not run; returns why (for the answer)."""
    why = f"{account.label} runs territory {account.territory_id} only, not {territory_id}"
    audit.append(store, TerritoryEvent("refused", territory_id, account.label, {"what": what[:200], "why": why}),
                 now=_now(now))  # fmt: skip
    return why


def has_admin(store: Store) -> bool:
    """Whether the store has an admin account (the first run is over once it has)."""
    with store.engine.connect() as conn:
        q = select(account_table.c.id).where(account_table.c.role == Role.ADMIN.value).limit(1)
        return conn.execute(q).first() is not None


def set_map_base(store: Store, actor: Account, territory_id: str, base: BaseMap, *, now: int | None = None) -> None:
    """Replace a territory's map background (an administrator of it, or of every territory), logged."""
    if actor.role is not Role.ADMIN:
        raise PermissionError(f"{actor.label} is not an administrator")
    if not may_see(actor, territory_id):
        raise PermissionError(refuse(store, actor, territory_id, "map background", now=now))
    if get_territory(store, territory_id) is None:
        raise LookupError(f"no territory {territory_id!r}")
    at = _now(now)
    map_base.save(store, territory_id, base, by=actor.label, at=at)
    detail = {"what": "map background", "source": base.source, "features": len(base.features)}
    audit.append(store, TerritoryEvent("changed", territory_id, actor.label, detail), now=at)
