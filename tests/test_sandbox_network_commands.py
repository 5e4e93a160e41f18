"""``--allow-net`` on every command that runs tools: ``run``, ``batch`` and ``mcp serve``
(``tools run`` is in test_sandbox_network.py). A server on the host's loopback is refused to
a tool in open mode, with a suggestion naming the grant, until the command grants it."""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.sandbox.launcher import unavailable_reason
from conftest import CliFn
from support.batch_tasks import read_results, tool_script, write_tasks

pytestmark = pytest.mark.skipif(bool(unavailable_reason("open")),
                                reason="open mode unavailable here")

FETCH = ("import urllib.request\n"
         "def fetch(url: str) -> str:\n"
         "    return urllib.request.urlopen(url, timeout=10).read().decode().strip()\n")


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"host\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    """A server on the host's loopback (a dev server, a database's HTTP port...)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _session_text(cli: CliFn, session_id: str) -> str:
    shown = cli("sessions", "show", session_id, "--json")
    assert shown.returncode == 0, shown
    return shown.stdout


def test_run_and_batch_grant_with_allow_net(cli: CliFn, isolated: Path, port: int) -> None:
    url = f"http://127.0.0.1:{port}/"
    script = tool_script(isolated / "fetch.json", "fetch", FETCH, {"url": url}, "fetched")
    refused = cli("run", "fetch it", "--script", str(script), "--sandbox", "open", "--json")
    assert refused.returncode == 0, refused
    text = _session_text(cli, json.loads(refused.stdout)["session_id"])
    assert "-> FAILED (network)" in text, text[:3000]
    assert f"grant it with --allow-net 127.0.0.1:{port}" in text

    granted = cli("run", "fetch it", "--script", str(script), "--sandbox", "open",
                  "--allow-net", f"127.0.0.1:{port}", "--json")
    assert granted.returncode == 0, granted
    text = _session_text(cli, json.loads(granted.stdout)["session_id"])
    assert '-> ok, result: \\"host\\"' in text, text[:3000]
    assert f"--allow-net 127.0.0.1:{port}" not in text

    tool_script(isolated / "again.json", "fetch", "", {"url": url}, "fetched", create=False)
    tasks = write_tasks(isolated / "tasks.jsonl",
                        [{"id": "a", "task": "fetch", "script": "again.json"}])
    batch = cli("batch", str(tasks), "--sandbox", "open", "--allow-net", f"127.0.0.1:{port}")
    assert batch.returncode == 0, batch
    row = read_results(isolated / "tasks.results.jsonl")[0]
    assert row["tools_used"][0]["failures"] == 0, row
    bad = cli("batch", str(tasks), "--allow-net", "host:port")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad


def test_mcp_serve_grants_with_allow_net_call_after_call(isolated: Path, port: int) -> None:
    pytest.importorskip("mcp")
    import anyio
    from mcp import Client, StdioServerParameters

    folder = isolated / "lib"
    folder.mkdir()
    (folder / "fetch.py").write_text(FETCH)
    url = f"http://127.0.0.1:{port}/"

    def params(*grants: str) -> StdioServerParameters:
        args = ["-m", "autoagent_core", "mcp", "serve", "--tools-dir", str(folder),
                "--sandbox", "open", *(f"--allow-net={g}" for g in grants)]
        return StdioServerParameters(command=sys.executable, args=args, env=dict(os.environ))

    async def calls(target: StdioServerParameters, count: int) -> list[Any]:
        async with Client(target, read_timeout_seconds=60) as client:
            return [await client.call_tool("fetch", {"url": url}) for _ in range(count)]

    refused = anyio.run(calls, params(), 1)[0]
    assert refused.is_error and f"--allow-net 127.0.0.1:{port}" in refused.content[0].text
    granted = anyio.run(calls, params(f"127.0.0.1:{port}"), 3)  # one server, three calls
    assert [g.structured_content for g in granted] == [{"result": "host"}] * 3
