"""MCP tools in ``autoagent run`` and ``autoagent mcp tools``, through the real CLI: a
scripted Coder calls ``time.get_current_time`` of the real ``mcp-server-time`` and the run's
timeline shows the result, while a server that exits at once and one that never answers
cost one warning line each and their start timeout, never a hang."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from conftest import CliFn
from fixtures.runs import RunTask

pytest.importorskip("mcp")

TIME_SERVER = Path(sys.executable).parent / "mcp-server-time"
HANGS = "import sys\nfor _line in sys.stdin:\n    pass\n"  # reads forever, never answers


@pytest.fixture
def mcp_env(isolated: Path) -> dict[str, str]:
    if not TIME_SERVER.exists():
        pytest.skip("mcp-server-time is not installed (the test dependency group)")
    hang = isolated / "hang_server.py"
    hang.write_text(HANGS)
    config = isolated / "config.toml"
    config.write_text(
        f'[mcp_servers.time]\ncommand = "{TIME_SERVER}"\nargs = ["--local-timezone", "UTC"]\n'
        '[mcp_servers.broken]\ncommand = "/bin/false"\n'
        f'[mcp_servers.silent]\ncommand = "{sys.executable}"\nargs = ["{hang}"]\n')
    return {"AUTOAGENT_CONFIG": str(config), "AUTOAGENT_MCP_START_TIMEOUT": "12"}  # loaded CI


def test_scripted_coder_calls_an_mcp_tool(run_task: RunTask, mcp_env: dict[str, str]) -> None:
    started = time.monotonic()
    run = run_task("mcp_time", "What time is it in Tokyo?", env=mcp_env)
    assert time.monotonic() - started < 60
    assert run.returncode == 0, run
    warnings = [line for line in run.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2, run.stderr
    assert any("'broken'" in w for w in warnings) and any("'silent'" in w for w in warnings)
    [ran] = [e["data"] for e in run.events if e["kind"] == "tool_run"]
    assert ran["name"] == "time.get_current_time" and ran["ok"] is True
    assert ran["result"]["timezone"] == "Asia/Tokyo"
    assert ran["result"]["datetime"].endswith("+09:00")
    prompt = next(e for e in run.events if e["kind"] == "model_request")["data"]["messages"][0]
    assert "time.get_current_time(" in prompt["content"]  # offered to the Coder
    markdown = (Path(run.summary["run_dir"]) / "timeline.md").read_text(encoding="utf-8")
    assert "### Ran `time.get_current_time`: ok" in markdown and "Asia/Tokyo" in markdown


def test_mcp_tools_lists_one_servers_tools(cli: CliFn, mcp_env: dict[str, str]) -> None:
    listed = cli("mcp", "tools", "time", "--json", env=mcp_env)
    assert listed.returncode == 0, listed
    tools = {t["name"]: t for t in json.loads(listed.stdout)}
    assert sorted(tools) == ["time.convert_time", "time.get_current_time"]
    assert "timezone" in tools["time.get_current_time"]["input_schema"]["properties"]
    plain = cli("mcp", "tools", "time", env=mcp_env)
    assert plain.stdout.startswith("time.") and "\t" in plain.stdout
    started = time.monotonic()
    silent = cli("mcp", "tools", "silent", env=mcp_env)
    assert time.monotonic() - started < 30
    assert silent.returncode == 1 and "Traceback" not in silent.stderr
    assert silent.stderr.startswith("autoagent: error: MCP server 'silent' is not available")
    assert cli("mcp", "tools", "nothere", env=mcp_env).returncode == 6


def test_two_hundred_mcp_tools_do_not_flood_the_prompt(run_task: RunTask, cli: CliFn,
                                                       isolated: Path) -> None:
    """A project's .mcp.json server with 201 tools: the Coder's prompt lists at most
    prompt_tools_limit of them, the one the task needs among them."""
    server = Path(__file__).parent / "support" / "many_tools_server.py"
    (isolated / ".mcp.json").write_text(json.dumps(
        {"mcpServers": {"many": {"command": sys.executable, "args": [str(server)]}}}))
    trusted = cli("mcp", "trust")  # a project's file starts nothing until trusted
    assert trusted.returncode == 0, trusted
    run = run_task("mcp_many", "Convert 100 Celsius degrees to Fahrenheit",
                   env={"AUTOAGENT_PROMPT_TOOLS_LIMIT": "5"})
    assert run.returncode == 0, run
    request = next(e for e in run.events if e["kind"] == "model_request")
    system = request["data"]["messages"][0]
    listed = [line for line in system["content"].splitlines()
              if line.startswith("- many.")]
    assert 1 <= len(listed) <= 5, listed
    assert listed[0].startswith("- many.celsius_to_fahrenheit(celsius: number)")
    assert "more tools not listed" in system["content"]
    [ran] = [e["data"] for e in run.events if e["kind"] == "tool_run"]
    assert ran["ok"] is True and ran["result"] == {"result": 212}  # its structured content
