"""Benchmark a small machine: the resident memory of `regie serve` with the demo loaded, idle and under ingest,
and the CPU-seconds per million points ingested (issue 11, part 6; goal RSS ≤ 250 MB, where emoncms runs on
a Raspberry Pi-class machine).

1. Build the Prats demo store (`regie demo --build-only`, a year at 30 min) in a temporary data folder, and an
   API key with `regie key add` (both as real commands).
2. Where the memory goes (in a process of its own, before serving): RSS after the imports, then tracemalloc
   over each page of the demo, with the regie lines that keep the most.
3. Start `regie serve` as a real subprocess on loopback. Its RSS is read from ``/proc/<pid>/status`` (``VmRSS``
   every 0.2 s; ``VmHWM`` for the peak) — the kernel's own count, the figure `ps` and systemd's
   ``MemoryCurrent`` start from.
4. The first territory page (the publication computed: the peak of a start), then the live page,
   /api/balance, the linked data (the catalogue, the map's features, one SPARQL query: its engine runs in a
   child process, counted apart and in the tree's total) are asked once (their caches filled), then RSS is
   sampled for ``--idle-s`` seconds.
5. Ingest: ``--senders`` emonhub-shaped clients (bench/ingest.py's bodies: ``POST /input/bulk.json``, zlib, 1000
   rows of 5 inputs) post concurrently; RSS is sampled throughout. CPU per million points: the process's whole
   CPU (``utime + stime`` of ``/proc/<pid>/stat``) over the ingest phase / points stored, and the server's own
   meter (``regie footprint``'s figures from /metrics: the requests' share, the writer thread's).

6. ``regie demo`` (build, then serve) as a real command: the serving process's RSS once the demo's pages were
   asked (the build runs in a child process of its own; ``--no-demo-command`` skips this).

Prints a table and writes ``bench/results/footprint.json``.
Run: ``.venv/bin/python bench/footprint.py [--senders 4 --requests 25 --rows 1000 --idle-s 10]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/signal.py bears the standard library's `signal` name: with bench/ first on the path (`python
# bench/footprint.py`), `import subprocess` would get that script.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.append(str(Path(__file__).parent))  # bench/ingest.py; last, for the reason above
sys.path.insert(1, str(Path(__file__).parents[1]))  # this checkout's regie, as the server it starts
import ingest as ingest_bench

RESULTS = Path(__file__).parent / "results" / "footprint.json"
GOAL_RSS_MB = 250
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _regie(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "regie.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        raise RuntimeError(f"regie {' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _tree_rss_mb(pid: int) -> tuple[float, float]:
    """(RSS of the process and all its descendants, of the descendants alone) [MB]."""
    own, todo, kids = _status_kb(pid, "VmRSS") / 1024, _children(pid), 0.0
    while todo:
        c = todo.pop()
        try:
            kids += _status_kb(c, "VmRSS") / 1024
        except (OSError, KeyError):
            continue
        todo += _children(c)
    return own + kids, kids


SPARQL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
#: Asked once after the first territory page: every public page whose cache lives in the serving process.
WARM = ("/live", "/api/balance", "/login", "/catalog", "/api/map.geojson",
        "/sparql?" + urllib.parse.urlencode({"query": SPARQL}))  # fmt: skip


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of proc(5))


class Sampler:
    """VmRSS of a process every ``period`` seconds, in MB, tagged by phase."""

    def __init__(self, pid: int, period: float = 0.2) -> None:
        self.pid, self.period = pid, period
        self.phase = "start"
        self.samples: list[tuple[str, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((self.phase, time.time(), _status_kb(self.pid, "VmRSS") / 1024))
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop.wait(self.period)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def of(self, phase: str) -> list[float]:
        return [mb for p, _, mb in self.samples if p == phase]


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=120) as reply:
        reply.read()
        return reply.status


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(f"regie serve exited with {proc.returncode}: {err}")
        try:
            if _get(base + "/healthz") == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("regie serve did not answer /healthz")


def _stop(proc: subprocess.Popen) -> bytes:
    """Stop a server this bench started (SIGTERM, then SIGKILL after 30 s); its stderr."""
    proc.terminate()
    try:
        return proc.communicate(timeout=30)[1] or b""
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1] or b""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _meter(base: str):
    from regie.operations.footprint import cpu_from_metrics

    with urllib.request.urlopen(base + "/metrics", timeout=30) as reply:
        return cpu_from_metrics(reply.read().decode())


def _points(url: str) -> int:
    from regie.store import open_store

    store = open_store(url)
    try:
        return store.count_points()
    finally:
        store.close()


def run(senders: int, requests: int, rows: int, idle_s: float, trace: bool = True, demo: Path | None = None,
        with_demo_command: bool = True) -> dict:  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="regie-footprint-"))
    try:
        data = tmp / "data"
        url = f"sqlite:///{data / 'regie.sqlite'}"
        port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("REGIE_")},
            "REGIE_DATA_DIR": str(data),
            "REGIE_DATABASE_URL": url,
            "REGIE_HOST": "127.0.0.1",
            "REGIE_PORT": str(port),
            "PYTHONPATH": os.pathsep.join(filter(None, (str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH")))),
        }
        t0 = time.perf_counter()
        if demo is not None and demo.exists():  # a demo built earlier: copied, so that the ingest leaves it as built
            data.mkdir()
            shutil.copyfile(demo, data / "regie.sqlite")
        else:
            _regie(env, "demo", "--build-only", str(data / "regie.sqlite"))
            if demo is not None:
                shutil.copyfile(data / "regie.sqlite", demo)
        build_s = time.perf_counter() - t0
        key = _regie(env, "key", "add", "bench-footprint", "--scope", "write").strip().splitlines()[-1]
        demo_points = _points(url)
        store_mb = sum(p.stat().st_size for p in data.glob("regie.sqlite*")) / 1e6
        memory = where(env, url, data) if trace else None  # the demo as built, before any ingest

        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "regie.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            _wait_ready(base, proc)
            sampler = Sampler(proc.pid).start()
            started_mb = _status_kb(proc.pid, "VmRSS") / 1024
            sampler.phase = "first_page"
            _get(base + "/")
            first_page_mb, first_page_hwm = _status_kb(proc.pid, "VmRSS") / 1024, _status_kb(proc.pid, "VmHWM") / 1024
            sampler.phase = "warm"
            for path in WARM:
                _get(base + path)
            sampler.phase = "idle"
            time.sleep(idle_s)
            idle_hwm = _status_kb(proc.pid, "VmHWM") / 1024
            tree_idle_mb, children_idle_mb = _tree_rss_mb(proc.pid)

            now = int(time.time())
            bodies = [ingest_bench._bodies(s, requests, rows, now - 40 * 86400) for s in range(senders)]
            errors: list[str] = []
            before_meter = _meter(base)
            cpu0 = _cpu_s(proc.pid)
            sampler.phase = "ingest"
            t1 = time.perf_counter()
            threads = [
                threading.Thread(target=ingest_bench._sender, args=(port, key, bodies[s], errors))
                for s in range(senders)
            ]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            ingest_s = time.perf_counter() - t1
            cpu1 = _cpu_s(proc.pid)
            sampler.phase = "after"
            after_meter = _meter(base)
            time.sleep(min(idle_s, 5))
            peak_mb = _status_kb(proc.pid, "VmHWM") / 1024
            tree_after_mb, _ = _tree_rss_mb(proc.pid)
            sampler.stop()
        finally:
            err = _stop(proc)
        stored = _points(url) - demo_points
        sent = senders * requests * rows * len(ingest_bench.INPUTS)
        idle, during, after = sampler.of("idle"), sampler.of("ingest"), sampler.of("after")
        http_points = after_meter.ingest_points - before_meter.ingest_points
        writer_points = after_meter.writer_points - before_meter.writer_points
        result = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "demo": {"points": demo_points, "store_mb": round(store_mb, 1), "build_s": round(build_s, 1)},
            "rss_mb": {
                "started": round(started_mb, 1),
                "first_territory_page": round(first_page_mb, 1),
                "first_territory_page_peak": round(first_page_hwm, 1),
                "idle_steady": round(statistics.median(idle), 1),
                "idle_peak": round(idle_hwm, 1),
                "ingest_median": round(statistics.median(during), 1) if during else None,
                "ingest_max_sampled": round(max(during), 1) if during else None,
                "after_ingest": round(statistics.median(after), 1) if after else None,
                "peak": round(peak_mb, 1),
                "goal": GOAL_RSS_MB,
                "within_goal": peak_mb <= GOAL_RSS_MB,
                "sparql_child_idle": round(children_idle_mb, 1),
                "tree_idle": round(tree_idle_mb, 1),
                "tree_after_ingest": round(tree_after_mb, 1),
            },
            "demo_command": demo_command(env, idle_s) if with_demo_command else None,
            "ingest": {
                "senders": senders,
                "requests": senders * requests,
                "rows_per_request": rows,
                "points_sent": sent,
                "points_stored": stored,
                "errors": errors[:5],
                "seconds": round(ingest_s, 2),
                "points_per_s": round(stored / ingest_s) if ingest_s else None,
            },
            "cpu_s_per_million_points": {
                "process": round((cpu1 - cpu0) / stored * 1e6, 2) if stored else None,
                "http_requests_meter": round(
                    (after_meter.ingest_cpu_s - before_meter.ingest_cpu_s) / http_points * 1e6, 2
                )
                if http_points
                else None,
                "writer_thread_meter": round(
                    (after_meter.writer_cpu_s - before_meter.writer_cpu_s) / writer_points * 1e6, 2
                )
                if writer_points
                else None,
            },
            "where": memory,
            "server_stderr_tail": err.decode(errors="replace")[-500:] if proc.returncode not in (0, -15) else "",
        }
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def demo_command(env: dict[str, str], idle_s: float) -> dict:
    """``regie demo`` as a user runs it: build (in its own child process), then serve; the serving process's RSS
    after the territory page and the other public pages were asked."""
    tmp = Path(tempfile.mkdtemp(prefix="regie-footprint-demo-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    denv = {**env, "REGIE_DATA_DIR": str(tmp), "REGIE_PORT": str(port)}
    denv.pop("REGIE_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "regie.cli", "demo", "--port", str(port)], env=denv,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        t0 = time.perf_counter()
        _wait_ready(base, proc, timeout=900)
        ready_s = time.perf_counter() - t0
        started = _status_kb(proc.pid, "VmRSS") / 1024
        _get(base + "/")
        first = _status_kb(proc.pid, "VmRSS") / 1024
        for path in WARM:
            _get(base + path)
        time.sleep(idle_s)
        idle = _status_kb(proc.pid, "VmRSS") / 1024
        return {"build_and_start_s": round(ready_s, 1), "started": round(started, 1),
                "first_territory_page": round(first, 1), "idle": round(idle, 1),
                "peak": round(_status_kb(proc.pid, "VmHWM") / 1024, 1)}  # fmt: skip
    finally:
        _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------- where the memory goes
WHERE = r"""
import json, sys, tracemalloc


def rss():
    s = open("/proc/self/status").read()
    return round(int(s.split("VmRSS:")[1].split()[0]) / 1024, 1)


out = {"python_alone_mb": rss()}
before = set(sys.modules)
from regie.operations.footprint import bound_heap

bound_heap()  # as `regie serve` does
from regie.store import open_store
from regie.web.app import create_app
from regie.config import Settings
import regie.cli  # what `regie serve` imports too
out["after_imports_mb"] = rss()
heavy = ("pandas", "pyarrow", "scipy", "fpdf", "PIL", "fontTools", "babel", "sqlalchemy", "fastapi", "pydantic",
         "numpy")
out["heavy_modules_loaded"] = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(heavy))
from fastapi.testclient import TestClient

app = create_app(open_store(sys.argv[1]), Settings.defaults(data_dir=sys.argv[2]))
client = TestClient(app)
out["pages"] = []
for path in ("/", "/live", "/api/balance", "/login", "/catalog", "/api/map.geojson"):
    tracemalloc.start(1)  # the allocating line is enough (numpy allocates from C: the regie line is the top frame)
    status = client.get(path).status_code
    current, peak = tracemalloc.get_traced_memory()
    top = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/regie/*")])
    sites = []
    for st in top.statistics("lineno")[:3]:
        frame = st.traceback[0]
        sites.append({"mb": round(st.size / 1e6, 1), "at": f"{frame.filename.split('/regie/')[-1]}:{frame.lineno}"})
    tracemalloc.stop()
    out["pages"].append({"path": path, "status": status, "kept_mb": round(current / 1e6, 1),
                         "peak_traced_mb": round(peak / 1e6, 1), "rss_mb": rss(), "kept_by": sites})
print(json.dumps(out))
"""


def where(env: dict[str, str], url: str, data: Path) -> dict:
    """Where the memory goes (tracemalloc, in a process of its own): the imports, then each page of the demo."""
    out = subprocess.run(
        [sys.executable, "-c", WHERE, url, str(data)], env=env, capture_output=True, text=True, timeout=600
    )
    if out.returncode != 0:
        return {"error": out.stderr[-1000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    r, i, c = result["rss_mb"], result["ingest"], result["cpu_s_per_million_points"]
    t = Table(title=f"regie serve with the demo ({result['demo']['points']:,} points, {result['demo']['store_mb']} MB)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for label, value in [
        ("RSS just started [MB]", r["started"]),
        ("RSS after the first territory page [MB]", r["first_territory_page"]),
        ("RSS peak by then (VmHWM) [MB]", r["first_territory_page_peak"]),
        ("RSS idle, demo pages served [MB]", r["idle_steady"]),
        (f"RSS under {i['senders']}-client ingest, median [MB]", r["ingest_median"]),
        ("RSS peak (VmHWM) [MB]", r["peak"]),
        (f"goal ≤ {r['goal']} MB", "met" if r["within_goal"] else "NOT met"),
        ("SPARQL engine (child process), idle [MB]", r["sparql_child_idle"]),
        ("server and its children, idle [MB]", r["tree_idle"]),
        ("points stored / sent", f"{i['points_stored']:,} / {i['points_sent']:,}"),
        ("points per second", f"{i['points_per_s']:,}"),
        ("CPU-s per million points (whole process)", c["process"]),
        ("CPU-s per million points (HTTP requests, meter)", c["http_requests_meter"]),
        ("CPU-s per million points (writer thread, meter)", c["writer_thread_meter"]),
    ]:
        t.add_row(label, str(value))
    Console().print(t)
    d = result.get("demo_command")
    if d:
        print(f"regie demo (built in a child, then served): started {d['started']} MB, first territory page "
              f"{d['first_territory_page']} MB, idle {d['idle']} MB, peak {d['peak']} MB")
    w = result.get("where")
    if w and "pages" in w:
        print(
            f"imports: {w['python_alone_mb']} MB -> {w['after_imports_mb']} MB ({', '.join(w['heavy_modules_loaded'])})"
        )
        for p in w["pages"]:
            kept = "; ".join(f"{k['mb']} MB at {k['at']}" for k in p["kept_by"])
            figures = f"kept {p['kept_mb']} MB, traced peak {p['peak_traced_mb']} MB, RSS {p['rss_mb']} MB"
            print(f"{p['path']}: {figures} ({kept})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--requests", type=int, default=25, help="requests per sender")
    parser.add_argument("--rows", type=int, default=1000, help="rows per request (5 inputs each)")
    parser.add_argument("--idle-s", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/footprint.json")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc pass (where memory goes)")
    parser.add_argument(
        "--demo", type=Path, help="a demo store file: built there the first time, copied from there afterwards"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go (JSON)")
    parser.add_argument("--no-demo-command", action="store_true", help="skip measuring `regie demo` itself")
    args = parser.parse_args()
    result = run(args.senders, args.requests, args.rows, args.idle_s, trace=not args.no_trace, demo=args.demo,
                 with_demo_command=not args.no_demo_command)  # fmt: skip
    show(result)
    if not args.no_write:
        args.out.parent.mkdir(exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"written: {args.out}")


if __name__ == "__main__":
    main()
