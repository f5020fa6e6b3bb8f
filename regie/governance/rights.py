"""Data-subject rights: export everything (GDPR art. 15 and 20), erase (art. 17), correct (art. 16).

Each right is one function, called by the CLI (``regie member export/erase``) and later the web UI, and
each is logged in the access log. The export reads series through the gate like any other read.

Erasure removes the person's delivery-point memberships, their personal series (when nobody else held
the delivery point: a series shared with another occupant cannot be cut by period yet, and is reported),
their accounts and sessions, and withdraws their grants. It keeps: aggregates already published (GDPR art.
17(3)(b) and (d) — public-interest tasks and statistics — and they are anonymous by secrecy), the consent
records and the access log (art. 17(3)(e) and the accountability duty of art. 5(2): the log holds
identifiers, not readings, and its hash chain must stay whole).
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from regie.governance import audit, consent
from regie.governance.accounts import Account, Role
from regie.governance.gate import holding_periods, personal_prms, personal_series, read_personal
from regie.store import Store
from regie.store.schema import account, delivery_point, membership, organisation, person, series, web_session

EXPORT_PURPOSE = "dpv:ServiceProvision"


class RightsError(PermissionError):
    """A rights request refused (not the data subject, nor an admin)."""


def _check(actor: Account, holder_id: str) -> None:
    if not (actor.role is Role.ADMIN or (actor.role is Role.MEMBER and actor.holder_id == holder_id)):
        raise RightsError("only the data subject (or an admin) exercises these rights")


def _iso(t: int | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _holder(store: Store, holder_id: str) -> dict:
    with store.engine.connect() as conn:
        p = conn.execute(select(person).where(person.c.id == holder_id)).one_or_none()
        if p is not None:
            return {"@type": "foaf:Person", "foaf:name": p.name, "foaf:mbox": p.email}
        o = conn.execute(select(organisation).where(organisation.c.id == holder_id)).one_or_none()
        if o is not None:
            return {"@type": "org:Organization", "foaf:name": o.name, "regie:siren": o.siren}
    raise LookupError(f"no person or organisation {holder_id!r}")


def export_member(store: Store, actor: Account, holder_id: str, *, now: int | None = None) -> bytes:
    """A zip of everything regie holds about a holder: series as CSV (read through the gate, at 30 min, for
    the periods they held each delivery point) and the rest as JSON-LD (profile, consents, access log)."""
    _check(actor, holder_id)
    at = int(time.time()) if now is None else int(now)
    ctx = {
        "foaf": "http://xmlns.com/foaf/0.1/",
        "org": "http://www.w3.org/ns/org#",
        "dct": "http://purl.org/dc/terms/",
        "regie": "https://w3id.org/regie/ns#",
    }
    base = f"urn:regie:holder:{holder_id}"
    with store.engine.connect() as conn:
        members = conn.execute(select(membership).where(membership.c.holder_id == holder_id)).all()
        dps = {
            r.prm: r
            for r in conn.execute(select(delivery_point).where(delivery_point.c.prm.in_([m.prm for m in members])))
        }
        accts = conn.execute(select(account).where(account.c.holder_id == holder_id)).all()
    profile = {
        "@context": ctx,
        "@id": base,
        **_holder(store, holder_id),
        "regie:membership": [
            {
                "regie:deliveryPoint": m.prm,  # their own PRM, in full: it is their data
                "regie:segment": dps[m.prm].segment if m.prm in dps else None,
                "regie:subscribedKVA": dps[m.prm].subscribed_kva if m.prm in dps else None,
                "dct:valid": f"{m.since.isoformat()}/{m.until.isoformat() if m.until else ''}",
            }
            for m in members
        ],
        "regie:account": [
            {"regie:username": a.username, "regie:role": a.role, "dct:created": _iso(int(a.created_at))} for a in accts
        ],
    }
    buf = io.BytesIO()
    files: list[str] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        reason = None if actor.role is Role.MEMBER else f"data-subject export for {holder_id} (GDPR art. 15, 20)"
        series_meta = []
        zone = store.load_inventory().territory.zone
        for s in personal_series(store, holder_id):
            # a sensor on the member's site (no PRM of its own) follows the site's delivery point(s)
            held = sorted({h for prm in personal_prms(store, s) for h in holding_periods(store, prm)},
                          key=lambda h: h[1])  # fmt: skip
            for holder, a, b in held:
                if holder != holder_id:
                    continue
                end = min(b, at) if b is not None else at
                if end <= a:
                    continue
                data = read_personal(store, actor, s.id, a, end, "finest", EXPORT_PURPOSE, reason=reason, now=at)
                name = f"series/{s.id}_{datetime.fromtimestamp(a, zone):%Y%m%d}.csv"  # from the local day held
                out = io.StringIO()
                w = csv.writer(out, lineterminator="\n")
                w.writerow(["start_utc", "value", "unit"])
                for t, v in zip(data.t.tolist(), data.values.tolist(), strict=True):
                    w.writerow([_iso(int(t)), repr(float(v)), s.unit])
                zf.writestr(name, out.getvalue())
                files.append(name)
                series_meta.append(
                    {"@id": f"urn:regie:series:{s.id}", "regie:kind": s.kind.value, "regie:unit": s.unit,
                     "regie:step": s.step.iso if s.step else None, "regie:deliveryPoint": s.prm, "regie:file": name}
                )  # fmt: skip
        profile["regie:series"] = series_meta
        receipts = [consent.receipt(store, g.id) for g in consent.list_grants(store, subject_id=holder_id)]
        accesses = [
            {"@type": "regie:Access", "dct:date": _iso(r.at), "regie:caller": r.caller, "regie:role": r.role,
             "regie:series": r.series, "regie:granularity": r.granularity, "dpv:hasPurpose": r.purpose,
             "regie:consent": r.consent_id, "regie:decision": r.decision, "regie:reason": r.reason,
             "regie:from": _iso(r.start), "regie:to": _iso(r.end)}
            for r in audit.accesses_to(store, holder_id)
        ]  # fmt: skip
        zf.writestr("profile.jsonld", json.dumps(profile, ensure_ascii=False, indent=2))
        zf.writestr(
            "consents.jsonld",
            json.dumps({"@context": consent.JSONLD_CONTEXT, "@graph": receipts}, ensure_ascii=False, indent=2),
        )
        zf.writestr(
            "access_log.jsonld",
            json.dumps(
                {"@context": {**ctx, "dpv": "https://w3id.org/dpv#"}, "@graph": accesses}, ensure_ascii=False, indent=2
            ),
        )
    audit.append(store, audit.RightsEvent("export", holder_id, actor.label, {"files": len(files) + 3}), now=at)
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class Erasure:
    holder_id: str
    series_erased: tuple[str, ...] = ()
    series_kept: tuple[str, ...] = ()  # shared with another holder of the same delivery point
    memberships: int = 0
    accounts: int = 0
    grants_withdrawn: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def erase_member(store: Store, actor: Account, holder_id: str, *, now: int | None = None) -> Erasure:
    """Erase a holder's personal data and accounts (see the module docstring for what stays and why)."""
    _check(actor, holder_id)
    at = int(time.time()) if now is None else int(now)
    withdrawn = 0
    for g in consent.list_grants(store, subject_id=holder_id):
        if g.status_at(at) in (consent.Status.GIVEN, consent.Status.REQUESTED):
            to = consent.withdraw if g.status is consent.Status.GIVEN else consent.refuse
            to(store, g.id, actor, now=at, note="erasure of the data subject")
            withdrawn += 1
    erased, kept = [], []
    mine = personal_series(store, holder_id)
    with store.engine.execution_options(writer=True).begin() as conn:
        for s in mine:
            holders = {h for h, _, _ in holding_periods(store, s.prm or "")}
            if holders == {holder_id}:
                store.timeseries.delete_series(conn, store.ref(s.id))
                conn.execute(update(series).where(series.c.key == s.id).values(name="(erased)"))
                erased.append(s.id)
            else:
                kept.append(s.id)
        n_members = conn.execute(delete(membership).where(membership.c.holder_id == holder_id)).rowcount
        ids = [r.id for r in conn.execute(select(account.c.id).where(account.c.holder_id == holder_id))]
        if ids:
            conn.execute(delete(web_session).where(web_session.c.account_id.in_(ids)))
            conn.execute(delete(account).where(account.c.id.in_(ids)))
        conn.execute(delete(person).where(person.c.id == holder_id))
    # The store caches the inventory; memberships and persons changed underneath it.
    store._inventories.clear()
    notes = tuple(f"series {k} kept: its delivery point had other holders (no erasure by period yet)" for k in kept)
    result = Erasure(holder_id, tuple(erased), tuple(kept), int(n_members or 0), len(ids), withdrawn, notes)
    detail = {
        "series_erased": len(erased),
        "series_kept": len(kept),
        "accounts": len(ids),
        "grants_withdrawn": withdrawn,
    }
    audit.append(store, audit.RightsEvent("erase", holder_id, actor.label, detail), now=at)
    return result


def correct_details(
    store: Store,
    actor: Account,
    holder_id: str,
    *,
    name: str | None = None,
    email: str | None = None,
    now: int | None = None,
) -> list[str]:
    """Correct a holder's name or e-mail (art. 16); returns the fields changed (their values are not logged)."""
    _check(actor, holder_id)
    changes = {k: v for k, v in (("name", name), ("email", email)) if v is not None}
    if email is not None and "@" not in email:
        raise ValueError("not an e-mail address")
    if not changes:
        return []
    with store.engine.execution_options(writer=True).begin() as conn:
        n = conn.execute(update(person).where(person.c.id == holder_id).values(**changes)).rowcount
        if not n and set(changes) == {"name"}:
            n = conn.execute(update(organisation).where(organisation.c.id == holder_id).values(**changes)).rowcount
        if not n:
            raise LookupError(f"no person (or organisation, for a name) {holder_id!r}")
    store._inventories.clear()
    audit.append(store, audit.RightsEvent("correct", holder_id, actor.label, {"fields": sorted(changes)}), now=now)
    return sorted(changes)
