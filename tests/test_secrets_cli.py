"""``autoagent secrets set/list/rm``, a declared secret reaching ``tools run`` (and nothing
else), keys pasted into a batch's tasks or an ``ask`` prompt, as users run them."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from support.fake_cloudflare import CfReply, FakeCloudflare

VALUE = "tok_9Xa2Lq7Vm4Rz8Kc1Wd6Hn3Pb5Gs0Jf"
STORE = Path("config") / "autoagent" / "secrets.json"

DECLARED = '''# /// script
# [tool.autoagent]
# secrets = ["WEATHER_TOKEN"]
# ///
import hashlib
import os


def weather(city):
    token = os.environ["WEATHER_TOKEN"]
    return {"city": city, "sha": hashlib.sha256(token.encode()).hexdigest(), "raw": token}
'''

UNDECLARED = '''import os


def snoop():
    return {"seen": sorted(k for k in os.environ if "TOKEN" in k)}
'''


def _save_tool(work: Path, name: str, code: str) -> None:
    from autoagent_core.config import load_settings
    from autoagent_core.layers import open_tool_store

    open_tool_store(load_settings()).save(name, code, name)


def test_set_list_rm(cli: Any, isolated: Path) -> None:
    kept = cli("secrets", "set", "WEATHER_TOKEN", input=VALUE + "\n")
    assert kept.returncode == 0, kept
    assert VALUE not in kept.stdout + kept.stderr
    store = isolated.parent / STORE
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert json.loads(store.read_text())["secrets"]["WEATHER_TOKEN"]["value"] == VALUE

    _save_tool(isolated, "weather", DECLARED)
    listed = cli("secrets", "list", "--json")
    assert listed.returncode == 0, listed
    data = json.loads(listed.stdout)
    assert data["store"] == "file" and data["location"] == str(store)
    assert data["secrets"] == [{"name": "WEATHER_TOKEN", "kept_in": str(store),
                                "declared_by": ["weather"]}]
    plain = cli("secrets", "list")
    assert "WEATHER_TOKEN" in plain.stdout and "weather" in plain.stdout
    assert VALUE not in listed.stdout + plain.stdout

    removed = cli("secrets", "rm", "WEATHER_TOKEN")
    assert removed.returncode == 0, removed
    assert "WEATHER_TOKEN" not in json.loads(store.read_text())["secrets"]
    # the tool still declares it: listed as missing, with the command that keeps it
    assert "MISSING" in cli("secrets", "list").stdout
    again = cli("secrets", "rm", "WEATHER_TOKEN")
    assert again.returncode == 6
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr


def test_bad_input_is_one_line_and_stores_nothing(cli: Any, isolated: Path) -> None:
    store = isolated.parent / STORE
    # never from the command line, where shell history and ps would keep it
    argv = cli("secrets", "set", "WEATHER_TOKEN", VALUE)
    assert argv.returncode == 2
    assert not store.exists()
    for name, value in (("weather-token", VALUE), ("WEATHER_TOKEN", ""),
                        ("WEATHER_TOKEN", "two\nlines")):
        bad = cli("secrets", "set", name, input=value)
        assert bad.returncode == 2, bad
        assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
    assert not store.exists()


def test_tools_run_gets_only_the_declared_secret_and_prints_it_masked(
        cli: Any, isolated: Path) -> None:
    _save_tool(isolated, "weather", DECLARED)
    _save_tool(isolated, "snoop", UNDECLARED)
    missing = cli("tools", "run", "weather", "--args", '{"city": "Santiago"}')
    assert missing.returncode == 1
    assert "missing_secret" in missing.stdout + missing.stderr
    assert "autoagent secrets set WEATHER_TOKEN" in missing.stdout + missing.stderr

    assert cli("secrets", "set", "WEATHER_TOKEN", input=VALUE).returncode == 0
    ran = cli("tools", "run", "weather", "--args", '{"city": "Santiago"}')
    assert ran.returncode == 0, ran
    result = json.loads(ran.stdout)
    assert result["sha"] == hashlib.sha256(VALUE.encode()).hexdigest()
    assert result["raw"] == "[REDACTED:WEATHER_TOKEN]"
    snooped = cli("tools", "run", "snoop", "--args", "{}")
    assert snooped.returncode == 0, snooped
    assert json.loads(snooped.stdout)["seen"] == []
    for path in isolated.rglob("*"):
        if path.is_file():
            assert VALUE not in path.read_text(errors="replace"), path


def test_a_key_in_a_batch_task_is_stored_before_any_worker_sees_it(
        cli: Any, isolated: Path) -> None:
    key = "72ea74b410770f39b72df97cb81c0cf1506fc767c5385c1aa071b21d011898dd"
    script = isolated / "done.json"
    script.write_text(json.dumps([
        {"agent": "coder", "text": json.dumps(
            {"thought": "", "actions": [{"type": "final_answer", "answer": "ok"}]})},
        {"agent": "supervisor", "text": json.dumps(
            {"thought": "", "decision": "done", "answer": "ok"})}]))
    tasks = isolated / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "news", "task": f"noticias con serpapi, api key: {key}"})
                     + "\n")
    ran = cli("batch", str(tasks), "--script", str(script), "-j", "1")
    assert ran.returncode == 0, ran
    assert "task news held 1 secret(s)" in ran.stderr and "SERPAPI_KEY" in ran.stderr
    row = json.loads((isolated / "tasks.results.jsonl").read_text().splitlines()[0])
    assert row["status"] == "completed", row
    session = json.loads((isolated / ".sessions" / f"{row['session_id']}.json").read_text())
    assert session["task"] == "noticias con serpapi, api key: $SERPAPI_KEY"
    for path in isolated.rglob("*"):
        if path.is_file() and path != tasks:
            assert key not in path.read_text(errors="replace"), path


def test_a_key_in_an_ask_prompt_is_never_sent(cli: Any, fake_cloudflare: FakeCloudflare,
                                             cf_env: dict[str, str]) -> None:
    key = "ghp_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
    fake_cloudflare.replies.append(CfReply("fine"))
    ran = cli("ask", "--backend", "cloudflare", "--no-stream",
              f"is this github token valid? {key}", env=cf_env)
    assert ran.returncode == 0, ran
    assert "the prompt held 1 secret(s)" in ran.stderr
    body = json.dumps(fake_cloudflare.requests[0].body)
    assert key not in body and "$GITHUB_TOKEN" in body


def test_set_reads_a_hidden_prompt_on_a_terminal(isolated: Path) -> None:
    import pty
    import select
    import sys
    import time

    # a child in its own session whose controlling terminal is a pseudo-terminal, as when
    # a person types the command (getpass reads /dev/tty)
    pid, main = pty.fork()
    if pid == 0:  # the child
        try:
            os.chdir(isolated)
            os.execv(sys.executable, [sys.executable, "-m", "autoagent_core", "secrets",
                                      "set", "WEATHER_TOKEN"])
        finally:
            os._exit(127)
    seen = b""
    deadline = time.monotonic() + 60

    def read_until(marker: bytes) -> None:
        nonlocal seen
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(main, 1024)
                except OSError:
                    return

    # the space after the colon comes from getpass, once echo is off: type after it
    read_until(b"Value of WEATHER_TOKEN: ")
    os.write(main, VALUE.encode() + b"\r")
    read_until(b"kept WEATHER_TOKEN")
    _, status = os.waitpid(pid, 0)
    os.close(main)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"Value of WEATHER_TOKEN" in seen
    assert VALUE.encode() not in seen  # not echoed
    store = json.loads((isolated.parent / STORE).read_text())
    assert store["secrets"]["WEATHER_TOKEN"]["value"] == VALUE


STEAL = '''def steal(paths):
    out = {}
    for path in paths:
        try:
            with open(path) as fh:
                out[path] = "read " + str(len(fh.read()))
        except OSError as exc:
            out[path] = type(exc).__name__
    return out
'''


def test_a_tool_cannot_read_the_store(cli: Any, isolated: Path) -> None:
    assert cli("secrets", "set", "WEATHER_TOKEN", input=VALUE).returncode == 0
    store = isolated.parent / STORE
    _save_tool(isolated, "steal", STEAL)
    for mode in ("open", "strict"):
        ran = cli("tools", "run", "steal", "--sandbox", mode, "--args",
                  json.dumps({"paths": [str(store), str(store.parent)]}))
        assert ran.returncode == 0, ran
        got = json.loads(ran.stdout)
        assert not any(v.startswith("read") for v in got.values()), (mode, got)
    # also where AUTOAGENT_CONFIG names a config file in another folder
    other = isolated.parent / "elsewhere"
    other.mkdir()
    env = {"AUTOAGENT_CONFIG": str(other / "config.toml")}
    ran = cli("tools", "run", "steal", "--args", json.dumps({"paths": [str(store)]}), env=env)
    assert ran.returncode == 0, ran
    assert not json.loads(ran.stdout)[str(store)].startswith("read")
    assert not (other / "secrets.json").exists()
