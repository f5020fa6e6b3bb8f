"""The synthetic region: villages like Prats with their own ids, sizes and places, drawn reproducibly."""

from __future__ import annotations

import pytest

from regie.demo.prats import scenario
from regie.demo.region import SIZES, build_region, village_config


def test_each_village_has_its_own_id_size_and_place_and_the_same_seed_gives_the_same_region() -> None:
    villages = [village_config(k, seed=42) for k in range(1, 21)]
    assert [v["territory"]["id"] for v in villages] == [f"village-{k:03d}" for k in range(1, 21)]
    prats = scenario()["consumption"]
    sizes = [v["consumption"]["households"] / prats["households"] for v in villages]
    assert all(SIZES[0] - 0.01 <= s <= SIZES[1] + 0.01 for s in sizes) and len(set(sizes)) > 15
    assert len({(v["territory"]["latitude"], v["territory"]["longitude"]) for v in villages}) == 20
    assert all(14 <= v["consumption"]["trades"] <= 42 for v in villages)
    assert villages == [village_config(k, seed=42) for k in range(1, 21)]
    assert village_config(1, seed=43) != villages[0]


def test_a_region_has_at_least_one_village() -> None:
    with pytest.raises(ValueError, match="at least one village"):
        next(build_region(0))
