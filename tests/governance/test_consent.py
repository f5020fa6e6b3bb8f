"""Consent grants: rules (3 years at most, own PRMs, DPV purposes), request/accept/refuse, JSON-LD receipts."""

from __future__ import annotations

import json

import pytest
from governance_data import NOW, PRM_A, PRM_B, ts

from regie.governance import audit, consent
from regie.governance.consent import ConsentError, Granularity, Status

YEAR = 365 * 86400


def give(store, actor, **kw):
    args = dict(
        subject_id="alice",
        recipient_kind="operation",
        recipient_id="acc-village",
        categories=["consumption"],
        prms=[PRM_A],
        granularity="P1D",
        data_start=ts(2025, 1, 1),
        data_end=None,
        purpose="dpv:FulfilmentOfContractualObligation",
        expires_at=NOW + YEAR,
        now=NOW,
    )
    args.update(kw)
    return consent.grant(store, actor, **args)


def test_grant_rules(store, people) -> None:
    alice = people["alice"]
    with pytest.raises(ConsentError, match="3 years"):
        give(store, alice, expires_at=consent.add_years(NOW, 3) + 1)
    give(store, alice, expires_at=consent.add_years(NOW, 3))  # exactly 3 years is allowed
    with pytest.raises(ConsentError, match="does not hold"):
        give(store, alice, prms=[PRM_B])
    with pytest.raises(ConsentError, match="purpose"):
        give(store, alice, purpose="dpv:EnergyManagement")  # not a DPV term
    with pytest.raises(ConsentError, match="categories"):
        give(store, alice, categories=["diary"])
    with pytest.raises(ConsentError, match="past"):
        give(store, alice, expires_at=NOW - 1)
    with pytest.raises(ConsentError, match="only the data subject"):
        give(store, people["bob"])
    give(store, people["admin"])  # an admin may record a grant given on paper


def test_granularity_order() -> None:
    assert Granularity.P1D.allows(Granularity.P1M) and Granularity.P1D.allows(Granularity.P1D)
    assert not Granularity.P1D.allows(Granularity.PT30M)
    assert Granularity.PT30M.allows(Granularity.P1M)
    assert [g.value for g in sorted(Granularity, key=lambda g: g.rank)] == ["raw", "PT10M", "PT15M", "PT30M",
                                                                           "P1D", "P1M"]  # fmt: skip
    allowed = [g.value for g in Granularity if Granularity.PT15M.allows(g)]
    assert allowed == ["PT15M", "PT30M", "P1D", "P1M"]
    assert not Granularity.PT30M.allows(Granularity.PT15M) and not Granularity.PT15M.allows(Granularity.PT10M)
    assert all(Granularity.RAW.allows(g) for g in Granularity) and not Granularity.PT10M.allows(Granularity.RAW)
    assert (Granularity.PT10M.seconds, Granularity.PT15M.seconds, Granularity.PT30M.seconds) == (600, 900, 1800)
    assert Granularity.RAW.seconds is None and Granularity.P1D.seconds is None
    assert Granularity.parse(" pt15m ") is Granularity.PT15M and Granularity.parse("RAW") is Granularity.RAW
    with pytest.raises(ConsentError, match="choose one of raw, PT10M, PT15M, PT30M, P1D, P1M"):
        Granularity.parse("PT5M")


def test_every_level_fits_the_stored_column_and_old_values_still_read() -> None:
    from regie.store.schema import consent as table

    assert max(len(g.value) for g in Granularity) <= table.c.granularity.type.length  # no migration needed
    assert [Granularity(v) for v in ("PT30M", "P1D", "P1M")] == [Granularity.PT30M, Granularity.P1D, Granularity.P1M]


def test_finer_grants_round_trip_and_an_unknown_level_is_refused(store, people) -> None:
    alice = people["alice"]
    for level in ("PT10M", "PT15M", "raw"):
        g = give(store, alice, granularity=level)
        assert consent.get_grant(store, g.id).granularity is Granularity(level)
    with pytest.raises(ConsentError, match="granularity 'PT5M'"):
        give(store, alice, granularity="PT5M")
    quarter = give(store, alice, granularity="PT15M")
    assert consent.receipt(store, quarter.id)["regie:granularity"] == "PT15M"  # an xsd:duration
    raw = give(store, alice, granularity="raw")
    r = consent.receipt(store, raw.id)
    assert r["regie:granularity"] == {"@id": "regie:raw"}  # no duration: a node, not a bad literal
    rdflib = pytest.importorskip("rdflib")
    graph = rdflib.Graph().parse(data=json.dumps(r), format="json-ld")
    regie = rdflib.Namespace("https://w3id.org/regie/ns#")
    assert (rdflib.URIRef(r["@id"]), regie.granularity, regie.raw) in graph


def test_operator_requests_member_accepts_or_refuses(store, people) -> None:
    op, alice = people["op"], people["alice"]
    args = dict(
        subject_id="alice",
        categories=["consumption", "production"],
        prms=[PRM_A],
        granularity="P1D",
        data_start=ts(2025, 1, 1),
        data_end=None,
        purpose="dpv:FulfilmentOfContractualObligation",
        expires_at=NOW + YEAR,
        now=NOW,
    )
    asked = consent.request(store, op, **args)
    assert asked.status is Status.REQUESTED and asked.recipient == "operation:acc-village"
    with pytest.raises(ConsentError):
        consent.request(store, alice, **args)  # members do not request
    with pytest.raises(ConsentError):
        consent.accept(store, asked.id, people["bob"], now=NOW + 1)  # not bob's to accept
    given = consent.accept(store, asked.id, alice, now=NOW + 1)
    assert given.status is Status.GIVEN
    again = consent.request(store, op, **args)
    assert consent.refuse(store, again.id, alice, now=NOW + 2).status is Status.REFUSED
    with pytest.raises(ConsentError, match="refused"):
        consent.accept(store, again.id, alice, now=NOW + 3)
    statuses = [r.status for r in consent.history(store, asked.id)]
    assert statuses == [Status.REQUESTED, Status.GIVEN]
    logged = [(e.entry["consent_id"], e.entry["status"]) for e in audit.entries(store, kind="consent")]
    assert logged == [(asked.id, "requested"), (asked.id, "given"), (again.id, "requested"), (again.id, "refused")]


def test_withdraw_and_expiry_are_recorded(store, people) -> None:
    g = give(store, people["alice"], expires_at=NOW + 100)
    assert g.status_at(NOW + 99) is Status.GIVEN and g.status_at(NOW + 100) is Status.EXPIRED
    assert consent.expire_due(store, now=NOW + 100) == 1
    assert consent.get_grant(store, g.id).status is Status.EXPIRED
    h = give(store, people["alice"])
    consent.withdraw(store, h.id, people["alice"], now=NOW + 5)
    with pytest.raises(ConsentError, match="withdrawn"):
        consent.withdraw(store, h.id, people["alice"], now=NOW + 6)
    assert [r.status for r in consent.history(store, h.id)] == [Status.GIVEN, Status.WITHDRAWN]


def test_receipt_is_json_ld_with_dpv_terms(store, people) -> None:
    g = give(store, people["alice"])
    consent.withdraw(store, g.id, people["alice"], now=NOW + 5)
    r = consent.receipt(store, g.id)
    assert r["@context"]["dpv"] == "https://w3id.org/dpv#"
    assert r["@type"] == "dpv:ConsentRecord"
    assert r["dpv:hasConsentStatus"] == "dpv:ConsentWithdrawn"
    assert r["dpv:hasPurpose"] == "dpv:FulfilmentOfContractualObligation"
    assert [h["dpv:hasConsentStatus"] for h in r["regie:history"]] == ["dpv:ConsentGiven", "dpv:ConsentWithdrawn"]
    text = json.dumps(r)
    assert PRM_A not in text and PRM_A[-4:] in text  # the PRM is masked in a receipt
    rdflib = pytest.importorskip("rdflib")
    graph = rdflib.Graph().parse(data=text, format="json-ld")
    dpv = rdflib.Namespace("https://w3id.org/dpv#")
    subject = rdflib.URIRef(r["@id"])
    assert (subject, rdflib.RDF.type, dpv.ConsentRecord) in graph
    assert (subject, dpv.hasConsentStatus, dpv.ConsentWithdrawn) in graph
    assert (subject, dpv.hasPurpose, dpv.FulfilmentOfContractualObligation) in graph
