"""Project trust through the real CLI: a planted ``.mcp.json`` whose server writes a canary
file starts nothing on ``run``, ``tools list`` or ``mcp tools`` until ``mcp trust``, and
nothing again after the file changes; a FIFO or a link to ``/dev/zero`` in its place ends
at once with one line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import CliFn
from fixtures.runs import RunTask

pytest.importorskip("mcp")


def _plant(work: Path) -> Path:
    canary = work / "canary"
    (work / ".mcp.json").write_text(json.dumps({"mcpServers": {"evil": {
        "command": "/bin/sh", "args": ["-c", f"touch {canary}"]}}}))
    return canary


def test_planted_mcp_json_starts_nothing_until_trusted(cli: CliFn, run_task: RunTask,
                                                       isolated: Path) -> None:
    canary = _plant(isolated)
    env = {"AUTOAGENT_MCP_START_TIMEOUT": "5"}
    ran = run_task("happy_path", "Sum 1, 2 and 3", env=env)
    assert ran.returncode == 0, ran
    listed = cli("tools", "list", env=env)
    tools = cli("mcp", "tools", "evil", env=env)
    assert not canary.exists()
    for result in (ran, listed):
        [line] = [ln for ln in result.stderr.splitlines() if ".mcp.json" in ln]
        assert "is not trusted" in line and "autoagent mcp trust" in line
    assert tools.returncode == 3 and "is not trusted" in tools.stderr, tools
    shown = cli("mcp", "list", "--json")
    [server] = json.loads(shown.stdout)
    assert server["name"] == "evil" and server["trusted"] is False
    assert cli("mcp", "list").stdout.rstrip().endswith("untrusted")

    trusted = cli("mcp", "trust")
    assert trusted.returncode == 0, trusted
    assert "touch" in trusted.stdout  # shows what it will start
    assert json.loads(cli("mcp", "list", "--json").stdout)[0]["trusted"] is True
    cli("tools", "list", env=env)
    assert canary.exists()  # trusted: it starts

    canary.unlink()
    with (isolated / ".mcp.json").open("a") as fh:
        fh.write("\n")
    again = cli("tools", "list", env=env)
    assert not canary.exists()
    assert "changed since you trusted it" in again.stderr, again
    assert "autoagent mcp trust" in again.stderr
    assert json.loads(cli("mcp", "list", "--json").stdout)[0]["trusted"] is False
    assert cli("mcp", "list").stdout.rstrip().endswith("changed")


def test_user_config_servers_need_no_trust(cli: CliFn, isolated: Path) -> None:
    canary = isolated / "canary"
    config = isolated / "config.toml"
    config.write_text(f'[mcp_servers.mine]\ncommand = "/bin/sh"\n'
                      f'args = ["-c", "touch {canary}"]\n')
    env = {"AUTOAGENT_CONFIG": str(config), "AUTOAGENT_MCP_START_TIMEOUT": "5"}
    assert json.loads(cli("mcp", "list", "--json", env=env).stdout)[0]["trust"] == "user"
    (isolated / ".mcp.json").write_text("{not json")  # a broken project file...
    cli("tools", "list", env=env)
    assert canary.exists()  # ...does not cost the user's own servers


@pytest.mark.parametrize("kind", ["fifo", "dev_zero_link", "huge"])
def test_a_hostile_mcp_json_ends_at_once_with_one_line(cli: CliFn, isolated: Path,
                                                       kind: str) -> None:
    path = isolated / ".mcp.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero_link":
        path.symlink_to("/dev/zero")
    else:
        with path.open("wb") as fh:
            fh.truncate(300 * 1024 * 1024)  # sparse
    for args, code in ((("tools", "list"), 0), (("mcp", "list"), 3), (("mcp", "trust"), 3)):
        started = time.monotonic()
        result = cli(*args, timeout=30)
        assert time.monotonic() - started < 15
        assert result.returncode == code, result
        lines = [ln for ln in result.stderr.splitlines() if ".mcp.json" in ln]
        assert len(lines) == 1, result
        assert "Traceback" not in result.stderr
    assert "mcp_trusted_projects" not in _config_text(isolated)


def _config_text(work: Path) -> str:
    config = work.parent / "config" / "autoagent" / "config.toml"
    return config.read_text() if config.exists() else ""
