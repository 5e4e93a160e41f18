"""``autoagent mcp serve`` through the official MCP SDK's client, over stdio and over
streamable HTTP: the listing and its typed schemas, a call, a failing tool, bad arguments,
a tool added while the server runs (with the list_changed event), and the run history."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import anyio
from mcp import Client, Implementation, StdioServerParameters

TOOLS = {
    "add": 'def add(a: int, b: int = 2) -> int:\n    """Add two integers."""\n    return a + b\n',
    "describe": (
        "def describe(x: float, words: list[str], loud: bool = False, extra: dict = {},\n"
        "             label: str = 'n') -> dict:\n"
        '    """Describe a number and some words."""\n'
        "    return {'label': label, 'x': x, 'n': len(words), 'loud': loud}\n"),
    "divide": 'def divide(a: float, b: float) -> float:\n    """Divide a by b."""\n'
              "    return a / b\n",
}
LATER = 'def shout(text: str) -> str:\n    """Upper-case a text."""\n    return text.upper()\n'


@pytest.fixture
def library(isolated: Path) -> Path:
    folder = isolated / "lib"
    folder.mkdir()
    for name, code in TOOLS.items():
        (folder / f"{name}.py").write_text(code)
    return folder


def _serve_args(library: Path) -> list[str]:
    return ["-m", "autoagent_core", "mcp", "serve", "--tools-dir", str(library),
            "--sandbox", "open"]


def with_token(url: str, token_file: Path) -> Any:
    """The SDK's streamable HTTP transport to ``url`` sending the server's Bearer token."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    token = token_file.read_text().strip()
    return streamable_http_client(url, http_client=httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=60))


@contextmanager
def http_server(library: Path, log_path: Path, env: dict[str, str],
                extra: tuple[str, ...] = ()) -> Iterator[str]:
    """``autoagent mcp serve --http 127.0.0.1:0`` running; yields the URL it printed. The
    token is in ``token`` beside the log unless ``extra`` says otherwise."""
    log = log_path.open("w+")
    extra = extra or ("--token-file", str(log_path.with_name("token")))
    proc = subprocess.Popen([sys.executable, *_serve_args(library), "--http", "127.0.0.1:0",
                             *extra],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                            env=env)
    try:
        url, deadline = "", time.monotonic() + 30
        while not url and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            log.seek(0)
            found = re.search(r"http://127\.0\.0\.1:\d+/mcp", log.read())
            url = found.group(0) if found else ""
        assert url, f"the server did not start: {log_path.read_text()}"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def http_url(library: Path, tmp_path: Path) -> Iterator[str]:
    with http_server(library, tmp_path / "serve.log", dict(os.environ)) as url:
        yield url


async def _exercise(target: Any, library: Path) -> None:
    """Everything a client relies on, against one running server."""
    async with Client(target, client_info=Implementation(name="test-client", version="1"),
                      read_timeout_seconds=60) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert sorted(listed) == ["add", "describe", "divide"]
        assert listed["add"].description == "Add two integers."
        schema = listed["describe"].input_schema
        props = schema["properties"]
        assert props["x"]["type"] == "number"
        assert props["words"] == {"type": "array", "items": {"type": "string"}}
        assert props["loud"]["type"] == "boolean" and props["extra"]["type"] == "object"
        assert props["label"]["type"] == "string"
        assert listed["add"].input_schema["properties"]["a"]["type"] == "integer"
        assert sorted(schema["required"]) == ["words", "x"]

        done = await client.call_tool("add", {"a": 40})
        assert not done.is_error
        assert done.content[0].text == "42" and done.structured_content == {"result": 42}
        told = await client.call_tool("describe", {"x": 1.5, "words": ["a", "b"]})
        assert told.structured_content == {"label": "n", "x": 1.5, "n": 2, "loud": False}
        assert json.loads(told.content[0].text) == told.structured_content

        failed = await client.call_tool("divide", {"a": 1, "b": 0})
        assert failed.is_error
        assert "zero_division" in failed.content[0].text
        assert "suggestion:" in failed.content[0].text
        assert failed.structured_content["error"]["class"] == "zero_division"

        wrong = await client.call_tool("add", {"a": "forty"})
        assert wrong.is_error and "'a'" in wrong.content[0].text
        missing = await client.call_tool("describe", {"x": 1})
        assert missing.is_error and "'words'" in missing.content[0].text
        unknown = await client.call_tool("add", {"a": 1, "c": 3})
        assert unknown.is_error and "'c'" in unknown.content[0].text

        async with client.listen(tools_list_changed=True) as subscription:
            (library / "shout.py").write_text(LATER)
            with anyio.fail_after(20):
                async for _event in subscription:
                    break
        names = [t.name for t in (await client.list_tools()).tools]
        assert "shout" in names
        shouted = await client.call_tool("shout", {"text": "hi"})
        assert shouted.structured_content == {"result": "HI"}

    runs = [json.loads(line) for line in
            (library / ".versions" / "add" / "runs.jsonl").read_text().splitlines()]
    assert [r["caller"] for r in runs] == ["mcp:test-client"]
    assert runs[0]["ok"] is True and runs[0]["duration_s"] >= 0


def test_sdk_client_over_stdio(library: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=_serve_args(library),
                                   env=dict(os.environ))
    anyio.run(_exercise, params, library)


def test_sdk_client_over_streamable_http(library: Path, http_url: str,
                                        tmp_path: Path) -> None:
    anyio.run(_exercise, with_token(http_url, tmp_path / "token"), library)


def test_bad_http_address_is_a_usage_error(cli: Any) -> None:
    result = cli("mcp", "serve", "--http", "localhost:notaport")
    assert result.returncode == 2, result
    assert result.stderr.startswith("autoagent: error: --http must be HOST:PORT")
    assert "Traceback" not in result.stderr


def test_a_handshake_era_client_is_told_of_a_new_tool(library: Path) -> None:
    """A client on the pre-2026 handshake gets notifications/tools/list_changed directly."""
    import mcp_types

    params = StdioServerParameters(command=sys.executable, args=_serve_args(library),
                                   env=dict(os.environ))

    async def scenario() -> None:
        changed = anyio.Event()

        async def on_message(message: Any) -> None:
            root = getattr(message, "root", message)
            if isinstance(root, mcp_types.ToolListChangedNotification):
                changed.set()

        async with Client(params, mode="legacy", message_handler=on_message,
                          read_timeout_seconds=60) as client:
            assert client.server_capabilities.tools.list_changed is True
            assert len((await client.list_tools()).tools) == 3
            (library / "shout.py").write_text(LATER)
            with anyio.fail_after(20):
                await changed.wait()
            assert "shout" in [t.name for t in (await client.list_tools()).tools]

    anyio.run(scenario)


def test_a_secret_in_a_result_is_redacted(isolated: Path, tmp_path: Path) -> None:
    canary = "tokCANARYmcpserve8f7e6d5c4b3a2910"
    folder = isolated / "leaky"
    folder.mkdir()
    (folder / "leak.py").write_text(f"def leak() -> dict:\n    return {{'v': 'k={canary}'}}\n")
    env = {**os.environ, "SERVICE_API_TOKEN": canary}

    async def call(url: str) -> Any:
        async with Client(with_token(url, tmp_path / "token"),
                          read_timeout_seconds=60) as client:
            return await client.call_tool("leak", {})

    with http_server(folder, tmp_path / "leak.log", env) as url:
        result = anyio.run(call, url)
    assert not result.is_error
    assert canary not in result.content[0].text + json.dumps(result.structured_content)
    assert result.structured_content["v"].startswith("k=")
