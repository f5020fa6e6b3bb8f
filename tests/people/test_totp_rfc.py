"""TOTP against the RFCs' own test vectors (RFC 4226 Appendix D, RFC 6238 Appendix B), against an independent
implementation (pyotp, as an authenticator app computes codes), and the sealing of the stored secret."""

from __future__ import annotations

import pyotp
import pytest

from regie.governance import two_factor
from regie.governance.two_factor import TwoFactorError, hotp, matching_step, seal, totp, unseal

# RFC 4226 Appendix D: secret "12345678901234567890", counters 0..9, 6 digits.
RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

# RFC 6238 Appendix B: 8 digits, T0 = 0, X = 30; the seed of each mode is the ASCII digits repeated to the
# hash's length (20, 32, 64 bytes — the RFC's reference code uses these seeds, its table says "seed" for all).
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("counter", range(10))
def test_hotp_matches_rfc_4226_appendix_d(counter: int) -> None:
    assert hotp(SEEDS["sha1"], counter) == RFC4226[counter]


@pytest.mark.parametrize(("t", "sha1", "sha256", "sha512"), RFC6238)
def test_totp_matches_rfc_6238_appendix_b(t: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert totp(SEEDS[algorithm], t, digits=8, algorithm=algorithm) == expected


def test_codes_agree_with_pyotp_and_the_uri_is_what_apps_read() -> None:
    key = bytes(range(20))
    uri = two_factor.otpauth_uri(key, "alice@vallee")
    app = pyotp.parse_uri(uri)  # what an authenticator app does with the QR code
    assert isinstance(app, pyotp.TOTP) and app.digits == 6 and app.interval == 30 and app.issuer == "regie"
    assert app.name == "alice@vallee" and app.secret == two_factor.b32(key)
    for t in (0, 59, 1_700_000_000, 1_700_000_029, 1_700_000_030, 4_102_444_800):
        assert totp(key, t) == app.at(t)


def test_one_step_of_drift_either_way_and_no_more() -> None:
    key = bytes(range(20))
    t = 1_700_000_015
    step = t // 30
    for delta in (-1, 0, 1):
        assert matching_step(key, hotp(key, step + delta), t) == step + delta
    for delta in (-2, 2, 100):
        assert matching_step(key, hotp(key, step + delta), t) is None
    assert matching_step(key, "12 34 5", t) is None and matching_step(key, "abcdef", t) is None
    spaced = hotp(key, step)
    assert matching_step(key, f"{spaced[:3]} {spaced[3:]}", t) == step  # "123 456" as apps show it


def test_the_stored_secret_is_sealed_to_the_regie_secret_and_the_account() -> None:
    key = bytes(range(20))
    app_secret = b"k" * 32
    sealed = seal(app_secret, 7, key)
    assert sealed.startswith("v1:") and two_factor.b32(key) not in sealed and len(sealed) <= 200
    assert unseal(app_secret, 7, sealed) == key
    assert seal(app_secret, 7, key) != sealed  # a fresh nonce each time
    with pytest.raises(TwoFactorError, match="does not open"):
        unseal(b"x" * 32, 7, sealed)  # another secret file
    with pytest.raises(TwoFactorError, match="does not open"):
        unseal(app_secret, 8, sealed)  # moved to another account


def test_the_qr_code_is_an_inline_svg() -> None:
    svg = two_factor.qr_svg(two_factor.otpauth_uri(bytes(20), "alice"))
    assert svg.startswith("<svg") and "<path" in svg and "http" not in svg.split(">")[0]
