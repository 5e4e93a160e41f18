"""``autoagent tools`` through the real command line, as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CliFn

BROKEN = "def parse_price(text: str) -> float:\n    return float(text.strip('$')) / 0\n"
FIXED = ("def parse_price(text: str) -> float:\n    \"\"\"Parse '$12.50'.\"\"\"\n"
         "    return float(text.strip('$'))\n")


def _tools_json(cli: CliFn) -> dict[str, dict]:
    result = cli("tools", "list", "--json")
    assert result.returncode == 0, result
    return {t["name"]: t for t in json.loads(result.stdout)}


def test_dropped_file_is_listed_runs_and_its_fix_keeps_history(cli: CliFn,
                                                                isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "parse_price.py").write_text(BROKEN)

    listed = cli("tools", "list")
    assert listed.returncode == 0, listed
    assert listed.stdout.startswith("parse_price\tv1\tparse_price(text: string)\t0")

    failed = cli("tools", "run", "parse_price", "--args", '{"text": "$3"}')
    assert failed.returncode == 1, failed
    assert failed.stdout == ""
    assert "[zero_division]" in failed.stderr
    assert 'File "parse_price.py", line 2, in parse_price' in failed.stderr
    assert "suggestion:" in failed.stderr

    (tools / "parse_price.py").write_text(FIXED)  # the fixed version, saved over the file
    ok = cli("tools", "run", "parse_price", "--args", '{"text": "$12.50"}')
    assert ok.returncode == 0, ok
    assert json.loads(ok.stdout) == 12.5

    entry = _tools_json(cli)["parse_price"]
    assert (entry["version"], entry["runs"], entry["failures"]) == (2, 2, 1)
    assert entry["description"] == "Parse '$12.50'."

    history = cli("tools", "history", "parse_price")
    assert [line.split("\t")[0] for line in history.stdout.splitlines()] == ["v1", "v2 *"]
    old = cli("tools", "show", "parse_price", "--version", "1")
    assert old.stdout == BROKEN

    back = cli("tools", "rollback", "parse_price", "1")
    assert back.returncode == 0 and "v3" in back.stdout, back
    assert cli("tools", "show", "parse_price").stdout == BROKEN


def test_delete_needs_yes_in_a_script(cli: CliFn, isolated: Path) -> None:
    tools = isolated / "lib"
    tools.mkdir()
    (tools / "one.py").write_text("def one():\n    return 1\n")
    refused = cli("tools", "delete", "one", "--tools-dir", str(tools))
    assert refused.returncode == 2 and "--yes" in refused.stderr, refused
    assert (tools / "one.py").exists()
    done = cli("tools", "delete", "one", "--yes", "--tools-dir", str(tools))
    assert done.returncode == 0, done
    assert not (tools / "one.py").exists()
    assert cli("tools", "list", "--json", "--tools-dir", str(tools)).stdout.strip() == "[]"
    missing = cli("tools", "delete", "one", "--yes", "--tools-dir", str(tools))
    assert missing.returncode == 6 and "no tool 'one'" in missing.stderr


def test_run_reports_bad_arguments_and_missing_modules(cli: CliFn, isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    # PyYAML may be installed (distributed, in the test group, depends on it): the tool
    # raises what ``import yaml`` raises where it is not
    (tools / "load.py").write_text(
        "def load(text: str):\n"
        "    raise ModuleNotFoundError(\"No module named 'yaml'\", name='yaml')\n")
    (tools / "echo.py").write_text("def echo(text: str):\n    return text\n")
    bad_json = cli("tools", "run", "load", "--args", "{text: 1}")
    assert bad_json.returncode == 2 and "--args is not valid JSON" in bad_json.stderr
    not_object = cli("tools", "run", "load", "--args", "[1]")
    assert not_object.returncode == 2 and "JSON object" in not_object.stderr
    missing = cli("tools", "run", "load", "--args", '{"text": "a: 1"}')
    assert missing.returncode == 1
    assert "[missing_module]" in missing.stderr
    assert "json" in missing.stderr and "PyYAML" in missing.stderr
    mismatch = cli("tools", "run", "echo", "--args", '{"txt": "a"}')
    assert "[signature_mismatch]" in mismatch.stderr and "echo(text: str)" in mismatch.stderr
    hostile = cli("tools", "show", "../etc/passwd")
    assert hostile.returncode == 2 and "invalid tool name" in hostile.stderr


def test_tool_output_goes_to_stderr_and_json_mode_has_everything(cli: CliFn,
                                                                 isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "shout.py").write_text("def shout(word):\n    print('working')\n"
                                    "    return word.upper()\n")
    plain = cli("tools", "run", "shout", "-a", '{"word": "hi"}')
    assert json.loads(plain.stdout) == "HI" and "working" in plain.stderr
    full = cli("tools", "run", "shout", "-a", '{"word": "hi"}', "--json")
    outcome = json.loads(full.stdout)
    assert outcome["ok"] and outcome["result"] == "HI" and outcome["stdout"] == "working\n"


def test_sandbox_refuses_where_it_cannot_be_enforced(cli: CliFn, isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "one.py").write_text("def one():\n    return 1\n")
    before = (tools / "one.py").read_bytes()
    # no working bubblewrap (an explicit path that does not exist, nothing on PATH): exit 9,
    # one line saying why and what to install, and the tool does not run in any mode
    missing = {"PATH": "/nonexistent", "AUTOAGENT_BWRAP": str(isolated / "no-such-bwrap")}
    for extra, mode in ((["--sandbox", "strict"], "strict"), ([], "open"),
                        (["--sandbox", "open"], "open")):
        refused = cli("tools", "run", "one", *extra, env=missing)
        assert refused.returncode == 9, refused
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("autoagent: error: "), refused
        assert f"the {mode} sandbox cannot be enforced" in lines[0]
        assert "apt-get install bubblewrap" in lines[0]
        assert refused.stdout == ""
    env_strict = cli("tools", "run", "one", env={**missing, "DANGEROUS_TOOLS": "0"})
    assert env_strict.returncode == 9 and "strict sandbox" in env_strict.stderr, env_strict
    # a bwrap that cannot create namespaces (here: one that always fails) is refused too
    failing = isolated / "failing-bwrap"
    failing.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\n"
                       "exit 1\n")
    failing.chmod(0o755)
    broken = cli("tools", "run", "one", env={"AUTOAGENT_BWRAP": str(failing)})
    assert broken.returncode == 9, broken
    assert "No permissions to create new namespace" in broken.stderr
    assert "kernel.unprivileged_userns_clone=1" in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1
    assert (tools / "one.py").read_bytes() == before
    opened = cli("tools", "run", "one", "--sandbox", "open")
    assert opened.returncode == 0 and json.loads(opened.stdout) == 1


def test_corrupt_manifest_warns_once_and_lists(cli: CliFn, isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "one.py").write_text("def one():\n    return 1\n")
    (tools / "manifest.json").write_text('{"schema_version": 1, "tools": {')
    listed = cli("tools", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("one\tv1"), listed
    warnings = [ln for ln in listed.stderr.splitlines() if "warning" in ln]
    assert len(warnings) == 1 and "manifest.json" in warnings[0] and "set aside" in warnings[0]
    assert list(tools.glob("manifest.json.corrupt-*"))
