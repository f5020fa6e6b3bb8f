"""Secrecy of the live view over time: two live frames never give one delivery point's power.

Everything goes through the real routes: readings are posted to the emoncms API (``/input/bulk``, an ingest
key) and the frames are read from ``/api/live`` and ``/live/stream``, with the app's clock injected so that a
simulated hour takes a fraction of a second. The attacks of issue 18 are replayed as written; then a
differencing attacker drives a village through entries, exits, late readings and a person's plant, keeps
every frame it can provoke and tries every pair.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from regie.demo.schools_live import bind_inputs
from regie.governance import audit
from regie.ingest import apikeys
from regie.model import (
    DeliveryPoint,
    Inventory,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Producer,
    Series,
    SeriesKind,
    Site,
    Source,
    Step,
    Territory,
)
from regie.publication import live as publication
from regie.store import Store, open_store
from regie.web.app import create_app

T0 = 1_795_000_000  # the app's clock at the start of each scenario (2026-11-18)
PT10S = Step.parse("PT10S")
HOUSES = 30
ROOFS = 14  # the first houses also have a PV roof
SINCE = date(2024, 1, 1)


def prm(i: int) -> str:
    return f"4000000000{i:04d}"


SCHOOL, FARM, SAWMILL, TOWN_HALL = prm(9001), prm(9002), prm(9003), prm(9004)


def village() -> Inventory:
    """Thirty households (ROOFS of them with a PV roof), a public school, the commune's hydro plant and the town
    hall's PV, a sawmill's PV (a company), and a farmer's barn roof: a *professional* point held by a person."""
    sites = [Site(f"maison{i}", f"Maison {i}", "bourg") for i in range(HOUSES)]
    sites += [Site("ecole", "École du bourg", "bourg"), Site("ferme", "Ferme", "bourg"),
              Site("scierie", "Scierie", "bourg"), Site("mairie", "Mairie", "bourg")]  # fmt: skip
    points = [DeliveryPoint(prm(i), f"maison{i}", "C5", usage="residential") for i in range(HOUSES)]
    points += [DeliveryPoint(SCHOOL, "ecole", "C4", usage="public"),
               DeliveryPoint(FARM, "ferme", "C5", usage="professional"),
               DeliveryPoint(SAWMILL, "scierie", "C4", usage="professional"),
               DeliveryPoint(TOWN_HALL, "mairie", "C5", usage="public")]  # fmt: skip
    persons = [Person(f"p{i}", f"Habitant {i}") for i in range(HOUSES)] + [Person("fermier", "M. Y")]
    orgs = [Organisation("commune", "Commune", OrganisationKind.COMMUNE),
            Organisation("scierie", "Scierie du Pont", OrganisationKind.COMPANY)]  # fmt: skip
    members = [Membership(f"p{i}", prm(i), SINCE) for i in range(HOUSES)]
    members += [Membership("fermier", FARM, SINCE), Membership("scierie", SAWMILL, SINCE),
                Membership("commune", SCHOOL, SINCE), Membership("commune", TOWN_HALL, SINCE)]  # fmt: skip
    producers = [Producer("moulin", "Moulin communal", Source.HYDRO, 150_000),
                 Producer("grange", "Grange de M. Y", Source.PV, 36_000, prm=FARM),
                 Producer("scierie-pv", "Scierie du Pont", Source.PV, 100_000, prm=SAWMILL),
                 Producer("mairie-pv", "Mairie", Source.PV, 9_000, prm=TOWN_HALL)]  # fmt: skip
    producers += [Producer(f"toit{i}", f"Toit {i}", Source.PV, 3_000, prm=prm(i)) for i in range(ROOFS)]
    series = [Series(f"cons-{i}", SeriesKind.CONSUMPTION, "W", PT10S, prm=prm(i)) for i in range(HOUSES)]
    series += [Series(f"prod-toit{i}", SeriesKind.PRODUCTION, "W", PT10S, prm=prm(i), producer_id=f"toit{i}")
               for i in range(ROOFS)]  # fmt: skip
    series += [Series("cons-ecole", SeriesKind.CONSUMPTION, "W", PT10S, prm=SCHOOL, site_id="ecole"),
               Series("prod-moulin", SeriesKind.PRODUCTION, "W", PT10S, producer_id="moulin"),
               Series("prod-grange", SeriesKind.PRODUCTION, "W", PT10S, prm=FARM, producer_id="grange"),
               Series("prod-scierie", SeriesKind.PRODUCTION, "W", PT10S, prm=SAWMILL, producer_id="scierie-pv"),
               Series("prod-mairie", SeriesKind.PRODUCTION, "W", PT10S, prm=TOWN_HALL,
                      producer_id="mairie-pv")]  # fmt: skip
    return Inventory(Territory("bourg", "Bourg"), sites=sites, delivery_points=points, producers=producers,
                     organisations=orgs, persons=persons, memberships=members, series=series)  # fmt: skip


#: emoncms (node, input) → series, and the point each counts as in the attacker's books (figure, key).
BINDINGS = {(f"h{i}", "power"): f"cons-{i}" for i in range(HOUSES)}
BINDINGS |= {(f"h{i}", "pv"): f"prod-toit{i}" for i in range(ROOFS)}
BINDINGS |= {("ecole", "power"): "cons-ecole", ("moulin", "power"): "prod-moulin", ("grange", "power"): "prod-grange",
             ("scierie", "power"): "prod-scierie", ("mairie", "power"): "prod-mairie"}  # fmt: skip
HIDDEN = {(f"h{i}", "power"): ("consumption", prm(i)) for i in range(HOUSES)}
HIDDEN |= {(f"h{i}", "pv"): ("production", prm(i)) for i in range(ROOFS)}
HIDDEN |= {("grange", "power"): ("production", FARM)}


@dataclass
class Feed:
    """The attacker's side: an ingest key, the app's clock, every reading it posted and every frame it saw."""

    client: TestClient
    key: str
    clock: list[int]
    posted: dict[tuple[str, str], list[tuple[int, int, float]]] = field(default_factory=dict)  # (posted at, t, W)
    frames: list[tuple[int, dict]] = field(default_factory=list)  # (fetched at, frame)
    _truths: dict[int, dict[tuple[str, str], float]] = field(default_factory=dict)

    @property
    def now(self) -> int:
        return self.clock[0]

    def advance(self, seconds: int) -> None:
        self.clock[0] += seconds

    def post(self, readings: dict[tuple[str, str], float], late: dict[tuple[str, str], int] | None = None) -> None:
        """One bulk post, as an emonhub sends it: one frame per node and instant; ``late`` says which readings
        were taken how many seconds ago."""
        frames: dict[tuple[int, str], dict[str, float]] = {}
        for (node, name), v in readings.items():
            t = self.now - (late or {}).get((node, name), 0)
            frames.setdefault((t, node), {})[name] = v
            self.posted.setdefault((node, name), []).append((self.now, t, v))
        data = json.dumps([[t, node, x] for (t, node), x in frames.items()])
        r = self.client.post("/input/bulk", data={"data": data, "time": "0"},
                             headers={"Authorization": f"Bearer {self.key}"})  # fmt: skip
        assert r.status_code == 200 and r.text == "ok", r.text

    def look(self, stream: bool = False) -> dict:
        """One frame from ``/api/live`` (or the first event of ``/live/stream``), kept for the attacker."""
        if stream:
            text = self.client.get("/live/stream", params={"once": "1"}).text
            frame = json.loads(next(line[6:] for line in text.splitlines() if line.startswith("data: ")))
        else:
            frame = self.client.get("/api/live").json()
        self.frames.append((self.now, frame))
        return frame

    def truth(self, at: int) -> dict[tuple[str, str], float]:
        """What each hidden point contributed at ``at`` to a naive live sum: its newest reading if fresh, else 0."""
        if at not in self._truths:
            self._truths[at] = self._truth(at)
        return self._truths[at]

    def _truth(self, at: int) -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        for inp, (figure, key) in HIDDEN.items():
            seen = [(t, v) for posted, t, v in self.posted.get(inp, []) if posted < at]  # a frame seen at ``at`` is
            # looked at before the readings posted at that instant
            if seen:
                t, v = max(seen, key=lambda x: x[0])  # the newest reading wins, as in input_map
                if at - t <= publication.MAX_AGE_S:
                    out[(figure, key)] = out.get((figure, key), 0.0) + v
        return out


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[Feed]:
    store = open_store(f"sqlite:///{tmp_path / 'live.sqlite'}")
    store.save_inventory(village())
    bind_inputs(store, BINDINGS)
    clock = [T0]
    app = create_app(store)
    app.state.clock = lambda: clock[0]
    key = apikeys.create_key(store, "emonhub", ["ingest"])[1]
    try:
        with TestClient(app) as client:
            yield Feed(client, key, clock)
    finally:
        inputs = getattr(app.state, "inputs", None)
        if inputs is not None:
            inputs.close()
        store.close()


def hidden_part(frame: dict, figure: str) -> float | None:
    """A frame's total minus what it shows by name: the part the attacker wants to take apart."""
    total = frame[f"{figure}_w"]
    if total is None:
        return None
    rows = frame["producers" if figure == "production" else "buildings"]
    return total - sum(r["power_w"] for r in rows if r["fresh"])


def isolating_pairs(feed: Feed) -> list[str]:
    """Every pair of frames whose hidden parts differ although the points that changed in between fail the
    secrecy rule: fewer than 10 of them, or one whose change is above 85 % of all changes (it would be known
    within 15 %).

    The frames say when their hidden sums were computed (``hidden_as_of``); a frame that does not (the live
    view before issue 18) is taken as of when it was fetched."""
    found = []
    for figure in publication.FIGURES:
        seen: dict[tuple[int, float], int] = {}
        for fetched, frame in feed.frames:
            part = hidden_part(frame, figure)
            if part is not None:
                at = (frame.get("hidden_as_of") or {}).get(figure) or fetched
                seen.setdefault((at, round(part, 1)), fetched)
        for (a, pa), (b, pb) in combinations(sorted(seen), 2):
            if abs(pb - pa) <= 0.2:
                continue
            ta, tb = feed.truth(a), feed.truth(b)
            moved = [k for k in set(ta) | set(tb) if k[0] == figure and ta.get(k, 0.0) != tb.get(k, 0.0)]
            deltas = [abs(tb.get(k, 0.0) - ta.get(k, 0.0)) for k in moved]
            if len(moved) < 10 or max(deltas) > 0.85 * sum(deltas):
                found.append(f"{figure}: frames of {a - T0} s and {b - T0} s differ by {pb - pa:+.1f} W "
                             f"while {len(moved)} point(s) changed, the largest by {max(deltas):.1f} W: "
                             f"{sorted(moved)}")  # fmt: skip
    return found


PUBLIC = {("ecole", "power"): 8_000.0, ("moulin", "power"): 41_000.0, ("scierie", "power"): 20_000.0,
          ("mairie", "power"): 2_500.0}  # fmt: skip


def households(n: int, rng: np.random.Generator, start: int = 0) -> dict[tuple[str, str], float]:
    return {(f"h{i}", "power"): float(np.round(rng.uniform(150, 2_500), 2)) for i in range(start, start + n)}


# ------------------------------------------------------------------ the attacks of issue 18, as written


def test_one_more_household_does_not_move_the_total_by_its_power(feed: Feed) -> None:
    """Attack 1: eleven households report; a twelfth starts (hidden_points 11→12, +1234.5 W), then stops."""
    rng = np.random.default_rng(18)
    eleven = households(11, rng)
    for _ in range(14):  # seven minutes of steady readings, every 30 s
        feed.post({**PUBLIC, **eleven})
        feed.advance(30)
        before = feed.look()
    assert before["hidden_points"]["consumption"] == 11 and before["consumption_w"] is not None
    after = []
    for _ in range(14):  # the twelfth household reports for seven minutes
        feed.post({**PUBLIC, **eleven, ("h11", "power"): 1234.5})
        feed.advance(30)
        after += [feed.look(), feed.look(stream=True)]
    for _ in range(14):  # and stops (stale after five minutes)
        feed.post({**PUBLIC, **eleven})
        feed.advance(30)
        after += [feed.look(), feed.look(stream=True)]
    for frame in after:
        assert frame["hidden_points"]["consumption"] == 11
        assert frame["consumption_w"] is None or abs(frame["consumption_w"] - before["consumption_w"]) != 1234.5
        assert "1234.5" not in json.dumps(frame)
    assert isolating_pairs(feed) == []


def test_a_persons_plant_is_not_listed_and_organisations_plants_are(feed: Feed) -> None:
    """Attack 2: a PV plant on a *professional* delivery point held by a person, fed live, stays off the list;
    a company's and the commune's plants are listed by name."""
    feed.post({**PUBLIC, ("grange", "power"): 4321.5})  # the API answers "ok" once the readings are stored
    frame = feed.look()
    assert {p["id"]: p["power_w"] for p in frame["producers"]} == {
        "moulin": 41_000.0, "scierie-pv": 20_000.0, "mairie-pv": 2_500.0}  # fmt: skip
    assert [b["name"] for b in frame["buildings"]] == ["École du bourg"]
    assert frame["production_w"] is None and frame["masked"]["production"] == "fewer_than_10"
    assert "grange" not in json.dumps(frame) and "4321" not in json.dumps(frame)
    assert "grange" not in feed.look(stream=True)["producers"].__repr__()


def test_live_values_are_read_through_governance_and_logged_once_per_group(feed: Feed) -> None:
    """Also found: no SQL in the web route; the read of households' last values is in the access log, once per
    group formed — not once per frame or per request."""
    source = Path(publication.__file__).parents[1] / "web" / "live.py"
    imported = {a.name if isinstance(n, ast.Import) else n.module or ""
                for n in ast.walk(ast.parse(source.read_text())) if isinstance(n, ast.Import | ast.ImportFrom)
                for a in (n.names if isinstance(n, ast.Import) else [n])}  # fmt: skip
    assert not {m for m in imported if m.startswith(("sqlalchemy", "regie.store.schema"))}
    rng = np.random.default_rng(3)
    for _ in range(24):
        feed.post({**PUBLIC, **households(12, rng)})
        feed.advance(15)
        for _ in range(3):
            feed.look()
    store: Store = feed.client.app.state.store
    entries = [e.entry for e in audit.entries(store, kind="access") if e.entry.get("series", "").startswith("live:")]
    assert [(e["series"], e["points"], e["caller"]) for e in entries] == [("live:consumption", 12, "public-live")]


# ------------------------------------------------------------------ the differencing attacker


def test_no_pair_of_live_frames_isolates_a_point(feed: Feed) -> None:
    """Two simulated hours of a village: households start and stop reporting one by one and ten at a time,
    values move (sometimes only one household's), readings arrive late, a person's barn roof and fourteen
    house roofs produce until dusk, and a gateway outage takes every household off for a quarter of an hour,
    after which they come back with the same values and a newcomer. Every pair of the frames collected
    differs by nothing or by the changes of at least 10 points, none dominant."""
    rng = np.random.default_rng(2026)
    active = set(range(12))
    roofs_on = False
    values = {i: float(np.round(rng.uniform(150, 2_500), 2)) for i in range(HOUSES)}
    pv = {i: float(np.round(rng.uniform(0, 3_000), 2)) for i in range(ROOFS)}
    for tick in range(240):  # 2 h, every 30 s
        minute = tick // 2
        if tick % 2 == 0:
            if minute == 10:
                active.add(12)  # one more household, alone
            if minute == 20:
                roofs_on = True  # fourteen house roofs start producing
            if minute == 25:
                active.discard(3)  # one household stops
            if minute == 40:
                active |= set(range(13, 23))  # ten join at once
            if minute == 55:
                active -= set(range(13, 23))  # and leave at once
            if minute == 85:
                active.add(23)  # back from the outage, with a newcomer
        outage = 70 <= minute < 85
        still = 70 <= minute < 95  # the households' values do not move around the outage
        if tick % 10 == 5 and not still:  # only one household's value moves
            i = min(active)
            values[i] = float(np.round(values[i] + rng.uniform(-200, 200), 2))
        elif tick % 4 == 0 and not still:  # many move
            for i in active:
                values[i] = float(np.round(max(50.0, values[i] + rng.uniform(-300, 300)), 2))
                if minute < 100:
                    pv[i % ROOFS] = float(np.round(max(0.0, pv[i % ROOFS] + rng.uniform(-400, 400)), 2))
        if minute >= 100:  # dusk: one roof after the other stops producing
            for j in range(min(ROOFS, (tick - 200) // 2 + 1)):
                pv[j] = 0.0
        readings = {**PUBLIC, **({} if outage else {(f"h{i}", "power"): values[i] for i in sorted(active)})}
        if roofs_on:
            readings |= {(f"h{i}", "pv"): pv[i] for i in range(ROOFS)}
        if minute >= 30:
            readings[("grange", "power")] = 4321.5 + tick  # a person's barn roof
        late = {}
        if tick % 16 == 7:  # late readings: one still fresh, one stale on arrival
            readings |= {("h25", "power"): 999.25, ("h26", "power"): 888.75}
            late = {("h25", "power"): 200, ("h26", "power"): 900}
        feed.post(readings, late)
        feed.advance(30)
        feed.look(stream=tick % 8 == 0)
    published = {f: sum(hidden_part(fr, f) is not None for _, fr in feed.frames) for f in publication.FIGURES}
    assert published["consumption"] > 120 and published["production"] > 100  # the attacker had frames to try
    assert isolating_pairs(feed) == []


@pytest.mark.mqtt
def test_one_more_household_over_mqtt_does_not_move_the_total(tmp_path: Path, mqtt_broker) -> None:
    """Attack 1 again, the readings arriving through Mosquitto (the emoncms topics) instead of the HTTP API."""
    import time
    import uuid

    import paho.mqtt.client as mqtt

    from regie.ingest.inputs import InputService
    from regie.ingest.mqtt import MqttIngester
    from regie.store.inputs import last_values

    host, port = mqtt_broker
    store = open_store(f"sqlite:///{tmp_path / 'mqtt.sqlite'}")
    store.save_inventory(village())
    bind_inputs(store, BINDINGS)
    clock = [T0]
    app = create_app(store)
    app.state.clock = lambda: clock[0]
    base = f"regie-live-{uuid.uuid4().hex[:10]}"
    eleven = households(11, np.random.default_rng(18))
    frames: list[dict] = []
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{base}-pub", protocol=mqtt.MQTTv5)
    try:
        with InputService(store, clock=lambda: clock[0]) as inputs, MqttIngester(
            inputs, host=host, port=port, base=base, client_id=f"{base}-ingest"
        ) as ingester, TestClient(app) as client:  # fmt: skip
            assert ingester.subscribed.wait(30)
            pub.connect(host, port)
            pub.loop_start()

            def send(readings: dict[tuple[str, str], float]) -> None:
                for (node, name), v in readings.items():
                    pub.publish(f"{base}/{node}", json.dumps({name: v, "time": clock[0]}), qos=1).wait_for_publish(30)
                want = {BINDINGS[k] for k in readings}
                deadline = time.monotonic() + 60  # an upper bound for a stuck broker, not a performance figure
                while {r.series_id for r in last_values(store) if r.t == clock[0]} < want:
                    assert time.monotonic() < deadline, "the readings never reached the store"
                    time.sleep(0.02)
                clock[0] += 30
                frames.append(client.get("/api/live").json())

            for _ in range(12):
                send({**PUBLIC, **eleven})
            before = frames[-1]
            assert before["hidden_points"]["consumption"] == 11 and before["consumption_w"] is not None
            for _ in range(6):
                send({**PUBLIC, **eleven, ("h11", "power"): 1234.5})
            for frame in frames[12:]:
                assert frame["hidden_points"]["consumption"] == 11
                assert frame["consumption_w"] == before["consumption_w"]
    finally:
        pub.loop_stop()
        pub.disconnect()
        inputs_http = getattr(app.state, "inputs", None)
        if inputs_http is not None:
            inputs_http.close()
        store.close()
