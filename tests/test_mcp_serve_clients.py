"""``autoagent mcp serve`` as third-party clients see it, through the official SDK's client
over stdio and over streamable HTTP (with the token): ``tools.listChanged`` is true on both,
a handshake-era client that has not listed yet is told of a new tool, a string result is
the plain text, docstring parameter descriptions (Google and NumPy) are in the schema, an
unknown tool is a JSON-RPC error, and error messages spell JSON values."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import anyio
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from test_mcp_serve import LATER, http_server, with_token

TOOLS = {
    "shout": LATER,
    "scale": (
        "def scale(x: float, factor: int = 2) -> float:\n"
        '    """Scale a number.\n\n    Multiplies x by a whole factor.\n\n'
        "    Args:\n        x (float): The number to scale.\n"
        "        factor: How many times;\n            at least one.\n\n"
        '    Returns:\n        The product.\n    """\n    return x * factor\n'),
    "clip": (
        "def clip(value: float, low: float = 0.0) -> float:\n"
        '    """Clip a value from below.\n\n    Parameters\n    ----------\n'
        "    value : float\n        The value to clip.\n    low : float, optional\n"
        '        The lower bound.\n\n    Returns\n    -------\n    float\n    """\n'
        "    return max(value, low)\n"),
}


@pytest.fixture
def library(isolated: Path) -> Path:
    folder = isolated / "lib"
    folder.mkdir()
    for name, code in TOOLS.items():
        (folder / f"{name}.py").write_text(code)
    return folder


async def _check(target: Any, library: Path) -> None:
    import mcp_types

    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(getattr(message, "root", message), mcp_types.ToolListChangedNotification):
            changed.set()

    async with Client(target, mode="legacy", message_handler=on_message,
                      read_timeout_seconds=60) as client:
        assert client.server_capabilities.tools.list_changed is True
        # told of a new tool before it ever listed
        (library / "later.py").write_text(
            'def later() -> str:\n    """Added later."""\n    return "x"\n')
        with anyio.fail_after(20):
            await changed.wait()

        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert "later" in listed
        scale = listed["scale"]
        assert scale.description.startswith("Scale a number.\n\nMultiplies x")
        assert "Args:" in scale.description  # the whole docstring
        props = scale.input_schema["properties"]
        assert props["x"]["description"] == "The number to scale."
        assert props["factor"]["description"] == "How many times; at least one."
        clip = listed["clip"].input_schema["properties"]
        assert clip["value"]["description"] == "The value to clip."
        assert clip["low"]["description"] == "The lower bound."

        shouted = await client.call_tool("shout", {"text": "hello"})
        assert not shouted.is_error and shouted.content[0].text == "HELLO"
        assert shouted.structured_content == {"result": "HELLO"}

        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.error.code == -32602 and "no_such_tool" in str(unknown.value)

        nulled = await client.call_tool("scale", {"x": None})
        assert nulled.is_error
        assert "null is not of type" in nulled.content[0].text
        assert "None" not in nulled.content[0].text


def test_over_stdio(library: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, env=dict(os.environ),
        args=["-m", "autoagent_core", "mcp", "serve", "--tools-dir", str(library),
              "--sandbox", "open"])
    anyio.run(_check, params, library)


def test_over_streamable_http(library: Path, tmp_path: Path) -> None:
    with http_server(library, tmp_path / "serve.log", dict(os.environ)) as url:
        anyio.run(_check, with_token(url, tmp_path / "token"), library)
