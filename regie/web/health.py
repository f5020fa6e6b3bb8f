"""Health and metrics for whoever runs the régie: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``/healthz`` (liveness): the process answers. A supervisor restarts it when it does not.
- ``/readyz`` (readiness): the store answers, its schema is the newest this code knows, the one writer
  thread is alive, and the MQTT ingest is connected when it runs; 503 with the failing check otherwise,
  so a load balancer or ``systemd`` watchdog holds traffic back instead of losing it.
- ``/metrics``: Prometheus text exposition format (prometheus_client): points ingested by source, the
  quarantine's size, the gate's decisions by outcome (from the access log itself, so the count survives a
  restart), request latency per route, the age of the newest backup. Only for callers on this machine
  (loopback) or carrying ``Authorization: Bearer <REGIE_METRICS_TOKEN>``: the figures describe members'
  activity and must not be public (OWASP API Security Top 10, API8:2023 "Security Misconfiguration").
"""

from __future__ import annotations

import hmac
import logging
import time
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError

from regie.config import is_loopback
from regie.operations.footprint import CpuMeter, request_kind
from regie.store import probes

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@cache
def newest_revision() -> str:
    from regie.store.migrate import revisions

    return revisions()[-1]


# ---------------------------------------------------------------- probes


@router.get("/healthz")
def healthz() -> dict:
    """Liveness: the process serves requests."""
    return {"status": "alive"}


def readiness(app: FastAPI) -> dict[str, str | None]:
    """Each check's problem, None when it passes (a check that does not apply is left out)."""
    from regie.store.migrate import current_revision

    store = app.state.store
    checks: dict[str, str | None] = {}
    try:
        probes.ping(store)
        checks["store"] = None
        revision = current_revision(store.engine)
        newest = newest_revision()
        checks["schema"] = None if revision == newest else _schema_problem(revision, newest)
    except SQLAlchemyError as exc:
        checks["store"] = f"the store does not answer: {type(exc).__name__}"
    inputs = getattr(app.state, "inputs", None)
    if inputs is not None:
        writer = getattr(inputs, "_thread", None)  # the InputService's one writer thread
        checks["writer"] = (
            None if writer is not None and writer.is_alive() else "the ingest writer thread is not running"
        )
    mqtt = getattr(app.state, "mqtt", None)
    if mqtt is not None:
        up = mqtt.client.is_connected()
        checks["mqtt"] = None if up else f"not connected to the MQTT broker {mqtt.host}:{mqtt.port}"
    return checks


def _schema_problem(revision: str | None, newest: str) -> str:
    from regie.store.migrate import revisions

    if revision in revisions():
        return f"schema {revision}, this regie needs {newest}: run regie init"
    return f"schema {revision} is newer than this regie knows ({newest}): upgrade regie"


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when every check passes, else 503 naming what failed."""
    checks = readiness(request.app)
    ready = not any(checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": {k: v or "ok" for k, v in checks.items()}}
    return JSONResponse(body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- metrics


def allowed(request: Request) -> bool:
    """A loopback caller, or one with the configured bearer token (compared in constant time)."""
    host = request.client.host if request.client else ""
    if is_loopback(host):
        return True
    token = request.app.state.settings.metrics_token
    given = request.headers.get("authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@router.get("/metrics")
def metrics(request: Request) -> Response:
    if not allowed(request):
        return Response(
            "metrics are for this machine or a bearer token (REGIE_METRICS_TOKEN)\n",
            status_code=403,
            media_type="text/plain",
        )
    observe_inputs(request.app)
    encode, content_type = choose_encoder(request.headers.get("accept", ""))  # OpenMetrics when asked
    return Response(encode(request.app.state.metrics.registry), headers={"Content-Type": content_type})


class Metrics:
    """One registry per app (tests build many apps; the global registry would mix them)."""

    def __init__(self, app: FastAPI) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.points = Counter(
            "regie_points_ingested", "Readings committed by the ingest writer", ["source"], registry=self.registry
        )
        self.quarantined = Counter(
            "regie_points_quarantined", "Readings the writer sent to quarantine", ["source"], registry=self.registry
        )
        self.latency = Histogram(
            "regie_http_request_duration_seconds",
            "Time to answer a request, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(StoreCollector(app))
        self.meter = CpuMeter()  # CPU per page and per point ingested (regie footprint, /admin/footprint)
        self.registry.register(FootprintCollector(self.meter))
        # process_cpu_seconds_total, process_resident_memory_bytes...: what the régie costs the machine
        ProcessCollector(registry=self.registry)


class StoreCollector:
    """Figures read from the store at each scrape: they are right after a restart, and cost one query each."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self):
        return []

    def collect(self):
        store = self.app.state.store
        up = GaugeMetricFamily("regie_store_up", "1 when the store answers")
        try:
            quarantine = probes.quarantine_size(store)
            allowed_n, all_n = probes.gate_decisions(store)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield GaugeMetricFamily("regie_quarantine_readings", "Readings held in quarantine", value=quarantine)
            gate = CounterMetricFamily(
                "regie_gate_decisions",
                "Decisions of the gate on personal reads, from the access log",
                labels=["decision"],
            )
            gate.add_metric(["allowed"], allowed_n)
            gate.add_metric(["refused"], all_n - allowed_n)
            yield gate
        yield from _backup_metrics(self.app)


class FootprintCollector:
    """The CPU meter's figures: what pages and ingest cost this process (docs/footprint.md)."""

    def __init__(self, meter: CpuMeter) -> None:
        self.meter = meter

    def describe(self):
        return []

    def collect(self):
        f = self.meter.snapshot()
        cpu = CounterMetricFamily(
            "regie_request_cpu_seconds", "Process CPU time charged to requests in flight, by kind", labels=["kind"]
        )
        served = CounterMetricFamily(
            "regie_requests_measured", "Requests the CPU meter saw end, by kind", labels=["kind"]
        )
        for kind, seconds, n in (
            ("page", f.page_cpu_s, f.pages), ("ingest", f.ingest_cpu_s, f.ingest_requests),
        ):  # fmt: skip
            cpu.add_metric([kind], seconds)
            served.add_metric([kind], n)
        yield cpu
        yield served
        yield CounterMetricFamily(
            "regie_ingest_http_points", "Points the emoncms HTTP routes committed", value=f.ingest_points
        )
        yield CounterMetricFamily(
            "regie_writer_cpu_seconds", "CPU time of the ingest writer thread", value=f.writer_cpu_s
        )
        yield CounterMetricFamily("regie_writer_points", "Points handed to the ingest writer", value=f.writer_points)
        yield GaugeMetricFamily("regie_meter_seconds", "Wall time the CPU meter has measured over", value=f.seconds)


def _backup_metrics(app: FastAPI):
    from regie.operations.backup import list_backups

    folder = backup_folder(app)
    found = list_backups(folder) if folder is not None else []
    if found:
        newest = found[-1].taken.timestamp()
        yield GaugeMetricFamily(
            "regie_backup_last_timestamp_seconds", "When the newest complete backup was taken", value=newest
        )
        yield GaugeMetricFamily(
            "regie_backup_age_seconds", "Age of the newest complete backup", value=time.time() - newest
        )
    yield GaugeMetricFamily("regie_backups", "Complete backups in the backup folder", value=len(found))


def backup_folder(app: FastAPI) -> Path | None:
    settings = app.state.settings
    return settings.backup_dir or settings.data_dir / "backups"


def observe_inputs(app: FastAPI) -> None:
    """Count what the ingest writer commits, by the source each caller names, without the ingest code knowing
    about metrics: each submitted job's future reports its result once committed."""
    inputs = getattr(app.state, "inputs", None)
    if inputs is None or getattr(inputs, "_regie_metrics", None) is app.state.metrics:
        return
    submit = type(inputs).submit
    m = app.state.metrics

    def counted(samples, *, source: str, guard=None, **options):
        future = submit(inputs, samples, source=source, guard=guard, **options)  # the caller's own guard

        def done(f) -> None:
            if not f.cancelled() and f.exception() is None:
                result = f.result()
                m.points.labels(source).inc(result.points)
                m.quarantined.labels(source).inc(result.quarantined)
                if source == "emoncms-http":
                    m.meter.ingested(result.points)

        future.add_done_callback(done)
        return future

    inputs.submit = counted
    m.meter.watch_writer(inputs)
    inputs._regie_metrics = m


class LatencyMiddleware:
    """Times every HTTP request (pure ASGI: streamed answers are timed to their last byte)."""

    def __init__(self, app, web: FastAPI) -> None:
        self.app = app
        self.web = web

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        observe_inputs(self.web)
        start = time.perf_counter()
        meter = self.web.state.metrics.meter
        token = meter.begin(request_kind(scope["method"], scope["path"]))
        try:
            await self.app(scope, receive, send)
        finally:
            meter.end(token)
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.web.state.metrics.latency.labels(scope["method"], template).observe(time.perf_counter() - start)


def install(app: FastAPI) -> None:
    """Add the probes, the metrics and the latency middleware to the app."""
    app.state.metrics = Metrics(app)
    app.include_router(router)
    app.add_middleware(LatencyMiddleware, web=app)
