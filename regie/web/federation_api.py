"""The federation's HTTP face (docs/federation.md): ``/.well-known/regie`` and the signed routes peers call.

Every request to ``/federation/*`` (but the public regional figures) must carry an RFC 9421 signature by a
key of a known, active peer (:mod:`regie.federation.signatures`); a refusal (unsigned, unknown key, modified
body, expired, replayed nonce) is answered 401 and written in the access log. Every answer is signed with this
régie's current key and repeats the request's nonce.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from regie.federation import catalogue, events, hub, identity, inbox, peers, witness
from regie.federation import signatures as sig
from regie.governance import keys
from regie.store import federation as rows

router = APIRouter(tags=["federation"])
MAX_MESSAGES = 1000  # per delivery request


def _data_dir(request: Request):
    """Where this régie's federation keys live: set by ``regie serve`` (the settings' data folder). An app
    built without it (tests, embedders) does not federate: its federation routes answer 404."""
    found = getattr(request.app.state, "federation_dir", None)
    if found is None:
        raise HTTPException(404, "this régie does not federate (no data folder for its keys)")
    return found


def base_url(request: Request) -> str:
    """This régie's address as peers know it: the ``public_url`` setting, else the request's."""
    return (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")


def _target(request: Request) -> str:
    q = request.url.query
    return base_url(request) + request.url.path + (f"?{q}" if q else "")


def _answer(request: Request, status: int, payload: Any, nonce: str | None = None) -> Response:
    body = json.dumps(payload).encode("utf-8")
    ring = identity.load_or_create(_data_dir(request))
    headers = {"content-type": "application/json"}
    headers |= sig.sign(sig.Message(headers, body, status=status), ring.private_key(), ring.current.key_id,
                        components=sig.RESPONSE_COMPONENTS, nonce=nonce)  # fmt: skip
    return Response(body, status_code=status, headers=headers)


def _request_nonce(request: Request) -> str | None:
    try:
        return str(sig.parse_dictionary(request.headers.get("signature-input", ""))[sig.LABEL][1].get("nonce"))
    except (ValueError, KeyError, IndexError):
        return None


class Refused(Exception):
    """A server-to-server request refused: its logged, signed answer (turned into the response by
    :func:`refused_answer`, registered on the app, so each route just awaits :func:`_signed`)."""

    def __init__(self, response: Response) -> None:
        self.response = response


async def refused_answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


async def _signed(request: Request) -> tuple[rows.PeerRow, bytes, sig.Verified]:
    """The peer that signed this request, its body and signature; or :class:`Refused` with a logged, signed
    401/403 answer."""
    _data_dir(request)
    store = request.app.state.store
    body = await request.body()
    now = int(time.time())
    found: list[rows.PeerRow] = []

    def lookup(kid: str, created: int):
        p = peers.by_key(store, kid)
        if p is None:
            return None
        found.append(p)
        return peers.key_lookup(p, now)(kid, created)

    def seen(nonce: str, kid: str, expires: int) -> bool:
        return rows.nonce_seen(store, nonce, kid, expires, now)

    msg = sig.Message(dict(request.headers), body, request.method, _target(request))
    try:
        v = sig.verify(msg, lookup, now=now, seen=seen)
    except sig.SignatureRefused as exc:
        who = found[0].id if found else (request.client.host if request.client else "unknown")
        events.log(
            store,
            events.FederationEvent(
                "refused_request", who, "refused", exc.reason, detail={"path": request.url.path, "why": str(exc)}
            ),
            now=now,
        )
        raise Refused(
            _answer(request, 401, {"error": exc.reason, "detail": str(exc)}, _request_nonce(request))
        ) from None
    p = found[-1]
    if p.status != "active":
        events.log(store, events.FederationEvent("refused_request", p.id, "refused", "suspended",
                                                 detail={"path": request.url.path}), now=now)  # fmt: skip
        raise Refused(_answer(request, 403, {"error": "suspended"}, v.nonce))
    return p, body, v


@router.get("/.well-known/regie", name="federation_well_known")
def well_known(request: Request) -> Response:
    """Who this régie is: name, operator, public keys with their dates, endpoints, catalogue (JSON-LD)."""
    data_dir = _data_dir(request)
    audit_pem = keys.public_key_pem(keys.load_or_create_signing_key(data_dir))  # what its signed heads verify with
    doc = identity.well_known(data_dir, base_url(request), audit_public_pem=audit_pem)
    response = _answer(request, 200, doc)
    response.headers["content-type"] = "application/ld+json"
    return response


@router.post("/federation/inbox", name="federation_inbox")
async def inbox_route(request: Request) -> Response:
    """A peer pushes messages (data under their policy, or a deletion), kept in order: ``{"messages": [...]}``;
    the answer has one result per message kept, up to the first refused (with its error)."""
    p, body, v = await _signed(request)
    store = request.app.state.store
    try:
        messages = json.loads(body or b"{}")["messages"]
        if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
            raise ValueError(f"a list of at most {MAX_MESSAGES} messages")
    except (ValueError, KeyError, TypeError) as exc:
        return _answer(request, 400, {"error": f"not a federation delivery: {exc}"}, v.nonce)
    results = inbox.accept_all(store, p, messages)
    return _answer(request, 200, {"results": results}, v.nonce)


@router.post("/federation/subscribe", name="federation_subscribe")
async def subscribe(request: Request) -> Response:
    """A peer subscribes to one dataset of its catalogue."""
    p, body, v = await _signed(request)
    store = request.app.state.store
    try:
        dataset = str(json.loads(body or b"{}")["dataset"])
    except (ValueError, KeyError, TypeError):
        return _answer(request, 400, {"error": "a subscription names a dataset"}, v.nonce)
    if catalogue.find(store, p, dataset) is None:
        events.log(store, events.FederationEvent("subscribe", p.id, "refused", "not in its catalogue",
                                                 detail={"dataset": dataset}))  # fmt: skip
        return _answer(request, 403, {"error": f"{dataset} is not offered to {p.id}"}, v.nonce)
    s = rows.subscribe(store, p.id, dataset, int(time.time()))
    events.log(store, events.FederationEvent("subscribe", p.id, "allowed", "in its catalogue",
                                             grant_id=dataset[6:] if dataset.startswith("grant:") else None,
                                             detail={"dataset": dataset}))  # fmt: skip
    return _answer(request, 200, {"dataset": s.dataset, "subscribed_at": s.subscribed_at}, v.nonce)


@router.get("/federation/catalogue", name="federation_catalogue")
async def catalogue_route(request: Request) -> Response:
    """The DCAT catalogue this peer may see, an ODRL policy per dataset."""
    p, _, v = await _signed(request)
    return _answer(request, 200, catalogue.document(request.app.state.store, base_url(request), p), v.nonce)


@router.get("/federation/head", name="federation_head")
async def head(request: Request) -> Response:
    """This régie's signed access-log head (signed now if the log grew), for its witnesses."""
    _, _, v = await _signed(request)
    cp = witness.current_head(request.app.state.store, _data_dir(request),
                              getattr(request.app.state, "audit_notary", None))  # fmt: skip
    if cp is None:
        return _answer(request, 404, {"error": "no signed head yet"}, v.nonce)
    return _answer(request, 200, {"size": cp.size, "head_hash": cp.head_hash, "at": cp.at, "key_id": cp.key_id,
                                  "signature": cp.signature}, v.nonce)  # fmt: skip


@router.post("/federation/countersignature", name="federation_countersignature")
async def countersignature(request: Request) -> Response:
    """A witness gives back its countersignature of one of this régie's heads: checked, then kept (logged)."""
    p, body, v = await _signed(request)
    try:
        doc = json.loads(body or b"{}")
        kept = witness.accept_countersignature(request.app.state.store, p, base_url(request), doc,
                                               peers.key_lookup(p))  # fmt: skip
    except ValueError as exc:
        return _answer(request, 400, {"error": str(exc)}, v.nonce)
    return _answer(request, 200, {"status": "stored", "size": kept["size"]}, v.nonce)


@router.get("/federation/consistency", name="federation_consistency")
async def consistency(request: Request) -> Response:
    """The entry hashes from one witnessed head to the current one (``from``, ``to``: sizes)."""
    _, _, v = await _signed(request)
    try:
        first, last = int(request.query_params["from"]), int(request.query_params["to"])
        hashes = witness.consistency(request.app.state.store, first, last)
    except (KeyError, ValueError) as exc:
        return _answer(request, 400, {"error": str(exc)}, v.nonce)
    return _answer(request, 200, {"from": first, "to": last, "hashes": hashes}, v.nonce)


@router.get("/federation/regional", name="federation_regional")
def regional(request: Request, figure: str, step: int) -> dict:
    """A hub's regional figures: its villages' public cells added up, secrecy applied again (public)."""
    _data_dir(request)
    cells = hub.regional(request.app.state.store, figure, step)
    return {"figure": figure, "step": step, "cells": [
        {"t": c.t, "value": c.value, "points": c.points, "villages": list(c.villages), "reason": c.reason}
        for c in cells]}  # fmt: skip
