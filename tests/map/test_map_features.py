"""What the public map draws: resources that describe no one, each with its page, and nothing personal."""

from __future__ import annotations

import json
import re
from datetime import date

import numpy as np
import pytest

from regie.analytics import grid
from regie.governance import gate
from regie.model import (
    DeliveryPoint,
    Inventory,
    Producer,
    Readings,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
    Transformer,
)
from regie.model.parties import Membership, Organisation, OrganisationKind, Person
from regie.semantic.geo import LOADING_WINDOW_S, map_features
from regie.store import open_store

PT30M = Step.parse("PT30M")
SINCE = date(2020, 1, 1)
HOMES = [f"3000000000{i:04d}" for i in range(12)]


def small_territory() -> Inventory:
    """Twelve homes (one with a private roof), a commune with a school, a cooperative's plant, two substations:
    one feeding the twelve homes, one feeding three."""
    inv = Inventory(Territory("val", "Val", latitude=42.4, longitude=2.48))
    inv.organisations += [Organisation("commune", "Commune", OrganisationKind.COMMUNE),
                          Organisation("coop", "Coop", OrganisationKind.COOPERATIVE)]  # fmt: skip
    for i, prm in enumerate(HOMES):
        inv.persons.append(Person(f"p{i}", f"Résident Numéro{i}"))
        inv.sites.append(Site(f"home-{i}", f"Maison {i}", "val", 42.4 + i * 1e-3, 2.48))
        inv.delivery_points.append(DeliveryPoint(prm, f"home-{i}", usage="residential"))
        inv.memberships.append(Membership(f"p{i}", prm, SINCE))
        inv.series.append(Series(f"c{i}", SeriesKind.CONSUMPTION, "W", PT30M, prm=prm))
    roof_prm, school_prm, plant_prm = "30000000009001", "30000000009002", "30000000009003"
    inv.sites += [Site("school", "École", "val", 42.41, 2.49), Site("plant", "Centrale", "val", 42.42, 2.47),
                  Site("post-a", "Poste A", "val", 42.401, 2.481), Site("post-b", "Poste B", "val", 42.402, 2.482)]
    inv.delivery_points += [DeliveryPoint(roof_prm, "home-0", usage="residential"),
                            DeliveryPoint(school_prm, "school", usage="public"),
                            DeliveryPoint(plant_prm, "plant", usage="production")]  # fmt: skip
    inv.memberships += [Membership("p0", roof_prm, SINCE), Membership("commune", school_prm, SINCE),
                        Membership("coop", plant_prm, SINCE)]  # fmt: skip
    inv.producers += [Producer("roof", "Toit", Source.PV, 3000, prm=roof_prm, site_id="home-0"),
                      Producer("hydro", "Centrale", Source.HYDRO, 400_000, prm=plant_prm, site_id="plant")]
    inv.series += [Series("roof", SeriesKind.PRODUCTION, "W", PT30M, prm=roof_prm, producer_id="roof"),
                   Series("hydro", SeriesKind.PRODUCTION, "W", PT30M, prm=plant_prm, producer_id="hydro")]
    inv.transformers += [Transformer("tr-a", "Poste A", 250, tuple(HOMES), site_id="post-a"),
                         Transformer("tr-b", "Poste B", 100, (roof_prm, school_prm, plant_prm), site_id="post-b")]
    inv.series += [Series(f"load-{t}", SeriesKind.TRANSFORMER_LOAD, "W", PT30M, transformer_id=t)
                   for t in ("tr-a", "tr-b")]  # fmt: skip
    return inv


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'map.sqlite'}")
    store.save_inventory(small_territory())
    t = 1_735_689_600 + 1800 * np.arange(24 * 2 * 60, dtype=np.int64)  # 60 days from 2025-01-01
    load = 100_000 + 80_000 * np.sin(np.arange(len(t)) / 7.0)
    store.write([Readings("load-tr-a", t, load), Readings("load-tr-b", t, load / 3),
                 *(Readings(f"c{i}", t, np.full(len(t), 500.0)) for i in range(12))])  # fmt: skip
    yield store
    store.close()


def features_of(store) -> dict:
    return map_features(store, "http://regie.test", "val")


def by_id(collection: dict) -> dict[str, dict]:
    return {f["id"].split("/", 1)[1]: f for f in collection["features"]}


def test_a_private_roof_is_never_placed(store):
    features = by_id(features_of(store))
    assert "roof" not in features and features["hydro"]["properties"]["source"] == "hydro"
    assert features["hydro"]["geometry"]["coordinates"] == [2.47, 42.42]  # GeoJSON: longitude first


def test_public_buildings_and_resource_pages(store):
    features = by_id(features_of(store))
    assert features["school"]["properties"] == {"kind": "public_building", "territory": "val", "name": "École",
                                                "uri": "http://regie.test/id/site/school"}  # fmt: skip
    assert not any(k.startswith("home-") for k in features)  # homes are never drawn
    assert all(f["properties"]["uri"].startswith("http://regie.test/id/") for f in features.values())


def test_transformer_loading_is_the_peak_of_the_last_30_days_and_only_for_10_points_or_more(store):
    features = by_id(features_of(store))
    a = features["tr-a"]["properties"]
    t, v = gate.read_open(store, "load-tr-a", 0, 2**40)
    recent = v[t > t[-1] - LOADING_WINDOW_S]
    assert a["peak_loading"] == round(float(np.nanmax(grid.loading(recent, 250, 0.95))), 3) > 0.5
    assert features["tr-b"]["properties"]["peak_loading"] is None  # it feeds 3 points: its load would show them


def test_nothing_personal_in_what_the_map_serves(store):
    text = json.dumps(features_of(store), ensure_ascii=False)
    assert not re.search(r"\d{14}", text), "a delivery point id is public"
    assert "Résident" not in text and "Maison" not in text
