"""API keys for machines: an emonPi posting inputs, a script reading feeds.

A key is 32 hexadecimal characters (128 random bits) because that is what emonhub accepts
(``EmonHubEmoncmsHTTPInterfacer``: ``len(apikey) != 32`` means "not set"). It is shown once, at
creation; the store keeps only its SHA-256 (a fast hash is enough for a random 128-bit token, and a slow
password hash would cap ingest at a few requests per second). Scopes are separate: ``read`` (feeds, the
JSON API's reads), ``write`` (changes: inputs, imports, the JSON API's writes), ``ingest`` (post inputs
only). ``write`` implies ``ingest`` but never ``read``: a gateway's key leaked from its configuration file
must not read anyone's curve (least privilege, OWASP ASVS v4 §4.1.3); unlike an emoncms write key, a key
that should do both is given both scopes. A *device* key is bound to one emoncms node and may only post
that node's inputs. A *sensor* key is bound to a site (``api_key.site_id``, schema 0009): made from the
site's page or ``regie key add --site``, for the emonPi of a house or a school, it may only post inputs
(``ingest``), and what it posts becomes series of that site (:mod:`regie.ingest.inputs`), which the site's
holder reads as their own data. Which series a key may write is :mod:`regie.governance.writes`'s decision.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select, update

from regie.store import Store
from regie.store.schema import api_key, site

SCOPES = ("read", "write", "ingest")
KEY_CHARS = 32


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret."""

    id: int
    name: str
    scopes: frozenset[str]
    node: str | None = None
    owner_id: str | None = None
    created_at: int = 0
    revoked_at: int | None = None
    site_id: str | None = None

    def allows(self, scope: str) -> bool:
        """``write`` implies ``ingest`` (posting inputs is writing), never ``read``."""
        return scope in self.scopes or (scope == "ingest" and "write" in self.scopes)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.strip().lower().encode("ascii", errors="replace")).hexdigest()


def mask(key: str | None) -> str:
    """A key as it may appear in logs and messages: its first four characters only."""
    if not key:
        return "(none)"
    return key[:4] + "…" if len(key) > 4 else "…"


def _check_scopes(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    bad = sorted(set(scopes) - set(SCOPES))
    if bad or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(sorted(scopes)) or 'none'}")
    return sorted(set(scopes))


def create_key(
    store: Store,
    name: str,
    scopes: list[str] | tuple[str, ...],
    *,
    node: str | None = None,
    owner_id: str | None = None,
    site_id: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it and its clear text, which is never stored nor shown again."""
    clean = _check_scopes(scopes)
    if node is not None and set(clean) - {"ingest"}:
        raise ValueError("a device key (bound to a node) may only have the 'ingest' scope")
    if site_id is not None:
        if set(clean) - {"ingest"}:
            raise ValueError("a sensor key (bound to a site) may only have the 'ingest' scope")
        with store.engine.connect() as conn:
            known = conn.execute(select(site.c.id, site.c.until).where(site.c.id == site_id)).one_or_none()
        if known is None:
            raise ValueError(f"no site {site_id!r}: declare it first (a sensor key is bound to a declared site)")
        if known.until is not None and known.until <= date.today():
            raise ValueError(f"site {site_id!r} ended on {known.until.isoformat()}: its sensors post no more")
    if not name.strip():
        raise ValueError("a key needs a name saying what it is for, e.g. 'emonpi garage'")
    key = secrets.token_hex(KEY_CHARS // 2)
    now = int(time.time())
    with store.engine.execution_options(writer=True).begin() as conn:
        row_id = conn.execute(
            insert(api_key).values(
                name=name,
                key_hash=hash_key(key),
                scopes=",".join(clean),
                owner_id=owner_id,
                node=node,
                site_id=site_id,
                created_at=now,
            )
        ).inserted_primary_key[0]
    return ApiKey(int(row_id), name, frozenset(clean), node, owner_id, now, None, site_id), key


def _from_row(r) -> ApiKey:
    return ApiKey(
        int(r.id),
        r.name,
        frozenset(s for s in r.scopes.split(",") if s),
        r.node,
        r.owner_id,
        int(r.created_at),
        int(r.revoked_at) if r.revoked_at is not None else None,
        r.site_id,
    )


def verify(store: Store, key: str | None) -> ApiKey | None:
    """The active key whose secret this is, or None. Looked up by hash, compared in constant time."""
    if not key or len(key.strip()) != KEY_CHARS:
        return None
    digest = hash_key(key)
    with store.engine.connect() as conn:
        r = conn.execute(select(api_key).where(api_key.c.key_hash == digest)).one_or_none()
    if r is None or r.revoked_at is not None or not hmac.compare_digest(r.key_hash, digest):
        return None
    return _from_row(r)


def list_keys(store: Store, *, site_id: str | None = None) -> list[ApiKey]:
    """Every key, or only the sensor keys of one site."""
    q = select(api_key).order_by(api_key.c.id)
    if site_id is not None:
        q = q.where(api_key.c.site_id == site_id)
    with store.engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(q)]


def revoke(store: Store, key_id: int, *, site_id: str | None = None) -> bool:
    """Revoke a key by id (kept for the record, never valid again); False if there is no such active key
    (or, with ``site_id``, none of that site's)."""
    where = [api_key.c.id == key_id, api_key.c.revoked_at.is_(None)]
    if site_id is not None:
        where.append(api_key.c.site_id == site_id)
    with store.engine.execution_options(writer=True).begin() as conn:
        n = conn.execute(update(api_key).where(*where).values(revoked_at=int(time.time()))).rowcount
    return bool(n)
