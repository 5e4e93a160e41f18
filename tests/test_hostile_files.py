"""Hostile files and names through the CLI: FIFOs, huge files, symlinks and hard links in
the tool folder, hostile manifests, import files, and ids named like a store's own files.
Each ends in one clear line, bounded in time, with nothing lost."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import CliFn

ADD = "def add(a, b):\n    return a + b\n"


def tools_dir(work: Path) -> Path:
    path = work / ".permanent_tools"
    path.mkdir(exist_ok=True)
    return path


def assert_one_line_error(result: Any, code: int) -> None:
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("autoagent: error:"), result


# --------------------------------------------------------------------------- the tool folder


@pytest.mark.timeout(60)
def test_fifo_in_the_tool_folder_is_skipped(cli: CliFn, isolated: Path) -> None:
    folder = tools_dir(isolated)
    (folder / "add.py").write_text(ADD)
    os.mkfifo(folder / "x.py")
    listed = cli("tools", "list", "--json", timeout=30)
    assert listed.returncode == 0, listed
    assert [t["name"] for t in json.loads(listed.stdout)] == ["add"]
    assert "x.py" in listed.stderr and "not a regular file" in listed.stderr
    ran = cli("tools", "run", "x", "--args", "{}", timeout=30)
    assert ran.returncode == 6, ran
    assert "Traceback" not in ran.stderr
    ok = cli("tools", "run", "add", "--args", '{"a": 2, "b": 3}', timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout) == 5, ok


@pytest.mark.timeout(60)
def test_huge_tool_file_is_not_read_whole(cli: CliFn, isolated: Path) -> None:
    folder = tools_dir(isolated)
    big = folder / "big.py"
    with open(big, "wb") as fh:  # 300 MB, sparse: cheap to make, slow to read whole
        fh.write(b"def big():\n    return 1\n#")
        fh.truncate(300 * 1024 * 1024)
    (folder / "add.py").write_text(ADD)
    listed = cli("tools", "list", "--json", timeout=30)
    assert listed.returncode == 0, listed
    assert [t["name"] for t in json.loads(listed.stdout)] == ["add"]
    assert "big.py" in listed.stderr and "larger than" in listed.stderr


@pytest.mark.timeout(60)
def test_links_out_of_the_store_are_refused(cli: CliFn, isolated: Path,
                                            tmp_path: Path) -> None:
    folder = tools_dir(isolated)
    secret = tmp_path / "secret.py"
    secret.write_text("def stolen():\n    return 'SECRET-CANARY'\n")
    (folder / "stolen.py").symlink_to(secret)
    os.link(secret, folder / "linked.py")
    (folder / "add.py").write_text(ADD)
    listed = cli("tools", "list", "--json", timeout=30)
    assert listed.returncode == 0, listed
    assert [t["name"] for t in json.loads(listed.stdout)] == ["add"]
    assert "stolen.py" in listed.stderr and "linked.py" in listed.stderr
    assert "hard link" in listed.stderr
    shown = cli("tools", "show", "linked", timeout=30)
    assert shown.returncode == 6 and "SECRET-CANARY" not in shown.stdout, shown
    manifest = (folder / "manifest.json").read_text()
    assert "stolen" not in manifest and "linked" not in manifest


@pytest.mark.timeout(60)
@pytest.mark.parametrize("parameters", [
    "x", [1], {"properties": [1, 2]}, {"properties": {"a": 5}, "required": 7},
    {"properties": {"a": {"type": ["x", {"y": 1}]}}, "required": [None, {"a": 1}]},
])
def test_hostile_manifest_parameters(cli: CliFn, isolated: Path, parameters: Any) -> None:
    folder = tools_dir(isolated)
    (folder / "add.py").write_text(ADD)
    assert cli("tools", "list").returncode == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["tools"]["add"]["parameters"] = parameters
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for args in (["tools", "list"], ["tools", "list", "--json"], ["tools", "show", "add"]):
        result = cli(*args, timeout=30)
        assert result.returncode == 0, result
        assert "Traceback" not in result.stderr, result
    ran = cli("tools", "run", "add", "--args", '{"a": 1, "b": 2}', timeout=60)
    assert ran.returncode == 0 and json.loads(ran.stdout) == 3, ran


@pytest.mark.timeout(60)
def test_deeply_nested_manifest_is_set_aside_and_rebuilt(cli: CliFn, isolated: Path) -> None:
    folder = tools_dir(isolated)
    (folder / "add.py").write_text(ADD)
    (folder / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    listed = cli("tools", "list", "--json", timeout=30)
    assert listed.returncode == 0, listed
    assert "Traceback" not in listed.stderr
    assert [t["name"] for t in json.loads(listed.stdout)] == ["add"]
    warnings = [line for line in listed.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "nested deeper" in warnings[0], listed
    assert list(folder.glob("manifest.json.corrupt-*"))


# --------------------------------------------------------------------------- reserved names


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sid", ["index", "INDEX", "index.journal"])
def test_session_id_named_like_the_index_is_refused(cli: CliFn, isolated: Path,
                                                    sid: str) -> None:
    result = cli("run", "--backend", "scripted", "--script", os.devnull, "--session-id", sid,
                 "task", timeout=30)
    assert_one_line_error(result, 2)
    assert "reserved" in result.stderr
    assert not (isolated / ".sessions").exists()  # refused before anything is touched


@pytest.mark.timeout(60)
def test_agent_named_like_the_manifest_is_refused(cli: CliFn, isolated: Path) -> None:
    result = cli("agents", "show", "manifest", timeout=30)
    assert_one_line_error(result, 2)
    assert "reserved" in result.stderr


# --------------------------------------------------------------------------- imports


def session_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": 1, "id": "imported-1", "task": "t", "status": "completed",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "turns": [{"index": 1, "messages": [], "actions": [],
                   "results": [{"ok": True, "result": 1.5}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 2}}],
    }
    doc.update(changes)
    return doc


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("text", "needle"), [
    ("[" * 100_000 + "]" * 100_000, "nested deeper"),
    (json.dumps(session_doc()).replace("1.5", "NaN"), "turns[0].results[0].result"),
    (json.dumps(session_doc()).replace("1.5", "1e999"), "out of range"),
    (json.dumps(session_doc()).replace('"prompt_tokens": 1', '"prompt_tokens": 1' + "0" * 30),
     "turns[0].usage.prompt_tokens"),
    (json.dumps(session_doc(id="index")), "reserved"),
    ('{"schema_version": ' + "9" * 5000 + "}", "digits"),
])
def test_hostile_import_file(cli: CliFn, isolated: Path, tmp_path: Path, text: str,
                             needle: str) -> None:
    path = tmp_path / "import.json"
    path.write_text(text)
    result = cli("sessions", "import", str(path), timeout=30)
    assert_one_line_error(result, 2)
    assert needle in result.stderr, result
    assert not list(isolated.glob(".sessions/*.json"))  # nothing written


@pytest.mark.timeout(60)
def test_import_of_a_fifo(cli: CliFn, isolated: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "import.json"
    os.mkfifo(fifo)
    result = cli("sessions", "import", str(fifo), timeout=30)
    assert_one_line_error(result, 2)
    assert "not a regular file" in result.stderr


@pytest.mark.timeout(60)
def test_import_with_lone_surrogates_is_cleaned(cli: CliFn, isolated: Path,
                                                tmp_path: Path) -> None:
    path = tmp_path / "import.json"
    path.write_text(json.dumps(session_doc(task="bad \ud800 text")))
    result = cli("sessions", "import", str(path), timeout=30)
    assert result.returncode == 0, result
    stored = json.loads((isolated / ".sessions" / "imported-1.json").read_bytes().decode())
    assert stored["task"] == "bad \ufffd text"
    shown = cli("sessions", "show", "imported-1", timeout=30)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown
