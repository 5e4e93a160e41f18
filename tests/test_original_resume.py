"""Working with the original AutoAgent's data, and leaving it readable by the original:
a resumed original session (the model gets its history; the file still loads with the
original's loader), its agents in both layouts, its one-dict tools through ``tools run``
and MCP, its ``MCP_STDIO`` servers and ``AGENT_TASK``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from conftest import CliFn
from fixtures.original import ORIGINAL, original_load_agents, original_load_session
from fixtures.runs import script_path
from support.fake_cloudflare import CfReply, FakeCloudflare

SID = "20251025_224716"  # active, 10 turns, 21 messages, Supervisor tips
HELPER = {"name": "session_helper", "role": "Helps in one session",
          "system_prompt": "You help.", "capabilities": ["help"],
          "created_at": "2025-10-26T01:50:00Z", "created_by": "coder", "temperature": 0.7,
          "max_tokens": 1500, "model": None}
TIME_SERVER = str(Path(sys.executable).with_name("mcp-server-time"))


def _words(text: str) -> str:
    return " ".join(text.split())


def test_a_resumed_original_session_gives_the_model_its_history_and_stays_loadable(
        cli: CliFn, original_copy: Path, fake_cloudflare: FakeCloudflare,
        cf_env: dict[str, str]) -> None:
    layout = original_copy / ".agents" / SID  # the original's last layout, this session's
    layout.mkdir()
    (layout / "session_helper.json").write_text(json.dumps(HELPER))
    (layout / "manifest.json").write_text(json.dumps({"agents": {"session_helper": {
        "path": "C:\\x\\session_helper.json", "role": HELPER["role"],
        "created_at": HELPER["created_at"], "created_by": "coder", "capabilities": ["help"]}}}))
    for item in json.loads(Path(script_path("happy_path")).read_text()):
        fake_cloudflare.replies.append(CfReply(item["text"]))
    result = cli("run", "--resume", "--session-id", SID, "--backend", "cloudflare", "--json",
                 env=cf_env)
    assert result.returncode == 0, str(result)
    assert json.loads(result.stdout)["turns"] == 11

    assert ORIGINAL is not None
    original = json.loads((ORIGINAL / ".sessions" / f"{SID}.json").read_text())
    coder_request = fake_cloudflare.requests[0].body
    sent = _words("\n".join(str(m["content"]) for m in coder_request["messages"]))
    assert "session_helper" in sent  # the session's own agents are offered
    coder_steps = [m["content"].removeprefix("[Coder]").strip()
                   for m in original["transcript"] if m["content"].startswith("[Coder]")]
    assert _words(coder_steps[-1]) in sent  # the last steps in full
    assert _words(coder_steps[1])[:150] in sent  # older ones summarised
    supervisor = [m["content"] for m in original["transcript"]
                  if m["content"].startswith("[Supervisor]")][-1]
    for tip in supervisor.split("Acciones requeridas:")[1].strip().splitlines()[:5]:
        assert _words(tip.split(". ", 1)[1]) in sent

    loaded = original_load_session(original_copy / ".sessions" / f"{SID}.json")
    meta = loaded["metadata"]
    assert (meta.session_id, meta.total_turns, meta.status) == (SID, 11, "completed")
    assert meta.task == original["metadata"]["task"]
    assert loaded["transcript"][:21] == original["transcript"]  # kept as it was
    assert loaded["transcript"][21]["content"].startswith("[Coder] ")
    assert loaded["tools_used"] == ["get_casona_nueva_address", "sum_list"]
    assert loaded["custom_data"]["tool_stats"]["sum_list"]["calls"] == 1
    assert set(original_load_agents(original_copy / ".agents")) == {
        "FactCheckerAgent", "factual_programming_agent", "search_agent",
        "search_hackathon_agent", "verificador_factual"}
    assert original_load_agents(layout)["session_helper"].role == HELPER["role"]
    shown = cli("sessions", "show", SID)
    assert shown.stdout.startswith(f"session {SID}  status completed  turns 11 "), str(shown)


def test_agents_of_another_session_are_not_offered(original_copy: Path) -> None:
    from autoagent_plugins.fs_agents.store import FileAgentRegistry

    layout = original_copy / ".agents" / SID
    layout.mkdir()
    (layout / "session_helper.json").write_text(json.dumps(HELPER))
    (original_copy / ".agents" / "global").mkdir()
    (original_copy / ".agents" / "global" / "everywhere.json").write_text(
        json.dumps({**HELPER, "name": "everywhere"}))
    registry = FileAgentRegistry(original_copy / ".agents")
    every = {a.name for a in registry.list_agents()}
    assert {"session_helper", "everywhere", "search_agent"} <= every  # agents list
    registry.offer_session("20251026_111616")
    offered = {a.name for a in registry.list_agents()}
    assert "session_helper" not in offered and {"everywhere", "search_agent"} <= offered
    registry.offer_session(SID)
    assert registry.get("session_helper").instructions == "You help."


def test_consulting_an_original_agent_keeps_its_file_readable_by_the_original(
        cli: CliFn, original_copy: Path, tmp_path: Path) -> None:
    script = tmp_path / "consult.json"
    script.write_text(json.dumps([
        {"agent": "coder", "text": json.dumps({"thought": "ask", "actions": [
            {"type": "ask_agent", "name": "search_agent", "message": "Find it"}]})},
        {"agent": "search_agent", "text": json.dumps({"thought": "known", "actions": [
            {"type": "final_answer", "answer": "It is here."}]})},
        {"agent": "supervisor", "text": json.dumps({"thought": "ok", "decision": "done",
                                                    "feedback": "", "tips": [],
                                                    "answer": "It is here."})}]))
    agent_file = original_copy / ".agents" / "search_agent.json"
    before = agent_file.read_bytes()
    result = cli("run", "Find it", "--script", str(script), "--json")
    assert result.returncode == 0, str(result)
    assert agent_file.read_bytes() == before
    original_load_agents(original_copy / ".agents")
    assert json.loads(cli("agents", "show", "search_agent", "--json").stdout)["uses"] == 1


def test_an_original_tool_runs_with_its_one_dict_and_its_failure_exits_1(
        cli: CliFn, original_copy: Path) -> None:
    tools = original_copy / ".permanent_tools"
    mcp_entry = {"path": None, "source": "mcp", "server": "eleven", "version": 1,
                 "description": "Speak", "input_schema": {"type": "object"},
                 "created_at": "2025-10-26T14:20:00Z", "updated_at": "2025-10-26T14:20:00Z"}
    document = json.loads((tools / "manifest.json").read_text())
    document["tools"]["eleven_speak"] = mcp_entry  # the original's MCP-backed entry
    (tools / "manifest.json").write_text(json.dumps(document))
    done = cli("tools", "run", "read_file", "--args", '{"path": "/etc/os-release"}')
    assert done.returncode == 0, str(done)
    result = json.loads(done.stdout)
    assert result["ok"] is True and "ID=" in result["content"]
    failed = cli("tools", "run", "read_file", "--args", '{"path": "/no/such/file"}')
    assert failed.returncode == 1, str(failed)
    assert "Archivo no encontrado: /no/such/file" in failed.stderr
    assert "Traceback" not in failed.stderr

    manifest = json.loads((tools / "manifest.json").read_text())["tools"]
    assert {k: manifest["eleven_speak"][k] for k in mcp_entry} == mcp_entry  # kept whole
    entry = manifest["read_file"]
    assert entry["path"] == str(tools / "read_file.py")  # true on this machine
    assert (entry["version"], entry["created_at"]) == (1, "2025-10-26T00:49:01.863438Z")
    stats = entry["tool_stats"]
    assert (stats["calls"], stats["ok"], stats["errors"]) == (2, 1, 1)
    assert stats["last_error"] and 0 <= stats["score"] <= 1
    # every other entry keeps the original's fields and dates
    assert {"path", "version", "created_at", "updated_at"} <= set(manifest["scrape_quotes"])
    assert manifest["scrape_quotes"]["version"] == 14
    assert manifest["scrape_quotes"]["updated_at"] == "2025-10-26T16:59:20.748384Z"
    assert manifest["scrape_quotes"]["path"].startswith("C:\\Users\\")  # not saved yet
    assert not (tools / ".versions" / "scrape_quotes").exists()
    # a tool whose sessions recorded telemetry continues it
    assert cli("tools", "run", "run_command", "--args", '{"command": "true"}').returncode == 0
    entry = json.loads((tools / "manifest.json").read_text())["tools"]["run_command"]
    assert (entry["tool_stats"]["calls"], entry["tool_stats"]["ok"]) == (3, 3)


async def _call_over_mcp(original_copy: Path) -> None:
    from mcp import Client, Implementation, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable, cwd=str(original_copy),
        args=["-m", "autoagent_core", "mcp", "serve", "--sandbox", "open"])
    async with Client(params, client_info=Implementation(name="original", version="1"),
                      read_timeout_seconds=60) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        schema = listed["read_file"].input_schema
        assert "path" in schema["properties"] and schema["additionalProperties"] is True
        done = await client.call_tool("read_file", {"path": "/etc/os-release"})
        assert not done.is_error, done
        assert "ID=" in done.content[0].text
        failed = await client.call_tool("read_file", {"path": "/no/such/file"})
        assert failed.is_error and "Archivo no encontrado" in failed.content[0].text


def test_an_original_tool_through_mcp(original_copy: Path) -> None:
    pytest.importorskip("mcp")
    anyio.run(_call_over_mcp, original_copy)


def _stdio(allow: list[str]) -> str:
    return json.dumps([{"name": "clock", "cmd": TIME_SERVER, "args": [], "env": {},
                        "allow_list": allow, "timeout": 30}])


def test_mcp_stdio_servers_with_their_allow_list_and_server_colon_tool_names(
        cli: CliFn, isolated: Path) -> None:
    pytest.importorskip("mcp")
    env = {"MCP_STDIO": _stdio(["get_*"])}
    listed = [t["name"] for t in json.loads(cli("tools", "list", "--json", env=env).stdout)]
    assert "clock.get_current_time" in listed and "clock.convert_time" not in listed
    done = cli("tools", "run", "clock:get_current_time", "--args", '{"timezone": "UTC"}',
               env=env)
    assert done.returncode == 0, str(done)
    assert json.loads(done.stdout)["timezone"] == "UTC"
    refused = cli("tools", "run", "clock:convert_time", "--args", "{}", env=env)
    assert refused.returncode == 1 and "allow_list" in refused.stderr
    bad = cli("mcp", "list", env={"MCP_STDIO": "[{"})
    assert bad.returncode == 3 and bad.stderr.startswith("autoagent: error: MCP_STDIO")
    slow = json.dumps([{"name": "clock", "cmd": TIME_SERVER, "timeout": "soon"}])
    refused = cli("mcp", "list", env={"MCP_STDIO": slow})
    assert refused.returncode == 3 and "'timeout' must be a number" in refused.stderr


def test_mcp_stdio_from_a_project_env_counts_as_a_project_server(
        cli: CliFn, isolated: Path) -> None:
    (isolated / ".env").write_text(f"MCP_STDIO='{_stdio([])}'\n")
    listed: list[dict[str, Any]] = json.loads(cli("mcp", "list", "--json").stdout)
    assert [(s["name"], s["origin"]) for s in listed] == [("clock", str(isolated / ".env"))]
    assert listed[0]["trust"] == "untrusted"
    mine = json.loads(cli("mcp", "list", "--json", env={"MCP_STDIO": _stdio([])}).stdout)
    assert mine[0]["origin"] == "MCP_STDIO (env MCP_STDIO)"


def test_mcp_stdio_in_a_project_env_starts_nothing_until_that_file_is_trusted(
        cli: CliFn, isolated: Path) -> None:
    """A cloned project's .env cannot start a command: its MCP_STDIO servers wait for
    'autoagent mcp trust .env', like a .mcp.json's, and a change untrusts the file."""
    pytest.importorskip("mcp")
    canary = isolated.parent / "started"
    planted = [{"name": "clock", "cmd": sys.executable,
                "args": ["-c", f"open(\"{canary}\", \"w\").write(\"ran\")"]}]
    (isolated / ".env").write_text(f"MCP_STDIO='{json.dumps(planted)}'\n")
    listed = cli("tools", "list", "--json")
    assert listed.returncode == 0, str(listed)
    assert not canary.exists()
    assert "mcp trust" in listed.stderr and ".env" in listed.stderr
    (isolated / ".env").write_text(f"MCP_STDIO='{_stdio([])}'\n")
    trusted = cli("mcp", "trust", ".env")
    assert trusted.returncode == 0, str(trusted)
    assert "clock" in trusted.stdout
    names = [t["name"] for t in json.loads(cli("tools", "list", "--json").stdout)]
    assert "clock.get_current_time" in names
    (isolated / ".env").write_text(f"MCP_STDIO='{json.dumps(planted)}'\n")
    changed = cli("tools", "list", "--json")
    assert "changed since you trusted it" in changed.stderr
    assert not canary.exists()


def test_agent_task_is_the_task_when_none_is_given(cli: CliFn, isolated: Path) -> None:
    (isolated / ".env").write_text("AGENT_TASK=Sum 1, 2 and 3\n")
    result = cli("run", "--script", script_path("happy_path"), "--json")
    assert result.returncode == 0, str(result)
    sid = json.loads(result.stdout)["session_id"]
    assert json.loads(cli("sessions", "show", sid, "--json").stdout)["task"] == "Sum 1, 2 and 3"
    (isolated / ".env").unlink()
    missing = cli("run", "--script", script_path("happy_path"), input="")
    assert missing.returncode == 2, str(missing)


def test_the_original_telemetry_ranks_tools_in_the_coders_prompt(
        cli: CliFn, original_copy: Path) -> None:
    """Session 20251026_132201 scored scrape_all_quotes 0.8 and scrape_quotes 0.6."""
    result = cli("run", "Also count the quotes", "--session-id", "20251026_132201",
                 "--script", script_path("happy_path"), "--json")
    assert result.returncode == 0, str(result)
    run_dir = original_copy / json.loads(result.stdout)["run_dir"]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    request = next(e["data"] for e in events if e["kind"] == "model_request"
                   and e["data"]["agent"] == "coder")
    system = request["messages"][0]["content"]
    lines = [line for line in system.splitlines() if line.startswith("- scrape")]
    assert lines[0].startswith("- scrape_all_quotes(") and "[score 0.80]" in lines[0]
    assert lines[1].startswith("- scrape_quotes(") and "[v14] [score 0.60]" in lines[1]
    saved = original_load_session(original_copy / ".sessions" / "20251026_132201.json")
    stats = saved["custom_data"]["tool_stats"]
    assert stats["sum_list"]["calls"] == 1 and stats["scrape_all_quotes"]["score"] == 0.8


def test_run_on_a_terminal_asks_for_the_task_when_none_is_given(isolated: Path) -> None:
    import os
    import pty
    import subprocess
    import threading

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "run", "--script", script_path("happy_path"),
         "--json"], stdin=slave, stderr=slave, stdout=subprocess.PIPE, cwd=isolated)
    os.close(slave)
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    os.write(master, b"Sum 1, 2 and 3\n")
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0, (out, bytes(seen))
    assert b"Task: " in seen
    summary = json.loads(out)
    assert summary["answer"] == "6"
    session = json.loads((isolated / ".sessions" / f"{summary['session_id']}.json").read_text())
    assert session["task"] == "Sum 1, 2 and 3"
