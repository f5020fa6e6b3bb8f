"""HTTP Message Signatures (RFC 9421) with Ed25519, and Content-Digest (RFC 9530), written here.

Why our own: the signature base is a few lines of text, and a régie must be able to say exactly which bytes
it signed; the tests check it against the RFC's own example (Appendix B.2.6) and against an independent
implementation (the ``http-message-signatures`` package), so neither side can drift unseen.

What a régie signs (:data:`REQUEST_COMPONENTS`): ``@method``, ``@target-uri`` and ``content-digest`` (the
SHA-256 of the body, RFC 9530 §2), with the parameters ``created``, ``expires``, ``nonce``, ``keyid`` and
``alg="ed25519"`` (RFC 9421 §2.3). A response covers ``@status`` and ``content-digest`` and repeats the
request's nonce, which binds it to the request it answers. A verifier refuses (:class:`SignatureRefused`,
with the reason): a missing or malformed signature, a digest that does not match the body, an unknown key, a
key past its end date, a created time in the future, an expired signature or one valid for longer than
:data:`MAX_VALIDITY`, and a nonce already seen (the caller keeps the nonces: :class:`NonceBook`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LABEL = "regie"
ALG = "ed25519"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest")
RESPONSE_COMPONENTS = ("@status", "content-digest")
VALIDITY = 60  # seconds a signature is valid for: long enough for a slow link, short enough to bound replays
MAX_VALIDITY = 300  # a signature claiming longer is refused: the nonce book need not remember more
CLOCK_SKEW = 30  # seconds a peer's clock may run ahead of ours


class SignatureRefused(ValueError):
    """A signed message refused; ``reason`` is a short code (logged), the message says why in words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# ---------------------------------------------------------------- Content-Digest (RFC 9530)


def content_digest(body: bytes) -> str:
    """The ``Content-Digest`` field value of ``body``: ``sha-256=:<base64>:`` (RFC 9530 §2, §5)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def digest_matches(field: str | None, body: bytes) -> bool:
    """Whether a ``Content-Digest`` field holds the SHA-256 of ``body`` (other algorithms are ignored)."""
    if not field:
        return False
    try:
        members = parse_dictionary(field)
    except ValueError:
        return False
    value = members.get("sha-256")
    return value is not None and isinstance(value[0], bytes) and value[0] == hashlib.sha256(body).digest()


# ---------------------------------------------------------------- structured fields (RFC 8941), the part used

_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9_\-.:%*/]*")
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_INT = re.compile(r"-?[0-9]{1,15}")

Item = str | int | bytes | bool
Params = dict[str, Item]


class _Reader:
    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_sp(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise ValueError(f"expected {ch!r} at {self.i} in {self.s!r}")
        self.i += 1

    def match(self, rx: re.Pattern) -> str:
        m = rx.match(self.s, self.i)
        if not m:
            raise ValueError(f"unexpected {self.s[self.i : self.i + 10]!r} at {self.i}")
        self.i = m.end()
        return m.group(0)

    def bare_item(self) -> Item:
        c = self.peek()
        if c == '"':
            self.i += 1
            out = []
            while True:
                c = self.peek()
                if not c:
                    raise ValueError("unterminated string")
                self.i += 1
                if c == "\\":
                    out.append(self.peek())
                    self.i += 1
                elif c == '"':
                    return "".join(out)
                else:
                    out.append(c)
        if c == ":":
            self.i += 1
            end = self.s.index(":", self.i)
            raw, self.i = self.s[self.i : end], end + 1
            return base64.b64decode(raw, validate=True)
        if c == "?":
            self.i += 1
            return self.match(re.compile("[01]")) == "1"
        if c == "-" or c.isdigit():
            return int(self.match(_INT))
        return self.match(_TOKEN)

    def params(self) -> Params:
        out: Params = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_sp()
            key = self.match(_KEY)
            if self.peek() == "=":
                self.i += 1
                out[key] = self.bare_item()
            else:
                out[key] = True
        return out


def parse_dictionary(text: str) -> dict[str, tuple[Item | list[tuple[Item, Params]], Params]]:
    """An RFC 8941 dictionary: member -> (item or inner list of (item, params), params); order kept."""
    r, out = _Reader(text.strip()), {}
    while r.peek():
        key = r.match(_KEY)
        if r.peek() == "=":
            r.i += 1
            if r.peek() == "(":
                r.i += 1
                inner = []
                while True:
                    r.skip_sp()
                    if r.peek() == ")":
                        r.i += 1
                        break
                    item = r.bare_item()
                    inner.append((item, r.params()))
                out[key] = (inner, r.params())
            else:
                item = r.bare_item()
                out[key] = (item, r.params())
        else:
            out[key] = (True, r.params())
        r.skip_sp()
        if not r.peek():
            break
        r.expect(",")
        r.skip_sp()
    return out


def _serialize_item(v: Item) -> str:
    if isinstance(v, bool):
        return "?1" if v else "?0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, bytes):
        return ":" + base64.b64encode(v).decode("ascii") + ":"
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Mapping[str, Item]) -> str:
    return "".join(f";{k}" if v is True else f";{k}={_serialize_item(v)}" for k, v in params.items())


def signature_params(components: Sequence[str], params: Mapping[str, Item]) -> str:
    """The ``@signature-params`` value: the inner list of covered components and its parameters (§2.3)."""
    return "(" + " ".join(_serialize_item(c) for c in components) + ")" + serialize_params(params)


# ---------------------------------------------------------------- the signature base (RFC 9421 §2.5)


@dataclass(frozen=True, slots=True)
class Message:
    """What a signature covers of an HTTP message: method and target URI (a request) or status (a response),
    the header fields (lower-case names, values as sent) and the body."""

    headers: Mapping[str, str]
    body: bytes = b""
    method: str | None = None
    target_uri: str | None = None
    status: int | None = None


def _component(msg: Message, name: str) -> str:
    if name == "@method":
        return (msg.method or "").upper()
    if name == "@target-uri":
        return msg.target_uri or ""
    if name == "@status":
        return str(msg.status)
    if name in ("@authority", "@scheme", "@path", "@query"):
        u = urlsplit(msg.target_uri or "")
        if name == "@authority":
            return u.netloc.lower()
        if name == "@scheme":
            return u.scheme.lower()
        if name == "@path":
            return u.path or "/"
        return "?" + u.query
    if name.startswith("@"):
        raise SignatureRefused("malformed", f"derived component {name} is not supported")
    value = {k.lower(): v for k, v in msg.headers.items()}.get(name)
    if value is None:
        raise SignatureRefused("malformed", f"the signature covers {name}, which the message lacks")
    return value.strip()


def signature_base(msg: Message, components: Sequence[str], params_value: str) -> bytes:
    """The exact bytes signed: one ``"name": value`` line per covered component, then ``@signature-params``."""
    lines = [f'"{c}": {_component(msg, c)}' for c in components]
    lines.append(f'"@signature-params": {params_value}')
    return "\n".join(lines).encode("utf-8")


# ---------------------------------------------------------------- signing and verifying


def sign(
    msg: Message,
    key: Ed25519PrivateKey,
    key_id: str,
    *,
    components: Sequence[str] = REQUEST_COMPONENTS,
    now: int | None = None,
    validity: int = VALIDITY,
    nonce: str | None = None,
    label: str = LABEL,
) -> dict[str, str]:
    """The header fields to add to ``msg``: ``Content-Digest``, ``Signature-Input`` and ``Signature``."""
    created = int(time.time()) if now is None else int(now)
    headers = dict(msg.headers)
    headers["content-digest"] = content_digest(msg.body)
    signed = Message(headers, msg.body, msg.method, msg.target_uri, msg.status)
    params: Params = {"created": created, "expires": created + validity,
                      "nonce": nonce or secrets.token_urlsafe(24), "keyid": key_id, "alg": ALG}  # fmt: skip
    value = signature_params(components, params)
    sig = key.sign(signature_base(signed, components, value))
    return {
        "Content-Digest": headers["content-digest"],
        "Signature-Input": f"{label}={value}",
        "Signature": f"{label}={_serialize_item(sig)}",
    }


@dataclass(frozen=True, slots=True)
class Verified:
    """A signature that verified: by which key, when made, until when, with which nonce."""

    key_id: str
    created: int
    expires: int
    nonce: str


KeyLookup = Callable[[str, int], Ed25519PublicKey | None]


def verify(
    msg: Message,
    lookup: KeyLookup,
    *,
    required: Sequence[str] = REQUEST_COMPONENTS,
    now: int | None = None,
    label: str = LABEL,
    seen: Callable[[str, str, int], bool] | None = None,
) -> Verified:
    """Check the signature ``label`` of ``msg``; raise :class:`SignatureRefused` saying why, or return it.

    ``lookup(key_id, created)`` is the public key trusted for that id at that time, or None (an unknown key, a
    key past its end date). ``seen(nonce, key_id, expires)`` records a nonce and says whether it was seen
    before (a replay). The body's digest is checked before the signature, the clock after it.
    """
    at = int(time.time()) if now is None else int(now)
    headers = {k.lower(): v for k, v in msg.headers.items()}
    if "signature-input" not in headers or "signature" not in headers:
        raise SignatureRefused("unsigned", "no Signature-Input / Signature fields: the message is not signed")
    try:
        inputs, sigs = parse_dictionary(headers["signature-input"]), parse_dictionary(headers["signature"])
    except (ValueError, IndexError) as exc:
        raise SignatureRefused("malformed", f"signature fields are not valid structured fields: {exc}") from None
    if label not in inputs or label not in sigs:
        raise SignatureRefused("unsigned", f"no signature labelled {label!r}")
    inner, params = inputs[label]
    sig = sigs[label][0]
    if not isinstance(inner, list) or not isinstance(sig, bytes):
        raise SignatureRefused("malformed", "Signature-Input must be an inner list and Signature a byte sequence")
    components = [c for c, _ in inner]
    if any(not isinstance(c, str) for c in components):
        raise SignatureRefused("malformed", "covered components must be strings")
    missing = [c for c in required if c not in components]
    if missing:
        raise SignatureRefused("malformed", f"the signature does not cover {', '.join(missing)}")
    created, expires, nonce, key_id = (params.get(k) for k in ("created", "expires", "nonce", "keyid"))
    if not isinstance(created, int) or not isinstance(expires, int) or not isinstance(nonce, str) or \
            not isinstance(key_id, str):  # fmt: skip
        raise SignatureRefused("malformed", "the signature needs created, expires, nonce and keyid")
    if params.get("alg", ALG) != ALG:
        raise SignatureRefused("malformed", f"algorithm {params.get('alg')!r}: only ed25519 is accepted")
    if "content-digest" in components and not digest_matches(headers.get("content-digest"), msg.body):
        raise SignatureRefused("digest", "the body does not match its Content-Digest: modified on the way")
    public = lookup(key_id, created)
    if public is None:
        raise SignatureRefused("unknown_key", f"key {key_id[:16]} is not a trusted key of this peer (or has ended)")
    base = signature_base(msg, components, signature_params(components, params))
    try:
        public.verify(sig, base)
    except InvalidSignature:
        raise SignatureRefused("bad_signature", "the signature does not verify: the message was altered") from None
    if created > at + CLOCK_SKEW:
        raise SignatureRefused("future", "the signature was created in the future (clocks apart?)")
    if expires <= at:
        raise SignatureRefused("expired", f"the signature expired {at - expires} s ago")
    if expires - created > MAX_VALIDITY:
        raise SignatureRefused("too_long", f"a signature may be valid {MAX_VALIDITY} s at most")
    if seen is not None and seen(nonce, key_id, expires):
        raise SignatureRefused("replay", "this nonce was already used: a replayed message")
    return Verified(key_id, created, expires, nonce)
