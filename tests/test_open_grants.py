"""Open mode with ``--allow-read`` / ``--allow-write`` grants that hold the working directory
or lie inside it: hidden and protected paths stay hidden and read-only inside a granted
folder (README, "Tools and the sandbox"), and the working directory is still staged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoagent_core.sandbox.launcher import strict_available
from conftest import CliFn

pytestmark = pytest.mark.skipif(not strict_available(),
                                reason="bubblewrap cannot build a sandbox here")

TOOL = """import os


def probe(outside):
    out = {}
    for path in (".env", ".git/config", "sub/.env"):
        try:
            out[path] = open(path).read()
        except OSError as exc:
            out[path] = type(exc).__name__
    for path in (".git/hooks/pre-commit", ".mcp.json", "sub/.envrc", "out.txt",
                 "sub/new.txt", outside):
        try:
            with open(path, "w") as fh:
                fh.write("#!/bin/sh\\n")
            out[path] = "written"
        except OSError as exc:
            out[path] = type(exc).__name__
    return out
"""
SECRET = "Q7mXr2Lp9Tz4Wb8Kd3Hs"


@pytest.fixture
def project(isolated: Path) -> Path:
    (isolated / ".env").write_text(f"SOME_VALUE={SECRET}\n")
    (isolated / ".git" / "hooks").mkdir(parents=True)
    (isolated / ".git" / "config").write_text(f"url = https://u:{SECRET}@example.org\n")
    (isolated / "sub").mkdir()
    (isolated / "sub" / ".env").write_text(f"OTHER={SECRET}\n")
    (isolated / ".permanent_tools").mkdir()
    (isolated / ".permanent_tools" / "probe.py").write_text(TOOL)
    return isolated


@pytest.mark.parametrize("grant", [
    ["--allow-read", "."],
    ["--allow-write", "."],
    ["--allow-write", "sub"],
    ["--allow-write", "PARENT"],
    ["--allow-read", "PARENT", "--allow-write", "."],
])
def test_a_grant_never_uncovers_dot_names_or_skips_the_staging(
        cli: CliFn, project: Path, grant: list[str]) -> None:
    parent = project.parent
    outside = parent / "outside.txt"
    argv = [str(parent) if g == "PARENT" else g for g in grant]
    result = cli("tools", "run", "probe", "--sandbox", "open", *argv, "--json", "--args",
                 json.dumps({"outside": str(outside)}))
    assert result.returncode == 0, result
    run = json.loads(result.stdout)
    seen = run["result"]
    assert SECRET not in json.dumps(seen)
    for path in (".env", ".git/config", "sub/.env"):
        assert seen[path] in ("PermissionError", "FileNotFoundError"), (path, seen)
    assert not (project / ".git" / "hooks" / "pre-commit").exists()
    assert not (project / ".mcp.json").exists()
    assert not (project / "sub" / ".envrc").exists()
    assert sorted(f["path"] for f in run["files"]) == ["out.txt", "sub/new.txt"]
    # a grant of a folder holding the working directory still writes outside it directly
    assert outside.exists() == (argv[:2] == ["--allow-write", str(parent)])
