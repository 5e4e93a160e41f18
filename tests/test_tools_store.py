"""The filesystem tool store: versions, the original's layout, RELIABILITY items 10-14."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoagent_core.errors import InvalidNameError, NotFoundError, UsageError
from autoagent_plugins.fs_tools.store import FilesystemToolStore
from fixtures.tools import AuditRecorder

ADD_V1 = "def add(a: int, b: int) -> int:\n    \"\"\"Add two numbers.\"\"\"\n    return a + b\n"
ADD_V2 = "def add(a: int, b: int = 0) -> int:\n    return int(a) + int(b)\n"


def _manifest(store: FilesystemToolStore) -> dict:
    return json.loads(store.manifest_path.read_text())


# ----------------------------------------------------------------------- versions
def test_save_versions_and_schema(tool_store: FilesystemToolStore) -> None:
    first = tool_store.save("add", ADD_V1)
    assert (first.version, first.description) == (1, "Add two numbers.")
    assert first.parameters == {"type": "object", "required": ["a", "b"],
                                "properties": {"a": {"type": "integer"},
                                               "b": {"type": "integer"}}}
    assert tool_store.save("add", ADD_V1).version == 1  # identical code: no new version
    second = tool_store.save("add", ADD_V2, "Adds")
    assert second.version == 2 and second.parameters["required"] == ["a"]
    assert second.parameters["properties"]["b"]["default"] == 0
    data = _manifest(tool_store)
    assert data["schema_version"] == 1
    entry = data["tools"]["add"]
    for key in ("name", "description", "parameters", "version", "created_at", "updated_at",
                "sha256", "runs", "failures", "last_error", "last_run"):
        assert key in entry
    assert entry["created_at"].endswith("Z") and entry["created_at"] == first.created_at
    assert tool_store.code_path("add").read_text() == ADD_V2
    assert [s.version for s in tool_store.history("add")] == [1, 2]
    assert tool_store.get("add", 1).code == ADD_V1


def test_rollback_delete_and_run_statistics(tool_store: FilesystemToolStore) -> None:
    tool_store.save("add", ADD_V1)
    tool_store.save("add", ADD_V2)
    spec = tool_store.rollback("add", 1)
    assert spec.version == 3 and tool_store.get("add").code == ADD_V1
    tool_store.record_run("add", False, "key: 'x'")
    tool_store.record_run("add", True)
    current = tool_store.get("add").spec
    assert (current.runs, current.failures, current.last_error) == (2, 1, None)
    tool_store.delete("add")
    assert tool_store.list_tools() == []
    with pytest.raises(NotFoundError):
        tool_store.get("add")
    with pytest.raises(NotFoundError):
        tool_store.delete("add")


@pytest.mark.parametrize("code, needle", [
    ("def other():\n    return 1\n", "must define a top-level function named 'add'"),
    ("def add(:\n", "does not parse (line 1"),
    ("", "empty"),
    ("def add():\n    return '" + "x" * 300 + "'\n", "more than the limit of 200"),
])
def test_invalid_code_is_refused_before_touching_disk(tmp_path: Path, code: str,
                                                      needle: str) -> None:
    store = FilesystemToolStore(tmp_path / "tools", max_chars=200)
    with pytest.raises(UsageError, match=r".") as info:
        store.save("add", code)
    assert needle in str(info.value)
    assert not (tmp_path / "tools").exists()


def test_dropped_file_is_registered_and_hand_edits_become_versions(
        tool_store: FilesystemToolStore) -> None:
    tool_store.directory.mkdir()
    (tool_store.directory / "mul.py").write_text("def mul(x: float, y: float):\n    return x*y\n")
    (tool_store.directory / "helpers.py").write_text(
        "import math\ndef _private():\n    pass\ndef root(x: float):\n    return math.sqrt(x)\n")
    (tool_store.directory / "notes.py").write_text("X = 1\n")
    specs = {s.name: s for s in tool_store.list_tools()}
    assert set(specs) == {"mul", "helpers"}  # notes.py defines no function: not a tool
    assert specs["helpers"].signature() == "helpers(x: number)"
    (tool_store.directory / "mul.py").write_text("def mul(x: float, y: float = 1.0):\n"
                                                 "    return x*y\n")
    assert tool_store.get("mul").spec.version == 2
    assert "y: float)" in tool_store.get("mul", 1).code


def test_original_manifest_is_read_tolerantly(tool_store: FilesystemToolStore) -> None:
    tool_store.directory.mkdir()
    (tool_store.directory / "greet.py").write_text("def greet(args):\n    return 'hi'\n")
    tool_store.manifest_path.write_text(json.dumps({
        "greet": {"name": "greet", "description": "Says hi", "created_at": "2025-10-26",
                  "stats": {"calls": 3, "errors": 1, "last_error": "boom"}},
        "../evil": {"name": "../evil"},
    }))
    (spec,) = tool_store.list_tools()
    assert (spec.name, spec.version, spec.description, spec.runs) == ("greet", 1, "Says hi", 3)
    assert tool_store.save("greet", "def greet(args):\n    return 'hello'\n").version == 2
    assert tool_store.get("greet", 1).code == "def greet(args):\n    return 'hi'\n"
    assert _manifest(tool_store)["schema_version"] == 1


def test_listing_a_thousand_tools_reads_the_manifest_not_the_files(
        tmp_path: Path, fs_audit: AuditRecorder) -> None:
    store = FilesystemToolStore(tmp_path / "tools", fsync=False)
    store.directory.mkdir()
    for i in range(1000):
        (store.directory / f"tool_{i}.py").write_text(f"def tool_{i}(x: int):\n    return x\n")
    assert len(store.list_tools()) == 1000  # registers them once
    fresh = FilesystemToolStore(tmp_path / "tools")
    with fs_audit:
        assert len(fresh.list_tools()) == 1000
    opened = [args[0] for event, args in fs_audit.events if event == "open"]
    assert [Path(str(p)).name for p in opened] == ["manifest.json"], opened[:5]


# ----------------------------------------------------------------------- item 10
WRITER_CODES = [f"def t(x: int = {i}):\n    return x + {i}\n" for i in range(40)]


def test_kill_9_while_saving_leaves_a_manifest_equal_to_a_written_version(
        tmp_path: Path) -> None:
    """200 trials: fork a writer, kill -9 it at a random moment, check the store."""
    directory = tmp_path / "tools"
    written = {__import__("hashlib").sha256(c.encode()).hexdigest() for c in WRITER_CODES}
    rng = random.Random(1234)
    started = time.monotonic()
    for trial in range(200):
        pid = os.fork()
        if pid == 0:  # the writer: save versions as fast as it can until killed
            try:
                store = FilesystemToolStore(directory)
                for i in range(10_000):
                    store.save("t", WRITER_CODES[(trial + i) % len(WRITER_CODES)])
                    store.save(f"n{trial % 5}", f"def n{trial % 5}():\n    return {i}\n")
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not (directory / "manifest.json").exists():
            continue
        data = json.loads((directory / "manifest.json").read_text())  # must parse
        if "t" in data["tools"]:
            assert data["tools"]["t"]["sha256"] in written
        store = FilesystemToolStore(directory)
        for spec in store.list_tools():
            tool = store.get(spec.name)
            assert __import__("hashlib").sha256(tool.code.encode()).hexdigest() == spec.sha256
    assert not list(directory.glob("manifest.json.corrupt-*"))
    assert time.monotonic() - started < 60


# ----------------------------------------------------------------------- item 11
ADDER = """
import sys
from pathlib import Path
from autoagent_plugins.fs_tools.store import FilesystemToolStore
store = FilesystemToolStore(Path(sys.argv[1]))
worker = int(sys.argv[2])
for i in range(50):
    name = f"w{worker}_t{i}"
    store.save(name, f"def {name}():\\n    return {i}\\n")
"""


def test_eight_processes_adding_fifty_tools_each_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "tools"
    procs = [subprocess.Popen([sys.executable, "-c", ADDER, str(directory), str(w)])
             for w in range(8)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    tools = json.loads((directory / "manifest.json").read_text())["tools"]
    assert len(tools) == 400
    assert len(FilesystemToolStore(directory).list_tools()) == 400


# ----------------------------------------------------------------------- item 12
def test_stale_temp_files_are_cleaned_and_a_live_writers_kept(
        tool_store: FilesystemToolStore) -> None:
    tool_store.directory.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tool_store.directory / f".manifest.json.{int(dead.stdout)}.0123abcd.tmp"
    live = tool_store.directory / f".manifest.json.{os.getpid()}.89abcdef.tmp"
    stale.write_text("{half")
    live.write_text("{half")
    tool_store.save("add", ADD_V1)
    assert not stale.exists()
    assert live.exists()


# ----------------------------------------------------------------------- item 13
@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong shape"])
def test_corrupt_manifest_is_reported_set_aside_and_rebuilt(
        tool_store: FilesystemToolStore, capsys: pytest.CaptureFixture[str],
        damage: str) -> None:
    tool_store.save("add", ADD_V1)
    tool_store.save("add", ADD_V2)
    tool_store.save("mul", "def mul(a, b):\n    return a * b\n")
    text = tool_store.manifest_path.read_text()
    broken = {"garbage": "\x00not json", "truncated": text[: len(text) // 2],
              "wrong shape": "[1, 2, 3]"}[damage]
    tool_store.manifest_path.write_text(broken)
    fresh = FilesystemToolStore(tool_store.directory)
    specs = {s.name: s for s in fresh.list_tools()}
    assert set(specs) == {"add", "mul"}
    assert specs["add"].version == 2  # versions come back from the history files
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and "manifest.json" in warning[0] and "set aside" in warning[0]
    (aside,) = tool_store.directory.glob("manifest.json.corrupt-*")
    assert aside.read_text() == broken
    assert _manifest(fresh)["tools"]["add"]["version"] == 2


# ----------------------------------------------------------------------- item 14
HOSTILE = ["../x", "/etc/passwd", "a/b", "a\\b", "..", "", "a\x00b", "x" * 300, "class",
           "import", "аdd", "ａdd", "add.py", " add", "-rf"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_before_any_filesystem_call(
        tool_store: FilesystemToolStore, fs_audit: AuditRecorder, name: str) -> None:
    calls = [
        lambda: tool_store.save(name, f"def {name}():\n    return 1\n"),
        lambda: tool_store.get(name), lambda: tool_store.get(name, 1),
        lambda: tool_store.history(name), lambda: tool_store.rollback(name, 1),
        lambda: tool_store.delete(name), lambda: tool_store.record_run(name, True),
        lambda: tool_store.code_path(name),
    ]
    for call in calls:
        with fs_audit, pytest.raises(InvalidNameError):
            call()
        assert fs_audit.events == [], (name, fs_audit.events)
    assert not tool_store.directory.exists()


def test_symlinks_leading_outside_are_refused(tool_store: FilesystemToolStore,
                                              tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("def leak():\n    return 'secret'\n")
    tool_store.save("add", ADD_V1)
    (tool_store.directory / "leak.py").symlink_to(secret)
    assert [s.name for s in tool_store.list_tools()] == ["add"]
    assert "outside" in capsys.readouterr().err
    with pytest.raises(InvalidNameError, match="outside"):
        tool_store.get("leak")
    with pytest.raises(InvalidNameError, match="outside"):
        tool_store.code_path("leak")
    outside_dir = tmp_path / "elsewhere"
    outside_dir.mkdir()
    (tool_store.directory / ".versions" / "mul").symlink_to(outside_dir)
    with pytest.raises(InvalidNameError, match="outside"):
        tool_store.save("mul", "def mul(a, b):\n    return a * b\n")
    assert list(outside_dir.iterdir()) == []
