"""RFC 9421 signatures: the RFC's own Ed25519 example, an independent implementation both ways, refusals."""

from __future__ import annotations

import base64
import datetime

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms

from regie.federation import signatures as sig
from regie.governance.keys import key_id

# RFC 9421 Appendix B.1.4 ("test-key-ed25519") and B.2.6 ("Signing a Request Using ed25519").
RFC_KEY = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_PUBLIC_DER = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="
RFC_SIGNATURE = "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
RFC_BASE = """"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519\""""  # noqa: E501
RFC_MESSAGE = sig.Message(
    {"Host": "example.com", "Date": "Tue, 20 Apr 2021 02:07:55 GMT", "Content-Type": "application/json",
     "Content-Length": "18"},
    b'{"hello": "world"}', "POST", "https://example.com/foo?param=Value&Pet=dog",
)  # fmt: skip
RFC_COMPONENTS = ("date", "@method", "@path", "@authority", "content-type", "content-length")


def _rfc_key() -> Ed25519PrivateKey:
    return serialization.load_pem_private_key(RFC_KEY, password=None)


def test_the_rfc_ed25519_example_signature_base_and_signature() -> None:
    key = _rfc_key()
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert base64.b64encode(public).decode() == RFC_PUBLIC_DER
    params = sig.signature_params(RFC_COMPONENTS, {"created": 1618884473, "keyid": "test-key-ed25519"})
    base = sig.signature_base(RFC_MESSAGE, RFC_COMPONENTS, params)
    assert base.decode() == RFC_BASE
    assert base64.b64encode(key.sign(base)).decode() == RFC_SIGNATURE  # Ed25519 is deterministic (RFC 8032)


def test_the_rfc_example_header_fields_parse_and_verify() -> None:
    signed = sig.parse_dictionary(f"sig-b26=:{RFC_SIGNATURE}:")
    inputs = sig.parse_dictionary('sig-b26=("date" "@method" "@path" "@authority" "content-type" '
                                  '"content-length");created=1618884473;keyid="test-key-ed25519"')  # fmt: skip
    inner, params = inputs["sig-b26"]
    components = [c for c, _ in inner]
    base = sig.signature_base(RFC_MESSAGE, components, sig.signature_params(components, params))
    _rfc_key().public_key().verify(signed["sig-b26"][0], base)


def test_content_digest_is_rfc_9530s_example() -> None:
    # RFC 9530 §2 example: the sha-256 of {"hello": "world"}
    assert sig.content_digest(b'{"hello": "world"}') == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def _our_request(key: Ed25519PrivateKey, body: bytes = b'{"a": 1}', now: int | None = None) -> httpx.Request:
    url = "http://127.0.0.1:8123/federation/inbox?x=1"
    headers = {"content-type": "application/json"}
    headers |= sig.sign(sig.Message(headers, body, "POST", url), key, key_id(key), now=now)
    return httpx.Request("POST", url, headers=headers, content=body)


def test_an_independent_implementation_verifies_our_signature() -> None:
    key = Ed25519PrivateKey.generate()
    request = _our_request(key)
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={key_id(key): key.public_key()}, private_keys={}),
    )
    (result,) = verifier.verify(request, expect_label=None, body=request.content,
                                require_components=sig.REQUEST_COMPONENTS)  # fmt: skip
    assert result.parameters["keyid"] == key_id(key) and result.body == request.content
    tampered = httpx.Request("POST", request.url, headers=request.headers, content=b'{"a": 2}')
    with pytest.raises(Exception, match=r"(?i)digest|signature"):
        verifier.verify(tampered, body=tampered.content)


def test_we_verify_a_signature_made_by_the_independent_implementation() -> None:
    key = Ed25519PrivateKey.generate()
    kid = key_id(key)
    body = b'{"b": 2}'
    request = httpx.Request("POST", "http://127.0.0.1:9/federation/inbox", content=body)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    )
    signer.sign(request, key_id=kid, covered_component_ids=sig.REQUEST_COMPONENTS, label=sig.LABEL,
                nonce="abc123", include_alg=True, body=body, created=datetime.datetime.now(datetime.UTC),
                expires=datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30))  # fmt: skip
    msg = sig.Message(dict(request.headers), body, "POST", str(request.url))
    v = sig.verify(msg, lambda k, _t: key.public_key() if k == kid else None)
    assert v.key_id == kid and v.nonce == "abc123"


def _refusal(msg: sig.Message, lookup, **kw) -> str:
    with pytest.raises(sig.SignatureRefused) as exc:
        sig.verify(msg, lookup, **kw)
    return exc.value.reason


def test_refusals_wrong_key_modified_body_expired_replayed_unsigned() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    t0 = 1_800_000_000
    request = _our_request(key, now=t0)
    msg = sig.Message(dict(request.headers), request.content, "POST", str(request.url))
    trusted = lambda k, _t: key.public_key() if k == key_id(key) else None  # noqa: E731
    assert sig.verify(msg, trusted, now=t0 + 1).key_id == key_id(key)
    assert _refusal(msg, lambda k, _t: None, now=t0) == "unknown_key"
    assert _refusal(msg, lambda k, _t: other.public_key(), now=t0) == "bad_signature"  # another key under that id
    modified = sig.Message(msg.headers, b'{"a": 9}', msg.method, msg.target_uri)
    assert _refusal(modified, trusted, now=t0) == "digest"
    redirected = sig.Message(msg.headers, msg.body, msg.method, "http://127.0.0.1:8123/federation/other")
    assert _refusal(redirected, trusted, now=t0) == "bad_signature"
    assert _refusal(msg, trusted, now=t0 + sig.VALIDITY + 1) == "expired"
    assert _refusal(msg, trusted, now=t0 - 3600) == "future"
    book: set[str] = set()

    def seen(nonce: str, _k: str, _e: int) -> bool:
        was = nonce in book
        book.add(nonce)
        return was

    sig.verify(msg, trusted, now=t0, seen=seen)
    assert _refusal(msg, trusted, now=t0, seen=seen) == "replay"
    assert _refusal(sig.Message({}, b"", "POST", "http://x/"), trusted) == "unsigned"
