"""The URI scheme of public resources: ``<base>/id/<kind>/<id>``, stable as long as the inventory's ids are.

| kind | id | what |
|---|---|---|
| ``territory`` | territory id | the territory (a ``saref:FeatureOfInterest``) |
| ``organisation`` | organisation id | the régie, the commune, a cooperative... never a person |
| ``site`` | site id | a public place (town hall, plant, substation), never a household |
| ``producer`` | producer id | a public plant |
| ``transformer`` | transformer id | an HTA/BT substation transformer |
| ``operation`` | operation id | a collective self-consumption operation |
| ``series`` | ``<territory>/<name>`` | an aggregate series (``consumption``, ``production-pv``): a dataset |
| ``dataset`` | ``<territory>/<table>`` | an open-data table (``balance-monthly``...): a ``dcat:Dataset`` |
| ``rule`` | ``secrecy`` | the statistical secrecy rule (a ``prov:Plan``) |

A month of a series is a fragment of the series' URI (``…/series/prats/consumption#2025-01``); the
activity that published a series is ``…#publication``. ``<base>`` is ``public_url`` when set, else the
address the request came to. Each URI answers HTML, JSON-LD or Turtle by content negotiation, or by suffix
(``.jsonld``, ``.ttl``). The catalogue is ``<base>/catalog``, the JSON-LD context ``<base>/ns/context.jsonld``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef

KINDS = ("territory", "organisation", "site", "producer", "transformer", "operation", "series", "dataset", "rule")


@dataclass(frozen=True, slots=True)
class Uris:
    """Builds the URIs of one deployment (``base`` without a trailing slash)."""

    base: str

    def of(self, kind: str, *parts: str) -> URIRef:
        assert kind in KINDS, kind
        return URIRef(f"{self.base}/id/{kind}/{'/'.join(parts)}")

    def url(self, path: str) -> URIRef:
        return URIRef(f"{self.base}{path}")

    @property
    def catalog(self) -> URIRef:
        return URIRef(f"{self.base}/catalog")

    @property
    def context(self) -> str:
        return f"{self.base}/ns/context.jsonld"
