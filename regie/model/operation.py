"""Collective self-consumption operations (autoconsommation collective, ACC) and their participants.

An operation links one or more producers and consumers inside a legal person, the PMO (*personne morale
organisatrice*), Code de l'énergie art. L315-2. Outside a single building it is *étendue* and must meet the
geographic-proximity and power criteria of the arrêté du 21 novembre 2019 (NOR TRER1924212A), as amended:

- distance between the two participants farthest apart ≤ 2 km (art. 1), measured from the delivery point
  of a consumer and the injection point of a producer;
- on derogation by the minister (art. 1 bis, arrêté du 14 octobre 2020 then arrêté du 19 septembre 2023):
  ≤ 10 km when every participant is in a rural or periurban commune, ≤ 20 km when all are in rural
  communes (INSEE *grille communale de densité*: rural = "bourgs ruraux", "rural à habitat dispersé / très
  dispersé"; periurban = "petites villes", "ceintures urbaines");
- total peak power of the producers < 3 MW in mainland France (arrêté du 21 novembre 2019), raised to
  < 5 MW by the arrêté du 21 février 2025 (JO of 5 March 2025); < 0.5 MW in non-interconnected zones (ZNI).
  The same arrêté adds a derogation for public-service projects within one EPCI (up to 10 MW, no distance
  in km): not modelled here.

Plain data and pure checks: no I/O. Dates are local calendar days (Europe/Paris for Enedis operations);
a participant counts from its entry day included to its exit day excluded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

from regie.model.metering import mask_prm, validate_prm
from regie.model.territory import _check_id
from regie.model.units import Step

#: Mean Earth radius [m] (IUGG), used by the haversine distance.
EARTH_RADIUS_M = 6_371_008.8

#: Distance limits [m] between the two participants farthest apart (arrêté du 21 novembre 2019, art. 1
#: and 1 bis as amended on 19 September 2023).
MAX_DISTANCE_M = 2_000.0
MAX_DISTANCE_PERIURBAN_M = 10_000.0
MAX_DISTANCE_RURAL_M = 20_000.0

#: Day the 5 MW mainland limit applies from: the arrêté du 21 février 2025 was published in the JO of
#: 5 March 2025 and, having no date of its own, is in force the next day.
FIVE_MW_FROM = date(2025, 3, 6)


class Role(StrEnum):
    CONSUMER = "consumer"
    PRODUCER = "producer"


class ParticipantType(StrEnum):
    HOUSEHOLD = "household"
    COMMUNE = "commune"
    BUSINESS = "business"
    PUBLIC_BODY = "public_body"
    ASSOCIATION = "association"
    OTHER = "other"


class Density(StrEnum):
    """The commune's class in the INSEE density grid, reduced to what the derogation needs."""

    URBAN = "urban"
    PERIURBAN = "periurban"
    RURAL = "rural"


class GridZone(StrEnum):
    MAINLAND = "mainland"  # territoire métropolitain continental
    ZNI = "zni"  # zones non interconnectées (Corsica, overseas departments, islands)


@dataclass(frozen=True, slots=True)
class Participant:
    """A delivery point in an operation: a consumer (soutirage) or a producer (injection).

    ``exit`` is the first day it no longer counts (exclusive), None while it stays. ``priority`` is the
    level for the priority key (1 is served first); ``weight`` its share inside that level. Latitude and
    longitude [degrees, WGS 84] locate the delivery or injection point for the distance criterion.
    """

    prm: str
    role: Role
    entry: date
    exit: date | None = None
    type: ParticipantType = ParticipantType.HOUSEHOLD
    priority: int = 1
    weight: float = 1.0
    peak_power_w: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    density: Density | None = None
    name: str = ""

    def __post_init__(self) -> None:
        validate_prm(self.prm)
        who = f"participant {mask_prm(self.prm)} ({self.role})"
        if self.exit is not None and self.exit <= self.entry:
            raise ValueError(f"{who}: exit ({self.exit}) must be after entry ({self.entry})")
        if self.priority < 1:
            raise ValueError(f"{who}: priority levels start at 1 (served first), got {self.priority}")
        if not (self.weight > 0 and math.isfinite(self.weight)):
            raise ValueError(f"{who}: weight must be a positive number, got {self.weight}")
        if self.role == Role.PRODUCER and not (self.peak_power_w is not None and self.peak_power_w > 0):
            raise ValueError(f"{who}: a producer needs its peak power [W] (peak_power_w > 0)")
        if self.role == Role.CONSUMER and self.peak_power_w is not None:
            raise ValueError(f"{who}: only producers have a peak power")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError(f"{who}: give both latitude and longitude, or neither")
        if self.latitude is not None and not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):
            raise ValueError(f"{who}: ({self.latitude}, {self.longitude}) is not a WGS 84 position")

    def active_on(self, day: date) -> bool:
        """Whether the participant counts on this local day (entry included, exit excluded)."""
        return self.entry <= day and (self.exit is None or day < self.exit)


@dataclass(frozen=True, slots=True)
class Operation:
    """An ACC operation: its PMO, its metering step and its participants (producers and consumers).

    ``step`` is the metering step allocation is computed on: the Code de l'énergie (regulatory part, ch. V
    of book III) uses the step of imbalance settlement (art. L321-15), ``PT30M`` historically, ``PT15M``
    since settlement moved to 15 minutes.
    ``derogation`` says the PMO obtained the ministerial distance derogation (arrêté, art. 1 bis).
    """

    id: str
    name: str
    pmo_id: str
    participants: tuple[Participant, ...]
    step: Step = field(default_factory=lambda: Step(seconds=1800))
    zone: GridZone = GridZone.MAINLAND
    derogation: bool = False

    def __post_init__(self) -> None:
        _check_id("operation", self.id)
        _check_id("PMO organisation", self.pmo_id)
        if self.step.is_calendar or 86400 % self.step.seconds:
            raise ValueError(f"operation {self.id}: metering step {self.step} must divide a day (PT15M, PT30M)")
        seen: set[tuple[str, Role]] = set()
        for p in self.participants:
            if (p.prm, p.role) in seen:
                raise ValueError(f"operation {self.id}: {mask_prm(p.prm)} appears twice as {p.role}")
            seen.add((p.prm, p.role))

    @property
    def producers(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.role == Role.PRODUCER)

    @property
    def consumers(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.role == Role.CONSUMER)

    @property
    def peak_power_w(self) -> float:
        """Total peak power of the producers [W] (peak power for PV, per the arrêté)."""
        return float(sum(p.peak_power_w or 0.0 for p in self.producers))

    def active_on(self, day: date, role: Role | None = None) -> tuple[Participant, ...]:
        """Participants (of one role, or all) that count on this local day."""
        return tuple(p for p in self.participants if p.active_on(day) and (role is None or p.role == role))

    def consumer_levels(self) -> np.ndarray:
        """Priority level of each consumer, in the order of :attr:`consumers` (for the priority key)."""
        return np.array([p.priority for p in self.consumers], dtype=np.int64)

    def consumer_weights(self) -> np.ndarray:
        """Weight of each consumer inside its priority level, in the order of :attr:`consumers`."""
        return np.array([p.weight for p in self.consumers], dtype=np.float64)


def haversine_m(lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray | float,
                lon2: np.ndarray | float) -> np.ndarray:
    """Great-circle distance [m] between WGS 84 points given in degrees (haversine formula, spherical Earth).

    The spherical model is within 0.5 % of the geodesic distance, far below the margin that matters for a
    2 km criterion; Enedis checks on its own data anyway.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def largest_distance(participants: Sequence[Participant]) -> tuple[float, Participant | None, Participant | None]:
    """The largest distance [m] between two located participants, and which two (None if fewer than two)."""
    located = [p for p in participants if p.latitude is not None]
    if len(located) < 2:
        return 0.0, None, None
    lat = np.array([p.latitude for p in located])
    lon = np.array([p.longitude for p in located])
    d = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    return float(d[i, j]), located[i], located[j]


def distance_limit_m(operation: Operation) -> float:
    """The distance limit [m] that applies: 2 km, or 10 / 20 km with the derogation (arrêté, art. 1 bis)."""
    if operation.zone != GridZone.MAINLAND or not operation.derogation:
        return MAX_DISTANCE_M
    densities = {p.density for p in operation.participants}
    if densities == {Density.RURAL}:
        return MAX_DISTANCE_RURAL_M
    if densities <= {Density.RURAL, Density.PERIURBAN}:
        return MAX_DISTANCE_PERIURBAN_M
    return MAX_DISTANCE_M


def power_limit_w(zone: GridZone, on: date | None = None) -> float:
    """Upper bound [W] (strict) of the producers' total peak power on a day (today's rules if None)."""
    if zone == GridZone.ZNI:
        return 0.5e6
    return 3e6 if on is not None and on < FIVE_MW_FROM else 5e6


def perimeter_problems(operation: Operation, on: date | None = None) -> list[str]:
    """Every way the operation breaks the extended-ACC criteria on a day (all participants if None).

    Returns readable sentences, empty when the perimeter holds. Participants without a position are
    reported, since the distance criterion cannot be checked for them.
    """
    people = operation.participants if on is None else operation.active_on(on)
    problems: list[str] = []
    if not any(p.role == Role.PRODUCER for p in people):
        problems.append("no producer: an operation needs at least one producer (art. L315-2)")
    if not any(p.role == Role.CONSUMER for p in people):
        problems.append("no consumer: an operation needs at least one final consumer (art. L315-2)")
    unlocated = [mask_prm(p.prm) for p in people if p.latitude is None]
    if unlocated:
        problems.append(f"no position for {', '.join(unlocated)}: the distance criterion cannot be checked")
    limit = distance_limit_m(operation)
    dist, a, b = largest_distance(people)
    if dist > limit:
        why = "" if limit > MAX_DISTANCE_M else (
            " (with the derogation: 10 km if every commune is rural or periurban, 20 km if all are rural)"
            if operation.derogation else " (a ministerial derogation may allow 10 or 20 km in rural areas)")
        problems.append(
            f"participants {mask_prm(a.prm)} and {mask_prm(b.prm)} are {dist / 1000:.2f} km apart, "
            f"more than the {limit / 1000:g} km allowed{why} (arrêté du 21 novembre 2019, art. 1)"
        )
    power = float(sum(p.peak_power_w or 0.0 for p in people if p.role == Role.PRODUCER))
    cap = power_limit_w(operation.zone, on)
    if power >= cap:
        where = "in a non-interconnected zone" if operation.zone == GridZone.ZNI else "in mainland France"
        problems.append(
            f"total peak power {power / 1e6:.3f} MW must stay below {cap / 1e6:g} MW {where} "
            "(arrêté du 21 novembre 2019, art. 2, as amended on 21 February 2025)"
        )
    return problems


def check_perimeter(operation: Operation, on: date | None = None) -> None:
    """Raise a ValueError listing every perimeter problem (see :func:`perimeter_problems`)."""
    problems = perimeter_problems(operation, on)
    if problems:
        raise ValueError(f"operation {operation.id}: " + "; ".join(problems))


def _local_midnight_utc(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), zone).timestamp())


def activity_mask(participants: Iterable[Participant], step_starts: np.ndarray, zone: ZoneInfo | str) -> np.ndarray:
    """Boolean mask (n_steps, n_participants): True where a participant counts at a step.

    ``step_starts`` are UTC unix seconds of each step's start. A participant counts from local midnight of
    its entry day to local midnight of its exit day, so only the days they are in count, DST days included.
    """
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    people = list(participants)
    t = np.asarray(step_starts, dtype=np.int64)
    lo = np.array([_local_midnight_utc(p.entry, tz) for p in people], dtype=np.int64)
    hi = np.array([_local_midnight_utc(p.exit, tz) if p.exit else np.iinfo(np.int64).max for p in people],
                  dtype=np.int64)
    return (t[:, None] >= lo[None, :]) & (t[:, None] < hi[None, :])
