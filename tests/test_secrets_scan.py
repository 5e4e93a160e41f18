"""``autoagent secrets scan [--fix]`` on a copy of the original AutoAgent's folders, whose
user pasted six keys that ended up in sessions, runs and two tools of the library."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.config import load_settings
from autoagent_core.layers import open_session_store, open_tool_store
from autoagent_core.tools.script_metadata import read_metadata
from fixtures.original import ORIGINAL_DIR

FIXTURE = ORIGINAL_DIR
FOLDERS = (".permanent_tools", ".agents", ".sessions", ".runs")
# the fakes that replaced the user's keys: 64 hex digits (SerpAPI) and sk_ + 48 hex
KEY_RE = re.compile(r"(?<![0-9a-f])(?:[0-9a-f]{64}|sk_[0-9a-f]{48})(?![0-9a-f])")

pytestmark = pytest.mark.skipif(not FIXTURE.is_dir(), reason="the fixture folder is absent")


def _copy(work: Path) -> None:
    for name in FOLDERS:
        shutil.copytree(FIXTURE / name, work / name)
    for path in work.rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _files(work: Path) -> list[Path]:
    return [p for name in FOLDERS for p in (work / name).rglob("*") if p.is_file()]


def _fixture_keys() -> set[str]:
    return {k for p in FIXTURE.rglob("*") if p.is_file()
            for k in KEY_RE.findall(p.read_text(errors="replace"))}


def _shape(data: Any) -> Any:
    """The keys of a session file, nested one level (what must survive a fix)."""
    return {k: sorted(v) if isinstance(v, dict) else type(v).__name__
            for k, v in data.items()}


def test_scan_lists_places_and_fix_moves_every_key_into_the_store(
        cli: Any, isolated: Path) -> None:
    _copy(isolated)
    keys = _fixture_keys()
    assert len(keys) == 6
    sessions_before = {p.name: _shape(json.loads(p.read_text()))
                       for p in (isolated / ".sessions").glob("*.json")}

    scan = cli("secrets", "scan", "--json")
    assert scan.returncode == 1, scan  # found, not fixed
    report = json.loads(scan.stdout)
    assert report["found"] == 6  # the six keys and nothing else (no digest, no voice id)
    places = {(p["file"], p["field"]) for p in report["places"]}
    assert (".permanent_tools/search_serpapi.py", "line 11") in places
    assert any(f.startswith(".sessions/") and "metadata.task" in fld for f, fld in places)
    assert any(f.startswith(".runs/") and f.endswith("events.jsonl") for f, _ in places)
    plain = cli("secrets", "scan")
    assert plain.returncode == 1
    assert "scan --fix" in plain.stdout
    for output in (scan.stdout + scan.stderr, plain.stdout + plain.stderr):
        assert not [k for k in keys if k in output]

    fixed = cli("secrets", "scan", "--fix")
    assert fixed.returncode == 0, fixed
    assert not [k for k in keys if k in fixed.stdout + fixed.stderr]

    # no key is left in any file of the copy
    left = [str(p) for p in _files(isolated) if any(k in p.read_text(errors="replace")
                                                     for k in keys)]
    assert left == []
    # every value is in the store, under names from the words around it
    store = json.loads((isolated.parent / "config" / "autoagent" / "secrets.json").read_text())
    kept = {n: e["value"] for n, e in store["secrets"].items()}
    assert set(kept.values()) == keys
    assert "SERPAPI_KEY" in kept and "ELEVENLABS_API_KEY" in kept

    # the two tools that hard-coded keys are new versions that read the environment
    settings = load_settings()
    tools = open_tool_store(settings)
    for name, secret in (("search_serpapi", "SERPAPI_KEY"),
                         ("poem_with_tts", "ELEVENLABS_API_KEY")):
        history = tools.history(name)
        assert len(history) >= 2, history
        code = tools.get(name).code
        declared = read_metadata(code).secrets
        assert len(declared) == 1 and declared[0].startswith(secret), code
        assert f'os.environ["{declared[0]}"]' in code
        assert "import os" in code
        compile(code, name, "exec")
    assert kept[read_metadata(tools.get("search_serpapi").code).secrets[0]] in keys

    # every session still loads, and keeps every key it had
    sessions = open_session_store(settings)
    for path in (isolated / ".sessions").glob("*.json"):
        data = json.loads(path.read_text())
        assert _shape(data) == sessions_before[path.name], path.name
        if path.name != "index.json":
            assert sessions.load(path.stem).id == path.stem
    rewritten = json.loads((isolated / ".sessions" / "20251025_210621.json").read_text())
    assert "$SERPAPI_KEY" in rewritten["metadata"]["task"]
    shown = cli("sessions", "show", "20251025_210621")
    assert shown.returncode == 0, shown

    again = cli("secrets", "scan")
    assert again.returncode == 0, again
    assert "no key-shaped values found" in again.stdout
