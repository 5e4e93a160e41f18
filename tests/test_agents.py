"""The filesystem agent registry and ``autoagent agents ...``, on real files."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.errors import InvalidNameError, NotFoundError, StorageError
from autoagent_core.layers import open_agent_registry
from autoagent_core.types import AgentSpec
from autoagent_plugins.fs_agents.store import FileAgentRegistry

WORKER = Path(__file__).parent / "support" / "session_worker.py"


def analyst() -> AgentSpec:
    return AgentSpec(name="data_analyst", role="Analyses tabular data",
                     instructions="You are a careful analyst.\nAnswer with numbers.")


def test_save_get_list_use_delete(registry: FileAgentRegistry, agents_dir: Path) -> None:
    registry.save(analyst())
    registry.save(AgentSpec(name="ux-designer", role="Designs", instructions="Be kind",
                            created_by="supervisor"))
    assert registry.get("data_analyst").instructions.endswith("Answer with numbers.")
    assert [a.name for a in registry.list_agents()] == ["data_analyst", "ux-designer"]
    registry.record_use("data_analyst")
    registry.record_use("data_analyst")
    assert registry.get("data_analyst").uses == 2
    manifest = json.loads((agents_dir / "manifest.json").read_text())
    assert manifest["agents"]["data_analyst"]["uses"] == 2
    assert manifest["agents"]["ux-designer"]["created_by"] == "supervisor"
    document = json.loads((agents_dir / "data_analyst.json").read_text())
    # exactly the original's keys, so that its AgentDefinition(**data) still reads it
    assert set(document) == {"name", "role", "system_prompt", "capabilities", "created_at",
                             "created_by", "temperature", "max_tokens", "model"}
    assert document["system_prompt"].endswith("Answer with numbers.")
    registry.delete("ux-designer")
    assert [a.name for a in registry.list_agents()] == ["data_analyst"]
    assert "ux-designer" not in json.loads((agents_dir / "manifest.json").read_text())["agents"]
    with pytest.raises(NotFoundError):
        registry.get("ux-designer")
    with pytest.raises(NotFoundError):
        registry.delete("ux-designer")
    with pytest.raises(NotFoundError):
        registry.record_use("nobody")


def test_original_autoagent_agent_files_load_and_keep_their_fields(
        agents_dir: Path) -> None:
    agents_dir.mkdir()
    (agents_dir / "search_agent.json").write_text(json.dumps({
        "name": "search_agent", "role": "Web search with fallbacks",
        "system_prompt": "You search the web.", "capabilities": ["web_search"],
        "created_at": "2025-10-26T01:54:38.300275Z", "created_by": "coder",
        "temperature": 0.7, "max_tokens": 1500, "model": None}))
    (agents_dir / "manifest.json").write_text(json.dumps({"agents": {"search_agent": {
        "path": "C:\\x\\search_agent.json", "role": "Web search with fallbacks",
        "created_at": "2025-10-26T01:54:38.300275Z", "created_by": "coder",
        "capabilities": ["web_search"]}}}))
    registry = FileAgentRegistry(agents_dir)
    agent = registry.get("search_agent")
    assert (agent.instructions, agent.uses) == ("You search the web.", 0)
    registry.record_use("search_agent")
    document = json.loads((agents_dir / "search_agent.json").read_text())
    assert document["capabilities"] == ["web_search"] and document["temperature"] == 0.7
    assert "uses" not in document  # the original rejects unknown keys: kept in the manifest
    row = json.loads((agents_dir / "manifest.json").read_text())["agents"]["search_agent"]
    assert row["capabilities"] == ["web_search"] and row["uses"] == 1
    assert registry.get("search_agent").uses == 1


def test_corrupt_agent_file_is_set_aside_and_the_rest_listed(
        registry: FileAgentRegistry, agents_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    registry.save(analyst())
    registry.save(AgentSpec(name="broken", role="r", instructions="i"))
    (agents_dir / "broken.json").write_text('{"name": "broken", "instr')
    assert [a.name for a in registry.list_agents()] == ["data_analyst"]
    assert "broken.json" in capsys.readouterr().err
    assert list(agents_dir.glob("broken.json.corrupt-*"))
    (agents_dir / "manifest.json").write_text("garbage")
    registry.record_use("data_analyst")  # the manifest is rebuilt from the files
    assert json.loads((agents_dir / "manifest.json").read_text())["agents"]["data_analyst"]
    (agents_dir / "typed.json").write_text('{"role": "r", "instructions": 5}')
    with pytest.raises(StorageError, match=r"typed\.json.*instructions"):
        registry.get("typed")


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/b", "a\\b", "..", "", "a\x00b",
                                 "x" * 300, "class", "dаta"])
def test_hostile_agent_names_are_refused(registry: FileAgentRegistry, isolated: Path,
                                         bad: str) -> None:
    for call in (registry.get, registry.delete, registry.record_use,
                 lambda n: registry.save(AgentSpec(name=n, role="r", instructions="i"))):
        with pytest.raises(InvalidNameError):
            call(bad)
    assert not (isolated / ".agents").exists()


def test_parallel_uses_are_all_counted(registry: FileAgentRegistry, tmp_path: Path) -> None:
    """Item 11 for agents: 4 processes x 25 record_use at once: 100 uses."""
    registry.save(analyst())
    start = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(WORKER), "use", str(registry.directory),
                               "data_analyst", "25", str(start)], stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    time.sleep(0.3)
    start.write_text("go")
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert registry.get("data_analyst").uses == 100


def test_registry_redacts_secrets(monkeypatch: pytest.MonkeyPatch, agents_dir: Path) -> None:
    canary = "agentcanary-5d4c3b2a19"
    monkeypatch.setenv("CLOUDFLARE_AUTH_TOKEN", canary)
    from autoagent_core.config import load_settings

    registry = open_agent_registry(load_settings())
    registry.save(AgentSpec(name="leaky", role=f"uses {canary}", instructions=canary))
    assert all(canary not in p.read_text() for p in agents_dir.glob("*.json"))


def test_agents_commands(registry: FileAgentRegistry, cli: Any, tmp_path: Path) -> None:
    registry.save(analyst())
    registry.record_use("data_analyst")
    listed = cli("agents", "list")
    assert listed.returncode == 0, listed
    assert listed.stdout == "data_analyst\t1\tcoder\tAnalyses tabular data\n"
    as_json = json.loads(cli("agents", "list", "--json").stdout)
    assert as_json[0]["name"] == "data_analyst" and as_json[0]["uses"] == 1
    shown = cli("agents", "show", "data_analyst")
    assert "role: Analyses tabular data" in shown.stdout
    assert "  Answer with numbers." in shown.stdout
    assert json.loads(cli("agents", "show", "data_analyst", "--json").stdout)["uses"] == 1
    assert cli("agents", "show", "nobody").returncode == 6
    assert cli("agents", "show", "../etc").returncode == 2
    refused = cli("agents", "delete", "data_analyst")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    deleted = cli("agents", "delete", "data_analyst", "--yes")
    assert deleted.returncode == 0 and "deleted agent data_analyst" in deleted.stdout
    empty = cli("agents", "list")
    assert empty.stdout == "" and "no agents" in empty.stderr
    other = FileAgentRegistry(tmp_path / "other")
    other.save(AgentSpec(name="elsewhere", role="r", instructions="i"))
    assert cli("agents", "list", "--agents-dir", str(tmp_path / "other")).stdout.startswith(
        "elsewhere\t")
