"""Signed server-to-server HTTP: every request signed with the régie's current key, every answer's signature
checked against the peer's trusted keys and bound to the request by its nonce (stdlib only: urllib)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from regie.federation import signatures as sig
from regie.federation.identity import Keyring

TIMEOUT = 10.0


class PeerUnreachable(ConnectionError):
    """The peer did not answer (down, refused, timed out): the outbox retries later."""


class PeerRefused(RuntimeError):
    """The peer answered with an error, or an answer whose signature does not hold."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


def call(method: str, url: str, ring: Keyring, lookup: sig.KeyLookup | None, body: bytes = b"", *,
         timeout: float = TIMEOUT, now: int | None = None) -> Answer:  # fmt: skip
    """Send a signed request; return the answer once its own signature verified with ``lookup`` (None: the
    answer is not checked, only for the first fetch of a peer's well-known document, checked by fingerprint)."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    signed = sig.sign(sig.Message(headers, body, method, url), ring.private_key(), ring.current.key_id, now=now)
    nonce = sig.parse_dictionary(signed["Signature-Input"])[sig.LABEL][1]["nonce"]
    req = urllib.request.Request(url, data=body if method != "GET" else None, method=method,
                                 headers=headers | signed)  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, data, got = resp.status, resp.read(), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        status, data, got = exc.code, exc.read(), dict(exc.headers.items())
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise PeerUnreachable(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if lookup is not None:
        check_answer(status, data, got, lookup, nonce)
    if status >= 400:
        raise PeerRefused(status, data.decode("utf-8", "replace")[:300])
    return Answer(status, data)


def check_answer(status: int, body: bytes, headers: dict, lookup: sig.KeyLookup, nonce: str) -> sig.Verified:
    """A peer's answer must be signed by one of its keys and repeat our nonce (else: a replayed answer)."""
    try:
        v = sig.verify(sig.Message(headers, body, status=status), lookup, required=sig.RESPONSE_COMPONENTS)
    except sig.SignatureRefused as exc:
        raise PeerRefused(status, f"answer refused: {exc}") from None
    if v.nonce != nonce:
        raise PeerRefused(status, "answer refused: it does not answer our request (another nonce)")
    return v
