"""docs/getting-started.md, run exactly as written: every line of its ```shell blocks, in order, in one
fresh data folder, from the repository's root (where the guide's example files are). ```sh blocks (the
install) are shown, not run: the test already runs inside the installed environment.

A line that starts ``regie serve`` is started in the background; the test waits until it answers
``/healthz``, checks the territory page, then stops it. Any other line must exit 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from servers import answering

ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "docs" / "getting-started.md"


def shell_lines() -> list[str]:
    blocks = re.findall(r"```shell\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_guide_has_commands_for_every_step() -> None:
    lines = shell_lines()
    for needed in ("regie territory create", "regie inventory import", "regie import enedis-r63",
                   "regie user invite", "regie consent grant", "regie data read", "regie acc participant add",
                   "regie allocate", "regie serve"):  # fmt: skip
        assert any(line.startswith(needed) or f"| {needed}" in line for line in lines), needed


def test_the_guide_runs_as_written(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGIE_")}
    env |= {"REGIE_DATA_DIR": str(tmp_path / "data"), "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
            "COLUMNS": "160"}  # fmt: skip
    cwd = tmp_path / "work"
    cwd.mkdir()
    for name in ("docs",):  # the guide's paths are relative to the repository's root
        (cwd / name).symlink_to(ROOT / name)
    for line in shell_lines():
        if line.startswith("regie serve"):
            _serve(line, env, cwd)
            continue
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, f"$ {line}\n{done.stdout}\n{done.stderr}"
        if line.startswith("regie data read"):
            rows = done.stdout.strip().splitlines()
            assert rows[0] == "start,value,unit,points" and len(rows) == 4, done.stdout  # three June days


def _serve(line: str, env: dict[str, str], cwd: Path) -> None:
    port = int(re.search(r"--port (\d+)", line).group(1))
    server = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        answering(f"http://127.0.0.1:{port}", server, 60)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30, follow_redirects=True)
        assert page.status_code == 200 and "Commune exemple" in page.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
