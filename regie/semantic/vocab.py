"""The vocabularies the public graph speaks, and the JSON-LD context served at ``/ns/context.jsonld``.

- SAREF core v3 and SAREF4ENER (ETSI TS 103 264, TS 103 410-1): devices, measurements, properties;
  https://saref.etsi.org/core/, https://saref.etsi.org/saref4ener/
- OM 2, the Ontology of units of Measure: http://www.ontology-of-units-of-measure.org/resource/om-2/
- SEAS (ITEA 12004, https://ci.mines-stetienne.fr/seas/) where SAREF has no term: transformers, grid
  connections; the Omega-X Local Energy Communities ontology builds on it.
- FOAF and W3C ORG for organisations, with the PAIR ontology of the Assemblée Virtuelle (the namespace SemApps
  stores, http://virtual-assembly.org/ontologies/pair#) alongside: ``pair:Organization``, ``pair:label``.
- PROV-O for how an aggregate was made, DCAT 3 and DCAT-AP 3 for datasets, W3C DPV 2 for purposes and the
  consent receipts (:func:`regie.governance.consent.receipt`), WGS 84 geo positions and GeoSPARQL WKT.
- ``regie:`` (https://w3id.org/regie/ns#, the namespace the consent receipts already use) for the few terms
  none of those has: the secrecy rule's parameters, a cell count.
"""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, PROV, RDF, RDFS, SKOS, XSD

SAREF = Namespace("https://saref.etsi.org/core/")
S4ENER = Namespace("https://saref.etsi.org/saref4ener/")
OM = Namespace("http://www.ontology-of-units-of-measure.org/resource/om-2/")
SEAS = Namespace("https://w3id.org/seas/")
PAIR = Namespace("http://virtual-assembly.org/ontologies/pair#")
DPV = Namespace("https://w3id.org/dpv#")
GEO = Namespace("http://www.w3.org/2003/01/geo/wgs84_pos#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
REGIE = Namespace("https://w3id.org/regie/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
#: Licences named by a setting (``opendata_licence``): Etalab Licence Ouverte 2.0 and ODbL 1.0.
LICENCES = {
    "etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "odbl-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}
#: EU Publications Office authority tables (DCAT-AP): frequency, file types, access rights.
EU_FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
EU_FILETYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
EU_ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
#: INSEE's linked data for communes (the code officiel géographique).
INSEE_COMMUNE = "http://id.insee.fr/geo/commune/"

PREFIXES: dict[str, Namespace] = {
    "saref": SAREF, "s4ener": S4ENER, "om": OM, "seas": SEAS, "foaf": Namespace(str(FOAF)),
    "org": Namespace(str(ORG)), "pair": PAIR, "prov": Namespace(str(PROV)), "dcat": Namespace(str(DCAT)),
    "dct": Namespace(str(DCTERMS)), "dpv": DPV, "geo": GEO, "gsp": GSP, "regie": REGIE,
    "rdf": Namespace(str(RDF)), "rdfs": Namespace(str(RDFS)), "skos": Namespace(str(SKOS)),
    "xsd": Namespace(str(XSD)), "adms": ADMS, "vcard": VCARD,
}  # fmt: skip


def bind(graph) -> None:
    """Give a graph the usual prefixes (short Turtle, readable SPARQL answers)."""
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)


def context() -> dict[str, object]:
    """The JSON-LD context of every JSON-LD document regie serves: the prefixes, and the typed terms."""
    ctx: dict[str, object] = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
    ctx.update({
        "dct:issued": {"@type": "xsd:dateTime"},
        "dct:modified": {"@type": "xsd:dateTime"},
        "prov:endedAtTime": {"@type": "xsd:dateTime"},
        "prov:startedAtTime": {"@type": "xsd:dateTime"},
        "dcat:startDate": {"@type": "xsd:dateTime"},
        "dcat:endDate": {"@type": "xsd:dateTime"},
        "saref:hasTimestamp": {"@type": "xsd:dateTime"},
        "dcat:accessURL": {"@type": "@id"},
        "dcat:downloadURL": {"@type": "@id"},
        "dct:conformsTo": {"@type": "@id"},
        "dct:license": {"@type": "@id"},
        "gsp:asWKT": {"@type": "gsp:wktLiteral"},
    })  # fmt: skip
    return ctx
