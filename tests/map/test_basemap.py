"""The map background is checked before it is kept: what is wrong, where, and nothing half-kept."""

from __future__ import annotations

import json

import pytest

from regie.demo.basemap import SOURCE, demo_base
from regie.model.basemap import MAX_FEATURES, BaseMapError, parse


def collection(*features: dict) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def feature(kind: str, coordinates, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coordinates}, "properties": props}


def test_keeps_geometry_layer_and_name_only_and_computes_the_bounding_box():
    base = parse(collection(
        feature("LineString", [[2.40, 42.39], [2.50, 42.41]], layer="water", name="Le Tech", owner="someone"),
        feature("Point", [2.48, 42.40], layer="unknown-layer"),
    ), " IGN BD TOPO ")  # fmt: skip
    assert base.bbox == (2.40, 42.39, 2.50, 42.41)
    assert base.source == "IGN BD TOPO"
    assert [f["properties"] for f in base.features] == [{"layer": "water", "name": "Le Tech"}, {"layer": "other"}]


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ("not json", "file", "not JSON"),
        (json.dumps({"type": "Feature"}), "file", "FeatureCollection"),
        (collection(), "file", "no features"),
        (collection({"type": "Feature", "geometry": {"type": "Circle", "coordinates": [0, 0]}}), "feature 1",
         "geometry type"),
        (collection(feature("Point", [2.48, 142.0])), "feature 1", "WGS 84"),
        (collection(feature("Point", [42.4, 2.48]), feature("Point", ["2.48", 42.4])), "feature 2", "position"),
        (collection(feature("LineString", [[2.48, 42.4]])), "feature 1", "two positions"),
        (collection(feature("Polygon", [])), "feature 1", "malformed"),
    ],
)  # fmt: skip
def test_says_what_is_wrong_and_where(text, where, why):
    with pytest.raises(BaseMapError) as err:
        parse(text, "somewhere")
    assert err.value.where == where
    assert why in err.value.why


def test_refuses_an_unattributed_or_oversized_collection():
    one = feature("Point", [2.48, 42.4])
    with pytest.raises(BaseMapError, match="say where the geography comes from"):
        parse(collection(one), "  ")
    with pytest.raises(BaseMapError, match="features, more than"):
        parse(collection(*[one] * (MAX_FEATURES + 1)), "x")


def test_the_demo_background_is_valid_and_says_it_is_schematic():
    base = demo_base(42.404, 2.479)
    layers = {f["properties"]["layer"] for f in base.features}
    assert {"outline", "water", "road", "place"} <= layers
    west, south, east, north = base.bbox
    assert west < 2.479 < east and south < 42.404 < north
    assert base.source == SOURCE and "not surveyed" in SOURCE
    assert parse(json.dumps(base.as_geojson()), SOURCE) == base  # what is kept reads back the same
