"""Every check of a workbook against the format and the territory's rules, collected (not only the first).

:func:`prepare` reads the wanted book into canonical text, compares it with the store (:func:`diff`),
decides which absent objects are kept, and checks the inventory as it would be after the import: columns
and values, duplicates, references between sheets, overlapping memberships, dates in order, the model's
own checks (:mod:`regie.model`), and for each ACC operation touched the perimeter and power criteria and
the static shares (:func:`regie.model.operation.perimeter_problems`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from regie.inventory.book import Book, Row, book_from_values
from regie.inventory.changes import Change, Changes, Kept, diff
from regie.inventory.format import FORMAT_VERSION, SHEET_NAMES, SHEETS, Sheet, sheet
from regie.inventory.problems import N_, Problem
from regie.inventory.values import CellError, canonical, parse
from regie.model import (
    DeliveryPoint,
    Density,
    GridZone,
    Membership,
    Operation,
    Organisation,
    OrganisationKind,
    Participant,
    ParticipantType,
    Person,
    Producer,
    Role,
    Site,
    Source,
    Step,
    Territory,
    Transformer,
)
from regie.model.metering import mask_prm
from regie.model.operation import perimeter_problems
from regie.model.parties import ERASED_HOLDER
from regie.store import inventory as stored
from regie.store.erasure import erased_holders

#: A sum of static shares may exceed 1 by rounding only (the shares are fractions written with decimals).
SHARE_TOLERANCE = 1e-9


@dataclass
class Plan:
    """What an import would do, and every problem found (empty: it may be applied)."""

    changes: Changes
    problems: list[Problem] = field(default_factory=list)

    @staticmethod
    def typed(name: str, row: Row | None) -> dict:
        """A row's values read by their columns' types (for the store)."""
        return {c.name: parse(c, (row or {}).get(c.name)) for c in sheet(name).columns}


@dataclass(frozen=True, slots=True)
class _Line:
    """A row of the inventory after the import: its spreadsheet row (None if not in the file), text, values."""

    n: int | None
    text: Row
    v: dict


def _show(column: str, value) -> str:
    return mask_prm(value) if column == "prm" and isinstance(value, str) else repr(value)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, name: str, n: int | None, column: str | None, template: str, /, **params) -> None:
        """One problem: ``template`` is the catalogue id (marked with ``N_``), ``params`` its values."""
        self.problems.append(Problem(name, n, column, template % params, template, params))


# ---------------------------------------------------------------- reading the file's text


def _normalise(book: Book, current: Book, ck: _Checker) -> Book:
    """The wanted book in canonical text: unknown sheets and columns, bad values, missing required ones and
    duplicate keys are reported; a column absent from a sheet keeps the store's values."""
    out = Book()
    for name in book:
        if name not in SHEET_NAMES:
            ck.add(name, None, None, N_("unknown sheet %(sheet)s; the sheets are: %(sheets)s"), sheet=repr(name),
                   sheets=", ".join(SHEET_NAMES))
            continue
        s = sheet(name)
        header = book.header(name)
        for col in header:
            if col not in s.column_names:
                ck.add(name, 1, col, N_("unknown column %(column)s; the columns of %(sheet)s are: %(columns)s"),
                       column=repr(col), sheet=name, columns=", ".join(s.column_names))
        missing = [c.name for c in s.columns if c.required and c.name not in header]
        for col in missing:
            ck.add(name, 1, col, N_("missing required column"))
        if any(k in missing for k in s.key):
            continue
        have = {s.key_of(r): r for r in current.get(name, [])}
        rows: list[Row] = []
        numbers: list[int] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(book[name]):
            n = book.row_number(name, i)
            row: Row = {}
            bad: set[str] = set()
            for c in s.columns:
                if c.name not in header:
                    continue
                try:
                    row[c.name] = canonical(c, raw.get(c.name))
                except ValueError as exc:  # CellError, or a check of the model's in its own words
                    if isinstance(exc, CellError):
                        ck.add(name, n, c.name, exc.template, **exc.params)
                    else:
                        ck.add(name, n, c.name, "%(message)s", message=str(exc))
                    bad.add(c.name)
                    row[c.name] = None
            if any(k in bad for k in s.key):
                continue
            key = s.key_of(row)
            before = have.get(key, {})
            for c in s.columns:
                if c.name not in header:
                    row[c.name] = before.get(c.name)
                elif c.required and row.get(c.name) is None and c.name not in bad and c.name not in missing:
                    ck.add(name, n, c.name, N_("a value is required"))
            if key in seen:
                ck.add(name, n, s.key[0] if len(s.key) == 1 else None,
                       N_("duplicate: row %(row)s already has %(columns)s = %(key)s"), row=seen[key],
                       columns=" / ".join(s.key), key=_key_text(s, row))
                continue
            seen[key] = n
            rows.append(row)
            numbers.append(n)
        out.set_sheet(name, rows, header=list(s.column_names), numbers=numbers)
    return out


def _key_text(s: Sheet, row: Row) -> str:
    return " / ".join(_show(k, row.get(k)).strip("'") for k in s.key)


def _about(wanted: Book, territory, ck: _Checker, territory_id: str) -> bool:
    """Check the about sheet; False when the workbook cannot be read further (a newer format)."""
    if "about" not in wanted:
        return True
    rows = wanted["about"]
    if len(rows) != 1:
        ck.add("about", None, None, N_("one row is needed (the territory), found %(n)s"), n=len(rows))
        return bool(rows)
    row, n = rows[0], wanted.row_number("about", 0)
    version = int(row["format_version"]) if row.get("format_version") else None
    if version is not None and version > FORMAT_VERSION:
        ck.add("about", n, "format_version", N_("format version %(version)s is newer than this regie reads "
               "(%(known)s): upgrade regie, or export a workbook again with this one"), version=version,
               known=FORMAT_VERSION)
        return False
    if version is not None and version < 1:
        ck.add("about", n, "format_version", N_("format versions start at 1, got %(version)s"), version=version)
    if row.get("territory") and row["territory"] != territory_id:
        ck.add("about", n, "territory", N_("this workbook describes territory %(found)s, not %(territory)s"),
               found=repr(row["territory"]), territory=repr(territory_id))
    if row.get("timezone") and row["timezone"] != territory.timezone:
        ck.add("about", n, "timezone", N_("the time zone is set when the territory is created (%(zone)s); it "
               "cannot change once readings are kept in it"), zone=territory.timezone)
    if row.get("step") and row["step"] != (territory.step or "PT30M"):  # blank: as the territory; None is PT30M
        ck.add("about", n, "step", N_("the metering step is set when the territory is created (%(step)s); it "
               "cannot be changed from a workbook"), step=territory.step or "PT30M")
    return True


# ---------------------------------------------------------------- what is kept


#: Why an object absent from the workbook is kept (catalogue ids).
KEPT_ABSENT = N_("absent from the file, kept (--remove removes it)")
KEPT_ACCOUNT = N_("absent from the file, kept: an account or a consent names it; a person is erased with "
                  "`regie member erase`, never removed from a workbook")
KEPT_READINGS = N_("absent from the file, kept: it has readings (remove it with its readings only with "
                   "--remove --yes; or end it instead)")
KEPT_KEY = N_("absent from the file, kept: a sensor key is bound to it (remove it only with --remove --yes; or "
              "end it instead)")
KEPT_HELD = N_("absent from the file, kept: its delivery point has readings, and who held it when stays known "
               "(remove it only with --remove --yes; or end it instead)")
KEPT_PARTICIPANTS = N_("absent from the file, kept: its participants have readings (remove it only with "
                       "--remove --yes)")
KEPT_OPERATION = N_("absent from the file, kept: its operation is kept")
KEPT_NEEDED = N_("absent from the file, kept: the kept %(sheet)s row %(key)s refers to it")


def _reasons(name: str, row: dict, use: stored.InUse, participants: list[dict]) -> tuple[str | None, bool]:
    """(why an absent object holds data, as a catalogue id; whether it may never be removed from a workbook)."""
    r = use.readings
    if name in ("persons", "organisations") and row["id"] in use.accounts:
        return KEPT_ACCOUNT, True
    if name == "delivery_points" and row["prm"] in r["prm"]:
        return KEPT_READINGS, False
    if name == "sites":
        if row["id"] in r["site"]:
            return KEPT_READINGS, False
        if row["id"] in use.site_keys:
            return KEPT_KEY, False
    if name == "producers" and row["id"] in r["producer"]:
        return KEPT_READINGS, False
    if name == "transformers" and row["id"] in r["transformer"]:
        return KEPT_READINGS, False
    if name in ("memberships", "acc_participants") and row["prm"] in r["prm"]:
        return KEPT_HELD, False
    if name == "acc_operations" and any(p["prm"] in r["prm"] for p in participants if p["operation"] == row["id"]):
        return KEPT_PARTICIPANTS, False
    return None, False


def _keep_or_remove(changes: Changes, conn, territory_id: str, remove: bool, remove_data: bool) -> None:
    """Decide, for each object absent from the workbook, whether it goes or stays (and why it stays).

    What a kept object refers to is kept too (a kept delivery point keeps its site), and a kept operation
    keeps its participants: removal never leaves a kept object pointing at nothing.
    """
    use = stored.in_use(conn, territory_id)
    participants = [Plan.typed("acc_participants", c.before) for c in changes["acc_participants"].removed]
    kept: dict[tuple[str, str], tuple[Change, str, dict]] = {}
    gone: dict[tuple[str, str], Change] = {}
    for s in SHEETS:
        for c in changes[s.name].removed:
            why, never = _reasons(s.name, Plan.typed(s.name, c.before), use, participants)
            if s.name == "about":
                continue
            if never or (why and not (remove and remove_data)):
                kept[(s.name, c.key)] = (c, why, {})
            elif not why and not remove:
                kept[(s.name, c.key)] = (c, KEPT_ABSENT, {})
            else:
                gone[(s.name, c.key)] = c
    _keep_what_kept_objects_need(kept, gone)
    for s in SHEETS:
        sc = changes[s.name]
        sc.kept.extend(Kept(s.name, key, template % params, template, params)
                       for (name, key), (_, template, params) in kept.items() if name == s.name)
        sc.removed = [c for c in sc.removed if (s.name, c.key) in gone]


def _keep_what_kept_objects_need(kept: dict, gone: dict) -> None:
    todo = list(kept)
    while todo:
        name, key = todo.pop()
        row = Plan.typed(name, kept[(name, key)][0].before)
        needs = [(target, str(row[col])) for n, col, target, _ in _REFERENCES if n == name and row.get(col)]
        if name == "memberships":
            needs += [("persons", row["holder"]), ("organisations", row["holder"])]
        if name == "acc_operations":
            needs += [k for k in gone if k[0] == "acc_participants" and k[1].split("/")[0] == key]
        if name == "acc_participants" and row["role"] == "producer":
            needs += [k for k, c in gone.items() if k[0] == "producers" and c.before.get("prm") == row["prm"]]
        for need in needs:
            if need in gone:
                kept[need] = ((gone.pop(need), KEPT_OPERATION, {}) if need[0] == "acc_participants"
                              else (gone.pop(need), KEPT_NEEDED, {"sheet": name, "key": key}))
                todo.append(need)


# ---------------------------------------------------------------- the inventory after the import


def _lines(current: Book, wanted: Book, changes: Changes) -> dict[str, list[_Line]]:
    out: dict[str, list[_Line]] = {}
    for s in SHEETS:
        if s.name in wanted:
            rows = [(wanted.row_number(s.name, i), r) for i, r in enumerate(wanted[s.name])]
            kept = {k.key for k in changes[s.name].kept}
            rows += [(None, r) for r in current.get(s.name, []) if s.key_of(r) in kept]
        else:
            rows = [(None, r) for r in current.get(s.name, [])]
        out[s.name] = [_Line(n, r, Plan.typed(s.name, r)) for n, r in rows]
    return out


_REFERENCES = (
    ("delivery_points", "site", "sites", "id"),
    ("delivery_points", "transformer", "transformers", "id"),
    ("producers", "prm", "delivery_points", "prm"),
    ("producers", "site", "sites", "id"),
    ("transformers", "site", "sites", "id"),
    ("memberships", "prm", "delivery_points", "prm"),
    ("acc_operations", "pmo", "organisations", "id"),
    ("acc_participants", "operation", "acc_operations", "id"),
    ("acc_participants", "prm", "delivery_points", "prm"),
)


def _references(lines: dict[str, list[_Line]], changes: Changes, ck: _Checker) -> None:
    removed = {(c.sheet, c.key) for c in changes if c.action == "removed"}

    def refer(name: str, x: _Line, col: str, targets: tuple[str, ...], value) -> None:
        if any((t, str(value)) in removed for t in targets):
            ck.add(name, x.n, col, N_("unknown %(column)s %(value)s: it is absent from the file and would be "
                   "removed, but this row still refers to it"), column=col, value=_show(col, value))
        else:
            ck.add(name, x.n, col, N_("unknown %(column)s %(value)s: no row of %(sheets)s has it"), column=col,
                   value=_show(col, value), sheets=" / ".join(targets))

    for name, col, target, tcol in _REFERENCES:
        known = {x.v[tcol] for x in lines[target]}
        for x in lines[name]:
            value = x.v.get(col)
            if value is not None and value not in known:
                refer(name, x, col, (target,), value)
    persons = {x.v["id"]: x.n for x in lines["persons"]}
    for x in lines["organisations"]:
        if x.v["id"] in persons:
            ck.add("organisations", x.n, "id", N_("%(id)s is also a person (persons row %(row)s): a holder id "
                   "names one person or organisation"), id=repr(x.v["id"]), row=persons[x.v["id"]] or "-")
    holders = set(persons) | {x.v["id"] for x in lines["organisations"]}
    for x in lines["memberships"]:
        h = x.v.get("holder")
        if h is not None and h not in holders and not h.startswith(ERASED_HOLDER):
            refer("memberships", x, "holder", ("persons", "organisations"), h)
    producers = {x.v["prm"] for x in lines["producers"] if x.v.get("prm")}
    for x in lines["acc_participants"]:
        if x.v.get("role") == "producer" and x.v.get("prm") and x.v["prm"] not in producers:
            ck.add("acc_participants", x.n, "prm", N_("unknown producer: no row of producers injects at %(prm)s "
                   "(a producer participant is a producer's delivery point)"), prm=mask_prm(x.v["prm"]))


def _positive(ck: _Checker, name: str, x: _Line, col: str, *, upper: float | None = None) -> None:
    v = x.v.get(col)
    if v is not None and v <= 0:
        ck.add(name, x.n, col, N_("%(column)s must be positive, got %(value)s"), column=col, value=f"{v:g}")
    elif v is not None and upper is not None and v > upper:
        ck.add(name, x.n, col, N_("%(column)s must be at most %(upper)s, got %(value)s"), column=col,
               upper=f"{upper:g}", value=f"{v:g}")


def _coordinates(ck: _Checker, name: str, x: _Line, *, both: bool = False) -> None:
    lat, lon = x.v.get("latitude"), x.v.get("longitude")
    if lat is not None and not -90 <= lat <= 90:
        ck.add(name, x.n, "latitude", N_("latitude %(value)s is outside -90..90 (degrees, WGS 84)"), value=f"{lat:g}")
    if lon is not None and not -180 <= lon <= 180:
        ck.add(name, x.n, "longitude", N_("longitude %(value)s is outside -180..180 (degrees, WGS 84)"),
               value=f"{lon:g}")
    if both and (lat is None) != (lon is None):
        ck.add(name, x.n, "longitude" if lon is None else "latitude",
               N_("give both latitude and longitude, or neither"))


def _values(lines: dict[str, list[_Line]], ck: _Checker) -> None:
    for x in lines["about"]:
        _coordinates(ck, "about", x)
    for x in lines["sites"]:
        _coordinates(ck, "sites", x)
    for x in lines["delivery_points"]:
        _positive(ck, "delivery_points", x, "subscribed_kva")
    for x in lines["producers"]:
        _positive(ck, "producers", x, "peak_power_w")
    for x in lines["transformers"]:
        _positive(ck, "transformers", x, "rated_kva")
        _positive(ck, "transformers", x, "power_factor", upper=1.0)
    for x in lines["organisations"]:
        siren = x.v.get("siren")
        if siren is not None and not (len(siren) == 9 and siren.isdigit()):
            ck.add("organisations", x.n, "siren", N_("a SIREN is 9 digits, got %(value)s"), value=repr(siren))
    for x in lines["memberships"]:
        if x.v.get("until") and x.v.get("since") and x.v["until"] <= x.v["since"]:
            ck.add("memberships", x.n, "until", N_("ends (%(until)s) on or before it starts (%(since)s)"),
                   until=x.v["until"], since=x.v["since"])
    for x in lines["acc_operations"]:
        step = x.v.get("step")
        if step is not None:
            st = Step.parse(step)
            if st.is_calendar or 86400 % st.seconds:
                ck.add("acc_operations", x.n, "step", N_("the metering step %(step)s must divide a day (PT15M, "
                       "PT30M)"), step=step)
    for x in lines["acc_participants"]:
        v = x.v
        if v.get("exit") and v.get("entry") and v["exit"] <= v["entry"]:
            ck.add("acc_participants", x.n, "exit", N_("exit (%(exit)s) on or before entry (%(entry)s)"),
                   exit=v["exit"], entry=v["entry"])
        if v.get("role") == "producer" and not v.get("peak_power_w"):
            ck.add("acc_participants", x.n, "peak_power_w", N_("a producer needs its peak power in W"))
        if v.get("role") == "consumer" and v.get("peak_power_w") is not None:
            ck.add("acc_participants", x.n, "peak_power_w", N_("only producers have a peak power"))
        if v.get("role") == "producer" and v.get("static_share") is not None:
            ck.add("acc_participants", x.n, "static_share", N_("only consumers have a static share"))
        share = v.get("static_share")
        if share is not None and not 0 <= share <= 1:
            ck.add("acc_participants", x.n, "static_share", N_("a static share is a fraction in 0..1, got "
                   "%(value)s"), value=f"{share:g}")
        if v.get("priority") is not None and v["priority"] < 1:
            ck.add("acc_participants", x.n, "priority", N_("priority levels start at 1, got %(value)s"),
                   value=v["priority"])
        _positive(ck, "acc_participants", x, "weight")
        _coordinates(ck, "acc_participants", x, both=True)


def _overlaps(lines: dict[str, list[_Line]], ck: _Checker) -> None:
    """A delivery point has one holder at a time (the holder of its Enedis contract)."""
    by_prm: dict[str, list[_Line]] = {}
    for x in lines["memberships"]:
        if x.v.get("prm") and x.v.get("since"):
            by_prm.setdefault(x.v["prm"], []).append(x)
    for held in by_prm.values():
        held.sort(key=lambda x: x.v["since"])
        last: _Line | None = None
        for x in held:
            if last is not None and (last.v["until"] is None or last.v["until"] > x.v["since"]):
                ck.add("memberships", x.n, "since", N_(
                    "overlaps the membership of %(holder)s from %(since)s (row %(row)s): a delivery point has one "
                    "holder at a time; end the earlier one (until) on or before %(day)s"),
                    holder=repr(last.v["holder"]), since=last.v["since"], row=last.n or "-", day=x.v["since"])
            if last is None or _ends_later(x, last):
                last = x


def _ends_later(x: _Line, last: _Line) -> bool:
    return last.v["until"] is not None and (x.v["until"] is None or x.v["until"] > last.v["until"])


_MODELS: dict[str, Callable[[dict], object]] = {
    "sites": lambda v: Site(v["id"], v["name"], "t", v["latitude"], v["longitude"], v["altitude_m"], v["until"]),
    "delivery_points": lambda v: DeliveryPoint(v["prm"], v["site"], v["segment"], v["subscribed_kva"], v["usage"],
                                               v["until"]),
    "producers": lambda v: Producer(v["id"], v["name"], Source(v["source"]), v["peak_power_w"], v["prm"], v["site"],
                                    v["commissioned"], v["until"]),
    "transformers": lambda v: Transformer(v["id"], v["name"], v["rated_kva"], (), v["site"], v["power_factor"],
                                          v["until"]),
    "organisations": lambda v: Organisation(v["id"], v["name"], OrganisationKind(v["kind"]), v["siren"]),
    "persons": lambda v: Person(v["id"], v["name"], v["email"]),
    "memberships": lambda v: Membership(v["holder"], v["prm"], v["since"], v["until"]),
    "acc_participants": lambda v: _participant(v),
}


def _participant(v: dict) -> Participant:
    return Participant(
        prm=v["prm"], role=Role(v["role"]), entry=v["entry"], exit=v["exit"], type=ParticipantType(v["type"]),
        priority=v["priority"], weight=v["weight"], peak_power_w=v["peak_power_w"], latitude=v["latitude"],
        longitude=v["longitude"], density=Density(v["density"]) if v["density"] else None, name=v["name"] or "",
    )  # fmt: skip


def _models(lines: dict[str, list[_Line]], ck: _Checker, about_row: _Line | None) -> None:
    """The model's own checks, for rows that passed the column checks (a last net, worded by the model)."""
    bad = {(p.sheet, p.row) for p in ck.problems}
    for name, make in _MODELS.items():
        s = sheet(name)
        for x in lines[name]:
            if (name, x.n) in bad or any(x.v.get(c.name) is None for c in s.columns if c.required):
                continue
            try:
                make(x.v)
            except (ValueError, TypeError) as exc:
                ck.add(name, x.n, None, "%(message)s", message=str(exc))
    if about_row is not None and ("about", about_row.n) not in bad:
        v = about_row.v
        try:
            Territory(v["territory"], v["name"] or "-", v["timezone"] or "UTC", v["latitude"], v["longitude"],
                      v["insee"], v["step"])
        except ValueError as exc:
            ck.add("about", about_row.n, None, "%(message)s", message=str(exc))


def _operations(lines: dict[str, list[_Line]], changes: Changes, ck: _Checker) -> None:
    """Perimeter, power and static shares of each operation the import touches, on each day its participants
    change (arrêté du 21 novembre 2019 as amended; see :mod:`regie.model.operation`)."""
    touched = {(c.after or c.before)["id"] for c in changes["acc_operations"]}
    touched |= {(c.after or c.before)["operation"] for c in changes["acc_participants"]}
    bad = {(p.sheet, p.row) for p in ck.problems}
    for op in lines["acc_operations"]:
        oid = op.v["id"]
        if oid not in touched or ("acc_operations", op.n) in bad:
            continue
        members = [x for x in lines["acc_participants"] if x.v.get("operation") == oid]
        if any(("acc_participants", x.n) in bad for x in members):
            continue
        try:
            people = tuple(_participant(x.v) for x in members)
            operation = Operation(oid, op.v["name"], op.v["pmo"], people, Step.parse(op.v["step"]),
                                  GridZone(op.v["zone"]), bool(op.v["derogation"]))
        except (ValueError, TypeError) as exc:
            ck.add("acc_operations", op.n, None, "%(message)s", message=str(exc))
            continue
        days = sorted({p.entry for p in people} | {p.exit for p in people if p.exit})
        said: set[str] = set()
        for message in perimeter_problems(operation):  # whether it has producers and consumers at all
            if message.startswith(("no producer", "no consumer")):
                said.add(message)
                ck.add("acc_operations", op.n, None, N_("operation %(operation)s: %(message)s"), operation=oid,
                       message=message)
        for day in days:
            # The criteria hold among those who count that day; a day without a producer or without a
            # consumer (all have left) has nothing to share.
            if not (operation.active_on(day, Role.PRODUCER) and operation.active_on(day, Role.CONSUMER)):
                continue
            entering = [x for x in members if x.v["entry"] == day and x.n is not None]
            n, sheet_name = (entering[0].n, "acc_participants") if entering else (op.n, "acc_operations")
            for message in perimeter_problems(operation, day):
                if message not in said:
                    said.add(message)
                    ck.add(sheet_name, n, None, N_("operation %(operation)s on %(day)s: %(message)s"),
                           operation=oid, day=day.isoformat(), message=message)
            total = sum(x.v["static_share"] or 0.0 for x in members
                        if x.v["role"] == "consumer" and _active(x.v, day))
            if total > 1 + SHARE_TOLERANCE and "shares" not in said:
                said.add("shares")
                ck.add(sheet_name, n, "static_share", N_("operation %(operation)s on %(day)s: the static shares of "
                       "its consumers add up to %(total)s, more than 1 (all of the production)"), operation=oid,
                       day=day.isoformat(), total=f"{total:.4g}")


def _active(v: dict, day: date) -> bool:
    return v["entry"] <= day and (v["exit"] is None or day < v["exit"])


def _store_rules(conn, territory_id: str, changes: Changes, lines, ck: _Checker) -> None:
    """Ids are unique in the store (another territory may already use one); an erased id is never reused."""
    added = {s.name: [c for c in changes[s.name].added] for s in SHEETS}
    for name in ("sites", "delivery_points", "producers", "transformers", "organisations", "persons",
                 "acc_operations"):
        keys = [c.key for c in added[name]]
        taken = stored.taken_elsewhere(conn, territory_id, name, keys) if keys else set()
        for c in added[name]:
            if c.key in taken:
                col = sheet(name).key[0]
                ck.add(name, c.row, col, N_("%(value)s is already used by another territory of this store"),
                       value=_show(col, c.key))
    new_holders = [c.key for c in added["persons"] + added["organisations"]]
    new_holders += [c.after["holder"] for c in added["memberships"] if c.after.get("holder")]
    erased = erased_holders(conn, [h for h in new_holders if not h.startswith(ERASED_HOLDER)])
    for name, col in (("persons", "id"), ("organisations", "id"), ("memberships", "holder")):
        for c in added[name]:
            if c.after.get(col) in erased:
                ck.add(name, c.row, col, N_("%(id)s belonged to a person erased at their request (GDPR art. 17): "
                       "an erased id is never reused, give the new holder another id"), id=repr(c.after[col]))
    for c in added["memberships"]:
        if (c.after.get("holder") or "").startswith(ERASED_HOLDER):
            ck.add("memberships", c.row, "holder", N_("an erased holder is kept only in the memberships it had; it "
                   "cannot be given a new one"))


def prepare(
    conn,
    territory_id: str,
    current_values: dict[str, list[dict]],
    make: Callable[[Book], Book],
    *,
    remove: bool = False,
    remove_data: bool = False,
) -> Plan:
    """What making the territory's inventory ``make(current)`` would change, and every problem with it."""
    current = book_from_values(current_values)
    ck = _Checker()
    wanted = _normalise(make(current.copy()), current, ck)
    territory = stored.territory_settings(conn, territory_id)
    if not _about(wanted, territory, ck, territory_id):
        return Plan(Changes(), ck.problems)
    changes = diff(current, wanted)
    _keep_or_remove(changes, conn, territory_id, remove, remove_data)
    lines = _lines(current, wanted, changes)
    _values(lines, ck)
    _references(lines, changes, ck)
    _overlaps(lines, ck)
    about = next(iter(lines["about"]), None)
    _models(lines, ck, about)
    _operations(lines, changes, ck)
    _store_rules(conn, territory_id, changes, lines, ck)
    return Plan(changes, ck.problems)
