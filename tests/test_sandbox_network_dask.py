"""A real Dask scheduler on the host's loopback (the one ``batch --executor dask`` uses)
is out of reach of a tool in open mode, while ``autoagent batch --executor dask`` still
runs its tasks, tools included, on that cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoagent_core.sandbox.launcher import unavailable_reason
from conftest import CliFn
from support.batch_tasks import read_results, tool_script, write_tasks
from test_batch_dask import cluster  # noqa: F401 - the module's own Dask cluster

pytestmark = pytest.mark.skipif(bool(unavailable_reason("open")),
                                reason="open mode unavailable here")

SUBMIT = """
import socket

def submit(address: str, client: bool = True) -> dict:
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    out = {}
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        out["tcp"] = "connected"
    except OSError as exc:
        out["tcp"] = f"{type(exc).__name__}: {exc}"
    if not client:
        return out
    try:
        from distributed import Client

        with Client(address, timeout=3) as dask:
            out["ran"] = dask.submit(lambda: "ran on the cluster").result(timeout=10)
    except Exception as exc:
        out["ran"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return out
"""


def test_a_tool_cannot_reach_the_dask_scheduler_while_batch_uses_it(
        cli: CliFn, isolated: Path, cluster: tuple[str, Path]) -> None:  # noqa: F811
    address, _ = cluster
    port = address.rsplit(":", 1)[1]
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "submit.py").write_text(SUBMIT)
    direct = cli("tools", "run", "submit", "--sandbox", "open", "--args",
                 json.dumps({"address": address}))
    assert direct.returncode == 0, direct
    out = json.loads(direct.stdout)
    assert "autoagent refused" in out["tcp"] and f"--allow-net 127.0.0.1:{port}" in out["tcp"]
    assert out["ran"] != "ran on the cluster", out

    folder = isolated / "jobs"
    folder.mkdir()
    tool_script(folder / "probe.json", "scheduler_probe",
                SUBMIT.replace("def submit(", "def scheduler_probe("),
                {"address": address, "client": False}, "probed")
    tool_script(folder / "sum.json", "add_up", "def add_up(x):\n    return x + 1\n",
                {"x": 41}, "42")
    write_tasks(folder / "tasks.jsonl", [
        {"id": "probe", "task": "probe", "script": "probe.json"},
        {"id": "sum", "task": "sum", "script": "sum.json"}])
    batch = cli("batch", str(folder / "tasks.jsonl"), "--executor", "dask", "--scheduler",
                address, "--sandbox", "open", "--json", timeout=180)
    assert batch.returncode == 0, batch
    rows = {r["id"]: r for r in read_results(folder / "tasks.results.jsonl")}
    assert {r["status"] for r in rows.values()} == {"completed"}, rows
    assert rows["sum"]["answer"] == "42"
    session = cli("sessions", "show", rows["probe"]["session_id"], "--json").stdout
    assert f"autoagent refused a connection to 127.0.0.1 port {port}" in session
