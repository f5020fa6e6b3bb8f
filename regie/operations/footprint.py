"""What the régie's data costs in storage, CPU, energy and carbon — measured, then estimated (docs/footprint.md).

Three parts, kept apart so the arithmetic can be checked by hand:

1. **Measurement of the store** (:func:`measure_store`): the bytes it takes on disk (an embedded store's file
   with its ``-wal``/``-shm`` companions, :func:`regie.store.engine.sqlite_files_bytes`; PostgreSQL's
   ``pg_total_relation_size`` of regie's tables, indexes and TOAST included), the raw points it holds
   (:func:`regie.store.probes.stored_points`), and the ingest rate: points per day over the last
   ``window_days`` of data time (or since the first point, for a store begun inside the window) up to the
   newest point, read from the chunk table (a chunk straddling the window's start counts in proportion of its
   span inside it). A store whose newest data is older than the window (an archive, the
   demo year) falls back to its whole history, and says so.
2. **Measurement of the process** (:class:`CpuMeter`): CPU time (``time.process_time``) charged to the
   requests in flight — each interval between two request events is split evenly among the requests open
   during it, so concurrent requests are not counted twice — by kind (pages, emoncms ingest, other), plus the
   ingest writer thread's own CPU (``time.thread_time`` around each transaction) and the points it wrote.
   The web app installs one per process (:mod:`regie.web.health`) and publishes it in ``/metrics``; the
   ``regie footprint`` command reads it from there.
3. **Arithmetic** (:func:`estimate`): pure functions of those figures and of stated factors
   (:class:`Factors`, from the settings; each default's source is cited below and in docs/footprint.md).

emoncms's storage, side by side: PHPFina, the engine emonPi/emonBase feeds use, keeps one float32 (4 bytes)
per interval from the feed's start, gaps included as NaN, plus a 16-byte ``.meta`` per feed
(``Modules/feed/engine/PHPFina.php`` in emoncms; the reader in :mod:`regie.ingest.emoncms_archive`). The same
points stored by emoncms therefore take 4 bytes × the intervals they span (:func:`phpfina_bytes`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select, text

from regie.model.units import Step
from regie.store import probes
from regie.store.engine import sqlite_file, sqlite_files_bytes
from regie.store.partitions import partition_names
from regie.store.schema import chunk, metadata, series
from regie.store.store import Store

DAY_S = 86400
YEAR_DAYS = 365.25
GB = 1e9  # storage is sold and measured in decimal gigabytes
J_PER_KWH = 3.6e6

#: PHPFina: one little-endian float32 per interval (``pack("f", $value)``), a 16-byte ``.meta`` per feed
#: (four uint32: unused, unused, interval, start_time) — emoncms ``Modules/feed/engine/PHPFina.php``.
PHPFINA_BYTES_PER_POINT = 4
PHPFINA_META_BYTES = 16

# ---------------------------------------------------------------- the factors (defaults and their sources)

#: Marginal power of one busy CPU core of a Raspberry Pi 4 Model B [W]: 2.7 W idle, 6.4 W with all four cores
#: busy (``stress --cpu 4``), measured at the supply by A. Eames, "How much power does Pi4B use? Power
#: measurements", RasPi.TV, 2019 (https://raspi.tv/2019/how-much-power-does-the-pi4b-use-power-measurements):
#: (6.4 − 2.7) / 4 = 0.925 W per busy core, i.e. 0.925 J per CPU-second.
DEFAULT_CPU_WATTS = 0.925
#: The same Raspberry Pi 4's idle draw [W] (same source): the floor of a machine dedicated to the régie, whether
#: it stores data or not — shown apart, since emoncms on an emonPi pays it too.
DEFAULT_IDLE_WATTS = 2.7
#: Energy to keep one gigabyte on a spinning disk for a year [kWh/GB/yr]: a 6 TB drive draws 7.2 W idle and
#: 8.8 W operating (Backblaze drive power figures, 2016, as analysed in "How much energy does it take to store
#: 1 terabyte of data in the cloud?", Sustainability Stack Exchange, q. 6995,
#: https://sustainability.stackexchange.com/q/6995); 8.8 W × 8 766 h / 6 000 GB ≈ 0.0129 kWh/GB/yr. The drive
#: alone: multiply by a data centre's PUE and its replicas for hosted storage (docs/footprint.md).
DEFAULT_STORAGE_KWH_PER_GB_YEAR = 0.0129
#: Carbon intensity of electricity in France [gCO2e/kWh]: 32 gCO2eq per kWh produced in 2023, RTE, Bilan
#: électrique 2023, "Émissions de gaz à effet de serre" (https://analysesetdonnees.rte-france.com/en/node/366).
#: Direct emissions of production; ADEME's Base Empreinte life-cycle "mix moyen" factor is higher — set
#: ``footprint_gco2e_per_kwh`` to the factor your own carbon accounting uses.
DEFAULT_GCO2E_PER_KWH = 32.0
DEFAULT_GCO2E_YEAR = 2023
DEFAULT_WINDOW_DAYS = 30


# ----------------------------------------------------------------------------------------- the process's heap
#: glibc's mallopt parameters (malloc.h): arrays above 128 KiB always get their own mapping, given back to the
#: system when freed, and at most two heaps (arenas) are shared by the threads.
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
MMAP_THRESHOLD_BYTES = 128 * 1024
ARENA_MAX = 2


def bound_heap() -> bool:
    """Keep freed memory from staying resident in a long-lived server (``regie serve``); True where applied.

    glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so after the territory
    page's publication (10 MB slices of a year × points matrix) the next megabyte-sized arrays come from the
    heap, which is only given back from its top: the demo's server kept ~70 MB it no longer used
    (bench/footprint.py, docs/footprint.md). A fixed threshold turns that dynamic raise off; each thread of the
    request pool may otherwise get an arena of its own (up to 8 per core), each keeping its free memory. Other
    C libraries (musl, macOS) are left as they are."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None) if libc is not None else None
        gnu = getattr(libc, "gnu_get_libc_version", None) if libc is not None else None
    except OSError:
        return False
    if mallopt is None or gnu is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_ARENA_MAX, ARENA_MAX))


@dataclass(frozen=True, slots=True)
class Factors:
    """The stated conversion factors (settings ``footprint_*``)."""

    cpu_watts: float = DEFAULT_CPU_WATTS
    idle_watts: float = DEFAULT_IDLE_WATTS
    storage_kwh_per_gb_year: float = DEFAULT_STORAGE_KWH_PER_GB_YEAR
    gco2e_per_kwh: float = DEFAULT_GCO2E_PER_KWH

    @classmethod
    def from_settings(cls, settings: Any) -> Factors:
        return cls(
            cpu_watts=settings.footprint_cpu_watts,
            idle_watts=settings.footprint_idle_watts,
            storage_kwh_per_gb_year=settings.footprint_storage_kwh_per_gb_year,
            gco2e_per_kwh=settings.footprint_gco2e_per_kwh,
        )


# ---------------------------------------------------------------- 1. measuring the store


@dataclass(frozen=True, slots=True)
class StoreFigures:
    backend: str
    bytes: int  # on disk (SQLite) or in PostgreSQL's relations
    points: int  # raw points, every series
    series: int  # series holding points
    points_per_day: float  # the ingest rate, in data time
    basis_days: float  # the span the rate is measured over
    basis: str  # "window" (the last window_days) or "history" (the whole store: nothing recent)
    phpfina_points: int  # intervals PHPFina would keep for the same series (gaps included)


def store_bytes(store: Store) -> int:
    """What the store takes: the SQLite file and its companions, or PostgreSQL's relations of regie's tables."""
    url = store.engine.url.render_as_string(hide_password=False)
    path = sqlite_file(url)
    if path is not None:
        return sqlite_files_bytes(path) if path.exists() else 0
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            names = sorted(set(metadata.tables) | partition_names(conn))  # a partitioned table's rows are theirs
            sizes = conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(to_regclass(n))), 0)"
                    " FROM unnest(CAST(:names AS text[])) AS n"
                ),
                {"names": names},
            ).scalar_one()
        return int(sizes)
    return 0  # an in-memory SQLite database has no size on disk


def measure_store(store: Store, *, now: float | None = None, window_days: int = DEFAULT_WINDOW_DAYS) -> StoreFigures:
    """The store's size, its points and its ingest rate (see the module's docstring)."""
    now = time.time() if now is None else now
    since = int(now - window_days * DAY_S)
    raw = chunk.c.level == 0
    per_series = (
        select(
            chunk.c.series_id,
            func.sum(chunk.c.n).label("n"),
            func.min(chunk.c.t_min).label("t0"),
            func.max(chunk.c.t_max).label("t1"),
            series.c.step,
        )
        .join(series, series.c.id == chunk.c.series_id)
        .where(raw)
        .group_by(chunk.c.series_id, series.c.step)
    )
    recent = select(chunk.c.n, chunk.c.t_min, chunk.c.t_max).where(raw, chunk.c.t_max >= since)
    with store.engine.connect() as conn:
        rows = conn.execute(per_series).all()
        recent_rows = conn.execute(recent).all()
    points = probes.stored_points(store)
    in_window = sum(_share_after(n, t0, t1, since) for n, t0, t1 in recent_rows)
    newest = max((r.t1 for r in rows), default=None)
    if in_window > 0:
        # From the window's start, or from the first point when the store began inside the window, to the newest.
        first = max(since, min(t0 for _, t0, _ in recent_rows))
        basis_days = max((min(now, newest) - first) / DAY_S, 1 / 24)
        per_day, basis = in_window / basis_days, "window"
    elif rows:
        oldest = min(r.t0 for r in rows)
        basis_days = max((newest - oldest) / DAY_S, 1 / 24)
        per_day, basis = points / basis_days, "history"
    else:
        per_day, basis_days, basis = 0.0, 0.0, "history"
    return StoreFigures(
        backend=store.engine.dialect.name,
        bytes=store_bytes(store),
        points=points,
        series=len(rows),
        points_per_day=per_day,
        basis_days=basis_days,
        basis=basis,
        phpfina_points=sum(phpfina_slots(r.n, r.t0, r.t1, r.step) for r in rows),
    )


def _share_after(n: int, t_min: int, t_max: int, since: int) -> float:
    """The points of a chunk at or after ``since``, assuming them evenly spread over its span."""
    if t_min >= since:
        return float(n)
    if t_max <= t_min:
        return float(n) if t_max >= since else 0.0
    return n * (t_max - since) / (t_max - t_min)


def phpfina_slots(n: int, t_min: int, t_max: int, step: str | None) -> int:
    """Intervals PHPFina keeps for a series of ``n`` points from ``t_min`` to ``t_max``: one per interval of the
    series' fixed step (gaps included), never fewer than its points; ``n`` when the step is not fixed."""
    try:
        parsed = Step.parse(step) if step else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.is_calendar:
        return n
    return max(n, (t_max - t_min) // parsed.seconds + 1)


# ---------------------------------------------------------------- 2. measuring the process


PAGE, INGEST, OTHER = "page", "ingest", "other"


def request_kind(method: str, path: str) -> str:
    """Which kind of work a request is: emoncms ingest (``/input/post``, ``/input/bulk``), an HTML page (a GET
    outside the API, the emoncms routes, static files and the probes), or other."""
    if path.startswith(("/input/post", "/input/bulk")):
        return INGEST
    if method == "GET" and not path.startswith(
        ("/api/", "/static/", "/assets/", "/feed/", "/input/", "/metrics", "/healthz", "/readyz", "/live/stream")
    ):
        return PAGE
    return OTHER


@dataclass(slots=True)
class CpuMeter:
    """CPU time of this process charged to the requests in flight and to the ingest writer. Cheap: two clock
    reads and a lock per request, one thread-clock read per writer transaction."""

    clock: Callable[[], float] = time.process_time
    started: float = field(default_factory=time.time)
    cpu_s: dict[str, float] = field(default_factory=lambda: {PAGE: 0.0, INGEST: 0.0, OTHER: 0.0})
    requests: dict[str, int] = field(default_factory=lambda: {PAGE: 0, INGEST: 0, OTHER: 0})
    ingest_points: int = 0  # points the emoncms HTTP routes had committed
    writer_cpu_s: float = 0.0
    writer_points: int = 0  # points handed to the writer, every source (HTTP, MQTT)
    _open: dict[int, str] = field(default_factory=dict)
    _next: int = 0
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._last = self.clock()

    def _charge(self) -> None:  # with the lock held
        now = self.clock()
        delta, self._last = now - self._last, now
        if self._open and delta > 0:
            share = delta / len(self._open)
            for kind in self._open.values():
                self.cpu_s[kind] += share

    def begin(self, kind: str) -> int:
        with self._lock:
            self._charge()
            token = self._next
            self._next += 1
            self._open[token] = kind
            return token

    def end(self, token: int) -> None:
        with self._lock:
            self._charge()
            kind = self._open.pop(token, None)
            if kind is not None:
                self.requests[kind] += 1

    def ingested(self, points: int) -> None:
        with self._lock:
            self.ingest_points += points

    def wrote(self, cpu_s: float, points: int) -> None:
        with self._lock:
            self.writer_cpu_s += cpu_s
            self.writer_points += points

    def watch_writer(self, inputs: Any) -> None:
        """Time each transaction of an :class:`regie.ingest.inputs.InputService`'s writer thread with that
        thread's own CPU clock (its one entry point for a batch of jobs, ``_write_jobs``)."""
        write = inputs._write_jobs

        def timed(jobs: list) -> None:
            t0 = time.thread_time()
            try:
                write(jobs)
            finally:
                self.wrote(time.thread_time() - t0, sum(job.points for job in jobs))

        inputs._write_jobs = timed

    def snapshot(self) -> CpuFigures:
        with self._lock:
            self._charge()
            return CpuFigures(
                seconds=time.time() - self.started,
                process_cpu_s=self.clock(),
                page_cpu_s=self.cpu_s[PAGE],
                pages=self.requests[PAGE],
                ingest_cpu_s=self.cpu_s[INGEST],
                ingest_requests=self.requests[INGEST],
                ingest_points=self.ingest_points,
                writer_cpu_s=self.writer_cpu_s,
                writer_points=self.writer_points,
            )


@dataclass(frozen=True, slots=True)
class CpuFigures:
    """What a :class:`CpuMeter` measured since the process started."""

    seconds: float  # wall time measured over
    process_cpu_s: float
    page_cpu_s: float
    pages: int
    ingest_cpu_s: float
    ingest_requests: int
    ingest_points: int
    writer_cpu_s: float
    writer_points: int

    @property
    def cpu_s_per_page(self) -> float | None:
        return self.page_cpu_s / self.pages if self.pages else None

    @property
    def cpu_s_per_mpoint_http(self) -> float | None:
        """End to end for the emoncms HTTP routes: parsing, the guard, the writer's transaction."""
        return self.ingest_cpu_s / self.ingest_points * 1e6 if self.ingest_points else None

    @property
    def cpu_s_per_mpoint_writer(self) -> float | None:
        """The store's write path alone (every source, MQTT included)."""
        return self.writer_cpu_s / self.writer_points * 1e6 if self.writer_points else None

    @property
    def cpu_s_per_mpoint(self) -> float | None:
        """The end-to-end figure when HTTP ingest was seen, else the writer's."""
        return self.cpu_s_per_mpoint_http if self.cpu_s_per_mpoint_http is not None else self.cpu_s_per_mpoint_writer

    @property
    def pages_per_day(self) -> float | None:
        return self.pages / self.seconds * DAY_S if self.seconds > 0 else None


# ---------------------------------------------------------------- 3. the arithmetic


@dataclass(frozen=True, slots=True)
class Column:
    """One storage engine's figures for a year at the current rate (None: not measured)."""

    name: str
    bytes_now: int
    bytes_per_point: float | None
    bytes_per_year: float
    cpu_s_per_year: float | None
    storage_kwh_per_year: float
    cpu_kwh_per_year: float | None
    kwh_per_year: float
    gco2e_per_year: float


@dataclass(frozen=True, slots=True)
class Footprint:
    store: StoreFigures
    cpu: CpuFigures | None
    factors: Factors
    regie: Column
    emoncms: Column
    idle_kwh_per_year: float  # a dedicated machine's floor, for context (both columns pay it)
    idle_gco2e_per_year: float

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.cpu is not None:
            out["cpu"].update(
                cpu_s_per_page=self.cpu.cpu_s_per_page,
                cpu_s_per_mpoint_http=self.cpu.cpu_s_per_mpoint_http,
                cpu_s_per_mpoint_writer=self.cpu.cpu_s_per_mpoint_writer,
                pages_per_day=self.cpu.pages_per_day,
            )
        return out


def storage_kwh(bytes_now: float, bytes_per_year: float, factors: Factors) -> float:
    """Energy to keep the store over the coming year: its mean size over the year (today's plus half the
    year's growth) × the storage factor."""
    return (bytes_now + bytes_per_year / 2) / GB * factors.storage_kwh_per_gb_year


def cpu_s_per_year(points_per_day: float, cpu: CpuFigures | None) -> float | None:
    """CPU-seconds a year: ingest at the current rate × CPU per point, plus pages at the measured rate × CPU per
    page. None when nothing was measured."""
    if cpu is None:
        return None
    per_mpoint, per_page, pages_per_day = cpu.cpu_s_per_mpoint, cpu.cpu_s_per_page, cpu.pages_per_day
    if per_mpoint is None and per_page is None:
        return None
    ingest = points_per_day * YEAR_DAYS * (per_mpoint or 0.0) / 1e6
    pages = (pages_per_day or 0.0) * YEAR_DAYS * (per_page or 0.0)
    return ingest + pages


def cpu_kwh(cpu_s: float | None, factors: Factors) -> float | None:
    return None if cpu_s is None else cpu_s * factors.cpu_watts / J_PER_KWH


def phpfina_bytes(slots: int, series_count: int) -> int:
    return slots * PHPFINA_BYTES_PER_POINT + series_count * PHPFINA_META_BYTES


def estimate(store: StoreFigures, cpu: CpuFigures | None, factors: Factors) -> Footprint:
    """The year ahead at the current rate, for regie's store and for emoncms's PHPFina holding the same data."""
    per_point = store.bytes / store.points if store.points else None
    regie_year = (per_point or 0.0) * store.points_per_day * YEAR_DAYS
    regie_cpu = cpu_s_per_year(store.points_per_day, cpu)
    regie = _column("regie", store.bytes, per_point, regie_year, regie_cpu, factors)
    # PHPFina keeps an interval per step whether a value came or not: the same ratio of slots to points ahead.
    slots_per_point = store.phpfina_points / store.points if store.points else 1.0
    emon_now = phpfina_bytes(store.phpfina_points, store.series)
    emon_year = PHPFINA_BYTES_PER_POINT * slots_per_point * store.points_per_day * YEAR_DAYS
    emoncms = _column("emoncms PHPFina", emon_now, emon_now / store.points if store.points else None, emon_year,
                      None, factors)  # fmt: skip
    idle = factors.idle_watts * YEAR_DAYS * 24 / 1000
    return Footprint(store, cpu, factors, regie, emoncms, idle, idle * factors.gco2e_per_kwh)


def _column(name: str, now: int, per_point: float | None, per_year: float, cpu_s: float | None,
            factors: Factors) -> Column:  # fmt: skip
    storage = storage_kwh(now, per_year, factors)
    cpu = cpu_kwh(cpu_s, factors)
    total = storage + (cpu or 0.0)
    return Column(name, now, per_point, per_year, cpu_s, storage, cpu, total, total * factors.gco2e_per_kwh)


def footprint(store: Store, factors: Factors, cpu: CpuFigures | None, *, now: float | None = None,
              window_days: int = DEFAULT_WINDOW_DAYS) -> Footprint:  # fmt: skip
    """Measure the store, then estimate (the CPU figures come from a running server's meter, or None)."""
    return estimate(measure_store(store, now=now, window_days=window_days), cpu, factors)


def cpu_from_metrics(exposition: str) -> CpuFigures | None:
    """The CPU meter's figures from a running server's ``/metrics`` text (:mod:`regie.web.health`), None when
    the text has no meter in it (a regie too old, another program on that port)."""
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            values[(sample.name, sample.labels.get("kind", ""))] = sample.value
    if ("regie_meter_seconds", "") not in values:
        return None

    def get(name: str, kind: str = "") -> float:
        return values.get((name, kind), 0.0)

    return CpuFigures(
        seconds=get("regie_meter_seconds"),
        process_cpu_s=get("process_cpu_seconds_total"),
        page_cpu_s=get("regie_request_cpu_seconds_total", PAGE),
        pages=int(get("regie_requests_measured_total", PAGE)),
        ingest_cpu_s=get("regie_request_cpu_seconds_total", INGEST),
        ingest_requests=int(get("regie_requests_measured_total", INGEST)),
        ingest_points=int(get("regie_ingest_http_points_total")),
        writer_cpu_s=get("regie_writer_cpu_seconds_total"),
        writer_points=int(get("regie_writer_points_total")),
    )
