"""autoagent's MCP client against the real reference server mcp-server-time (PyPI), and
against broken servers: one that exits at once and one that never answers."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from autoagent_core.config import load_settings
from autoagent_plugins.mcp.client import McpToolSource
from autoagent_plugins.mcp.servers_config import ServerConfig

TIME_SERVER = Path(sys.executable).parent / "mcp-server-time"


def test_time_server_tools_and_broken_servers_cost_a_warning() -> None:
    if not TIME_SERVER.exists() and shutil.which("mcp-server-time") is None:
        pytest.skip("mcp-server-time is not installed")
    warnings: list[str] = []
    settings = load_settings({"mcp_start_timeout": 3, "mcp_call_timeout": 3})
    servers = {"time": ServerConfig("time", str(TIME_SERVER), ["--local-timezone", "UTC"]),
               "bad": ServerConfig("bad", "/bin/false"),
               "hang": ServerConfig("hang", "sleep", ["1000"])}
    source = McpToolSource(settings, servers, warn=warnings.append)
    started = time.monotonic()
    try:
        names = sorted(t.spec.name for t in source.list_tools())
        assert time.monotonic() - started < 20  # the hanging server costs its timeout only
        assert names == ["time.convert_time", "time.get_current_time"]
        assert sorted(w.split("'")[1] for w in warnings) == ["bad", "hang"]
        now = source.call("time.get_current_time", {"timezone": "Asia/Tokyo"})
        assert now.ok and now.result["timezone"] == "Asia/Tokyo"
        converted = source.call("time.convert_time", {
            "source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})
        assert converted.ok
        assert converted.result["target"]["datetime"].endswith("21:00:00+09:00")
        wrong = source.call("time.get_current_time", {"timezone": "Nowhere/Bad"})
        assert not wrong.ok and "Nowhere/Bad" in wrong.error["message"]
        down = source.call("bad.anything", {})
        assert not down.ok and down.error["class"] == "mcp_unavailable"
    finally:
        source.close()


def test_tools_list_and_run_show_an_mcp_servers_tools(tmp_path: Path) -> None:
    import json
    import os
    import subprocess

    if not TIME_SERVER.exists():
        pytest.skip("mcp-server-time is not installed")
    config = tmp_path / "config.toml"
    config.write_text(f'[mcp_servers.time]\ncommand = "{TIME_SERVER}"\n'
                      'args = ["--local-timezone", "UTC"]\n')
    env = {**os.environ, "AUTOAGENT_CONFIG": str(config)}
    cli = [sys.executable, "-m", "autoagent_core"]
    listed = subprocess.run([*cli, "tools", "list", "--json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    sources = {t["name"]: t["source"] for t in json.loads(listed.stdout)}
    assert sources == {"time.get_current_time": "mcp:time", "time.convert_time": "mcp:time"}
    ran = subprocess.run([*cli, "tools", "run", "time.get_current_time", "--args",
                          '{"timezone": "Europe/Paris"}'], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["timezone"] == "Europe/Paris"


@pytest.fixture(scope="session")
def everything_server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``@modelcontextprotocol/server-everything``, installed from npm for this session."""
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed (scripts/test.sh installs it)")
    prefix = tmp_path_factory.mktemp("npm")
    try:
        subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                        "@modelcontextprotocol/server-everything"], check=True,
                       capture_output=True, text=True, timeout=240)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"npm could not install @modelcontextprotocol/server-everything: {exc}")
    return prefix / "node_modules" / ".bin" / "mcp-server-everything"


def test_the_reference_everything_server_through_the_cli(everything_server: Path,
                                                         cli: Any) -> None:
    import json

    added = cli("mcp", "add", "every", "--", str(everything_server), "stdio")
    assert added.returncode == 0, added
    listed = cli("mcp", "tools", "every", "--json")
    assert listed.returncode == 0, listed
    names = {t["name"] for t in json.loads(listed.stdout)}
    assert {"every.echo", "every.get-sum"} <= names
    summed = cli("tools", "run", "every.get-sum", "--args", '{"a": 2, "b": 40}')
    assert summed.returncode == 0, summed
    assert "42" in json.loads(summed.stdout)
    wrong = cli("tools", "run", "every.get-sum", "--args", '{"a": "two"}')
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "failed: [mcp_tool_error]" in wrong.stderr
