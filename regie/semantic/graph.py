"""The public graph: every public resource of every territory of a store, as RDF (rdflib).

Built from :func:`regie.semantic.public.public_view` (which resources exist publicly) and
:func:`regie.semantic.figures.territory_figures` (the published monthly balance and how it was made). One
``dcat:Dataset`` per aggregate series with distributions pointing at ``/api/balance`` and the open-data
files; the months of a series are ``saref:Measurement`` nodes (a dozen a year), never one triple per
metering step. Cached per base URL and state of the store: the figures come from the publication, which
only re-reads personal curves when the data changed.
"""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, datetime
from decimal import Decimal

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, PROV, RDF, RDFS, SKOS, XSD

from regie import __version__
from regie.governance import secrecy, territories
from regie.model import Territory
from regie.publication.contributions import PURPOSE
from regie.semantic import vocab
from regie.semantic.figures import SeriesFigures, TerritoryFigures, territory_figures
from regie.semantic.opendata_tables import TABLES
from regie.semantic.public import PublicView, public_view
from regie.semantic.uris import Uris
from regie.semantic.vocab import (
    DPV,
    EU_ACCESS,
    EU_FREQUENCY,
    GEO,
    GSP,
    INSEE_COMMUNE,
    LICENCES,
    OM,
    PAIR,
    REGIE,
    SAREF,
    SEAS,
)  # fmt: skip
from regie.store import Store
from regie.store import operations as stored_operations
from regie.store import published as cells

#: Version of the secrecy rule the publication applies (docs/publication.md): 1 = 10 points, 85 %, frozen
#: cells, revisions only when their difference passes.
RULE_VERSION = "1"
_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[Store, tuple[tuple, Graph]] = weakref.WeakKeyDictionary()


def _num(x: float) -> Literal:
    """A number as xsd:decimal, written out in full (Turtle writes an xsd:double as 6.852888e+08: Wh lost)."""
    return Literal(format(Decimal(repr(float(x))), "f"), datatype=XSD.decimal)


def _dt(x: datetime | int) -> Literal:
    d = datetime.fromtimestamp(x, UTC) if isinstance(x, int) else x
    return Literal(d.isoformat(), datatype=XSD.dateTime)


def _quantity(g: Graph, node: URIRef, kind: URIRef, value: float, unit: URIRef) -> URIRef:
    g.add((node, RDF.type, kind))
    g.add((node, OM.hasNumericalValue, _num(value)))
    g.add((node, OM.hasUnit, unit))
    return node


def _point(g: Graph, node: URIRef, lat: float | None, lon: float | None) -> None:
    if lat is None or lon is None:
        return
    lat, lon = round(float(lat), 6), round(float(lon), 6)  # 0.1 m: the inventory's floats carry noise digits
    g.add((node, GEO.lat, _num(lat)))
    g.add((node, GEO.long, _num(lon)))
    geom = URIRef(f"{node}#geometry")
    g.add((node, GSP.hasGeometry, geom))
    g.add((geom, RDF.type, GSP.Geometry))
    g.add((geom, GSP.asWKT, Literal(f"POINT({lon} {lat})", datatype=GSP.wktLiteral)))


def _rule(g: Graph, u: Uris) -> URIRef:
    rule = u.of("rule", "secrecy")
    r = secrecy.SecrecyRule()
    g.add((rule, RDF.type, PROV.Plan))
    g.add((rule, RDFS.label, Literal("Statistical secrecy of published aggregates", lang="en")))
    g.add((rule, RDFS.label, Literal("Secret statistique des agrégats publiés", lang="fr")))
    g.add(
        (
            rule,
            DCTERMS.description,
            Literal(
                "A cell (one metering step) is published when at least 10 delivery points contribute and none makes "
                "more than 85 % of it (décret n° 2020-196, art. D. 111-52 ff. of the Code de l'énergie; INSEE "
                "dominance rule). Published cells are frozen and versioned; a revision is published only when the "
                "difference it reveals passes the same rule; a longer period is shown only when every cell in it is.",
                lang="en",
            ),
        )
    )
    g.add((rule, DCTERMS.hasVersion, Literal(RULE_VERSION)))
    g.add((rule, REGIE.minimumPoints, Literal(r.min_points, datatype=XSD.integer)))
    g.add((rule, REGIE.maximumShare, _num(r.max_share)))
    g.add((rule, DCTERMS.source, URIRef("https://www.legifrance.gouv.fr/jorf/id/JORFTEXT000041652900")))
    return rule


def _organisations(g: Graph, u: Uris, view: PublicView, territory: URIRef) -> None:
    for o in view.organisations:
        node = u.of("organisation", o.id)
        for t in (FOAF.Organization, ORG.FormalOrganization, PAIR.Organization, PROV.Organization):
            g.add((node, RDF.type, t))
        g.add((node, FOAF.name, Literal(o.name)))
        g.add((node, RDFS.label, Literal(o.name)))
        g.add((node, PAIR.label, Literal(o.name)))
        g.add((node, ORG.classification, REGIE[f"organisation-{o.kind.value}"]))
        g.add((node, REGIE.territory, territory))
        if o.siren:
            g.add((node, ORG.identifier, Literal(o.siren)))
            g.add((node, RDFS.seeAlso, URIRef(f"https://annuaire-entreprises.data.gouv.fr/entreprise/{o.siren}")))


def _thing(g: Graph, node: URIRef, types: tuple[URIRef, ...], label: str, territory: URIRef) -> URIRef:
    """A public thing of a territory: its classes, its label, the territory it is part of."""
    for t in types:
        g.add((node, RDF.type, t))
    g.add((node, RDFS.label, Literal(label)))
    g.add((node, DCTERMS.isPartOf, territory))
    return node


def _sites(g: Graph, u: Uris, view: PublicView, territory: URIRef) -> None:
    for s in view.sites:
        node = _thing(g, u.of("site", s.id), (SAREF.FeatureOfInterest, GEO.SpatialThing), s.name, territory)
        _point(g, node, s.latitude, s.longitude)
        if s.altitude_m is not None:
            g.add((node, GEO.alt, _num(s.altitude_m)))


def _producers(g: Graph, u: Uris, view: PublicView, territory: URIRef) -> None:
    for p in view.producers:
        node = _thing(g, u.of("producer", p.id), (SAREF.Device, SEAS.ElectricPowerProducer), p.name, territory)
        g.add((node, REGIE.source, Literal(p.source.value)))
        peak = _quantity(g, URIRef(f"{node}#peak-power"), OM.Power, p.peak_power_w, OM.watt)
        g.add((node, SAREF.hasProperty, peak))
        g.add((node, REGIE.peakPowerW, _num(p.peak_power_w)))
        if p.site_id and view.site(p.site_id):
            g.add((node, SAREF.isLocatedIn, u.of("site", p.site_id)))
        holder = view.producer_holder.get(p.id)
        if holder:
            g.add((node, DCTERMS.publisher, u.of("organisation", holder)))
        if p.commissioned:
            g.add((node, DCTERMS.created, Literal(p.commissioned)))


def _transformers(g: Graph, u: Uris, view: PublicView, territory: URIRef) -> None:
    for t in view.transformers:
        node = _thing(g, u.of("transformer", t.id), (SEAS.ElectricPowerTransformer, SAREF.Device), t.name, territory)
        rated = _quantity(g, URIRef(f"{node}#rated-power"), OM.ApparentPower, t.rated_kva, OM.kilovoltAmpere)
        g.add((node, SAREF.hasProperty, rated))
        g.add((node, REGIE.ratedKVA, _num(t.rated_kva)))
        g.add((node, REGIE.deliveryPointsFed, Literal(len(t.prms), datatype=XSD.integer)))
        if t.site_id and view.site(t.site_id):
            g.add((node, SAREF.isLocatedIn, u.of("site", t.site_id)))


def _operations(g: Graph, u: Uris, view: PublicView, territory: URIRef) -> None:
    for op in view.operations:
        types = (SEAS.ElectricalConnection, REGIE.CollectiveSelfConsumption)
        node = _thing(g, u.of("operation", op.id), types, op.name, territory)
        g.add((node, REGIE.organisedBy, u.of("organisation", op.pmo_id)))
        g.add((node, REGIE.meteringStep, Literal(op.step, datatype=XSD.duration)))
        g.add((node, REGIE.consumers, Literal(op.consumers, datatype=XSD.integer)))
        g.add((node, REGIE.producers, Literal(op.producers, datatype=XSD.integer)))
        g.add((node, REGIE.peakPowerW, _num(op.peak_power_w)))
        g.add((node, REGIE.perimeterRadiusM, _num(op.radius_m)))
        for pid in op.producer_ids:
            g.add((node, SEAS.connectsSystem, u.of("producer", pid)))
        if op.centre:
            _point(g, node, *op.centre)


def _series(g: Graph, u: Uris, tid: str, territory: URIRef, fig: TerritoryFigures, s: SeriesFigures,
            regie_org: URIRef | None, rule: URIRef, licence: URIRef) -> URIRef:  # fmt: skip
    node = u.of("series", tid, s.name)
    g.add((node, RDF.type, DCAT.Dataset))
    title = "Consumption" if s.source is None else f"Production ({s.source})"
    g.add((node, DCTERMS.title, Literal(f"{title}, {tid}", lang="en")))
    g.add((node, DCTERMS.identifier, Literal(f"{tid}/{s.name}")))
    g.add((node, DCTERMS.license, licence))
    g.add((node, DCTERMS.accessRights, EU_ACCESS.PUBLIC))
    g.add((node, DCTERMS.spatial, territory))
    g.add((node, DCTERMS.accrualPeriodicity, EU_FREQUENCY.CONT))
    g.add((node, REGIE.kind, Literal(s.kind)))
    if s.source:
        g.add((node, REGIE.source, Literal(s.source)))
    period = BNode()
    g.add((node, DCTERMS.temporal, period))
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    g.add((period, DCAT.startDate, _dt(fig.start)))
    g.add((period, DCAT.endDate, _dt(fig.end)))
    g.add((node, DCAT.temporalResolution, Literal(f"PT{fig.step_s // 60}M", datatype=XSD.duration)))
    if regie_org is not None:
        g.add((node, DCTERMS.publisher, regie_org))
    api = BNode()
    g.add((node, DCAT.distribution, api))
    g.add((api, RDF.type, DCAT.Distribution))
    g.add((api, DCAT.accessURL, u.url(f"/api/balance?territory={tid}")))
    g.add((api, DCTERMS.title, Literal("JSON API, any period and step (PT30M … P1M)", lang="en")))
    g.add((api, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/application/json")))
    g.add((api, DCTERMS.license, licence))
    if s.total_wh is not None:
        g.add((node, REGIE.totalWh, _num(s.total_wh)))
    # how it was made (PROV-O): the publication of its cells under the secrecy rule
    act = URIRef(f"{node}#publication")
    g.add((node, PROV.wasGeneratedBy, act))
    g.add((act, RDF.type, PROV.Activity))
    g.add((act, PROV.used, rule))
    g.add((act, DPV.hasPurpose, DPV[PURPOSE.split(":", 1)[1]]))
    if regie_org is not None:
        g.add((act, PROV.wasAssociatedWith, regie_org))
    prov: cells.Provenance | None = s.provenance
    if prov is not None and prov.last_published is not None:
        g.add((act, PROV.startedAtTime, _dt(int(prov.first_published))))
        g.add((act, PROV.endedAtTime, _dt(int(prov.last_published))))
        g.add((act, REGIE.inputsCount, Literal(prov.max_points, datatype=XSD.integer)))
        g.add((act, REGIE.cellsShown, Literal(prov.shown, datatype=XSD.integer)))
        g.add((act, REGIE.cellsHidden, Literal(prov.hidden, datatype=XSD.integer)))
        g.add((act, REGIE.latestVersion, Literal(prov.max_version, datatype=XSD.integer)))
    else:  # a source that describes no one (the régie's plants): read as it is, no secrecy
        g.add((act, RDFS.comment, Literal("plants held by public bodies: published as measured", lang="en")))
    prop = URIRef(f"{territory}#{s.name}")
    g.add((prop, RDF.type, SAREF.Energy))
    g.add((prop, RDFS.label, Literal(title, lang="en")))
    g.add((territory, SAREF.hasProperty, prop))
    for month, value in zip(fig.months, s.monthly_wh, strict=True):
        if value is None:
            continue
        m = URIRef(f"{node}#{month:%Y-%m}")
        g.add((m, RDF.type, SAREF.Measurement))
        g.add((m, SAREF.hasValue, _num(value)))
        g.add((m, SAREF.isMeasuredIn, OM.wattHour))
        g.add((m, SAREF.relatesToProperty, prop))
        g.add((m, SAREF.isMeasurementOf, territory))
        g.add((m, SAREF.hasTimestamp, _dt(month)))
        g.add((m, REGIE.period, Literal("P1M", datatype=XSD.duration)))
        g.add((m, DCTERMS.isPartOf, node))
        g.add((m, PROV.wasGeneratedBy, act))
    return node


def _tables(g: Graph, u: Uris, tid: str, territory: URIRef, fig: TerritoryFigures, regie_org: URIRef | None,
            rule: URIRef, licence: URIRef) -> list[URIRef]:  # fmt: skip
    out = []
    for table in TABLES:
        node = u.of("dataset", tid, table.name)
        out.append(node)
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.title, Literal(f"{table.title}, {tid}", lang="en")))
        g.add((node, DCTERMS.description, Literal(table.description, lang="en")))
        g.add((node, DCTERMS.identifier, Literal(f"{tid}/{table.name}")))
        g.add((node, DCTERMS.license, licence))
        g.add((node, DCTERMS.accessRights, EU_ACCESS.PUBLIC))
        g.add((node, DCTERMS.spatial, territory))
        g.add((node, DCTERMS.accrualPeriodicity, EU_FREQUENCY[table.frequency]))
        g.add((node, DCAT.temporalResolution, Literal(table.step or f"PT{fig.step_s // 60}M", datatype=XSD.duration)))
        g.add((node, PROV.wasDerivedFrom, u.of("series", tid, "consumption")))
        g.add((node, REGIE.secrecyRule, rule))
        g.add((node, DCAT.keyword, Literal("énergie", lang="fr")))
        g.add((node, DCAT.keyword, Literal("energy", lang="en")))
        period = BNode()
        g.add((node, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        g.add((period, DCAT.startDate, _dt(fig.start)))
        g.add((period, DCAT.endDate, _dt(fig.end)))
        if regie_org is not None:
            g.add((node, DCTERMS.publisher, regie_org))
        for fmt, media, filetype in (
            ("csv", "text/csv", "CSV"),
            ("parquet", "application/vnd.apache.parquet", "PARQUET"),
        ):
            dist = URIRef(f"{node}#{fmt}")
            url = u.url(f"/opendata/{tid}/{table.name}.{fmt}")
            g.add((node, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            g.add((dist, DCAT.accessURL, url))
            g.add((dist, DCAT.downloadURL, url))
            g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{media}")))
            g.add((dist, DCTERMS.format, vocab.EU_FILETYPE[filetype]))
            g.add((dist, DCTERMS.license, licence))
            g.add((dist, DCTERMS.conformsTo, u.url(f"/opendata/{tid}/datapackage.json")))
    return out


def _territory(g: Graph, u: Uris, t: Territory) -> URIRef:
    node = u.of("territory", t.id)
    g.add((node, RDF.type, SAREF.FeatureOfInterest))
    g.add((node, RDF.type, DCTERMS.Location))
    g.add((node, RDFS.label, Literal(t.name)))
    g.add((node, DCTERMS.identifier, Literal(t.id)))
    g.add((node, REGIE.timeZone, Literal(t.timezone)))
    if t.insee:
        g.add((node, REGIE.inseeCode, Literal(t.insee)))
        g.add((node, SKOS.exactMatch, URIRef(f"{INSEE_COMMUNE}{t.insee}")))
    _point(g, node, t.latitude, t.longitude)
    return node


def _state(store: Store) -> tuple:
    """What the graph depends on: the stored readings, the inventories and the ACC operations."""
    inventories = tuple(hash(repr(store.load_inventory(t.id))) for t in territories.list_territories(store))
    ops = tuple(
        hash(repr(stored_operations.load_operation(store, oid))) for oid in stored_operations.operation_ids(store)
    )
    return (cells.fingerprint(store), inventories, ops)


def build(store: Store, base: str, licence: str = "etalab-2.0") -> Graph:
    """The whole public graph of ``store`` with URIs under ``base`` (no trailing slash)."""
    u = Uris(base.rstrip("/"))
    g = Graph()
    vocab.bind(g)
    rule = _rule(g, u)
    lic = URIRef(LICENCES[licence])
    catalog = u.catalog
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("Open energy data of the régie", lang="en")))
    g.add((catalog, DCTERMS.title, Literal("Données ouvertes de l'énergie de la régie", lang="fr")))
    g.add((catalog, DCTERMS.description, Literal(
        "Public aggregates of metered energy, each cell checked by statistical secrecy, with their provenance.",
        lang="en")))  # fmt: skip
    g.add((catalog, DCTERMS.license, lic))
    g.add((catalog, DCTERMS.modified, _dt(datetime.now(UTC).replace(microsecond=0))))
    g.add((catalog, FOAF.homepage, u.url("/")))
    g.add((catalog, DCTERMS.conformsTo, URIRef("http://data.europa.eu/r5r/")))  # DCAT-AP 3
    g.add((catalog, RDFS.comment, Literal(f"regie {__version__}")))
    operations = [stored_operations.load_operation(store, oid) for oid in stored_operations.operation_ids(store)]
    for t in territories.list_territories(store):
        inv = store.load_inventory(t.id)
        view = public_view(inv, [o.operation for o in operations if o.territory_id == t.id])
        territory = _territory(g, u, t)
        _organisations(g, u, view, territory)
        regie_org = u.of("organisation", view.regie.id) if view.regie else None
        if regie_org is not None:
            g.add((catalog, DCTERMS.publisher, regie_org))
            g.add((regie_org, ORG.hasSite, territory))
        _sites(g, u, view, territory)
        _producers(g, u, view, territory)
        _transformers(g, u, view, territory)
        _operations(g, u, view, territory)
        fig = territory_figures(store, t.id)
        if fig is None:
            continue
        for s in fig.series:
            g.add((catalog, DCAT.dataset, _series(g, u, t.id, territory, fig, s, regie_org, rule, lic)))
        for node in _tables(g, u, t.id, territory, fig, regie_org, rule, lic):
            g.add((catalog, DCAT.dataset, node))
    return g


def cached(store: Store, base: str, licence: str = "etalab-2.0") -> Graph:
    """:func:`build`, kept per store until the stored data, inventory or operations change."""
    key = (_state(store), base, licence)
    with _LOCK:
        hit = _CACHE.get(store)
        if hit is not None and hit[0] == key:
            return hit[1]
    g = build(store, base, licence)
    g.regie_key = hash(key)  # what the SPARQL endpoint compares to know whether to load the graph again
    with _LOCK:
        _CACHE[store] = (key, g)
    return g


def describe(graph: Graph, uri: URIRef) -> Graph:
    """The triples about one resource: its own, its fragments' (``uri#…``) and its blank nodes'."""
    out = Graph()
    vocab.bind(out)
    prefix = f"{uri}#"
    todo = [s for s in set(graph.subjects()) if s == uri or (isinstance(s, URIRef) and str(s).startswith(prefix))]
    seen = set()
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        for _, p, o in graph.triples((s, None, None)):
            out.add((s, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    return out
