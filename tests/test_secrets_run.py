"""Keys pasted into a task, end to end: a real ``autoagent run`` against the fake Cloudflare
server (which records every request). The keys go to the secret store before anything is
saved or sent; no request, session, run file, export or output byte holds a value; the
tool that declares the secrets gets them (it returns their hashes), a tool that does not
declare them sees none, and a tool with a key written into its code is refused."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from fixtures.runs import RunTask
from support.fake_cloudflare import CfReply, FakeCloudflare
from support.secret_keys import fake_keys, task_with_keys

KEYS = fake_keys()
LEAKY = "lk_live_Q8v2Lm5Xr7Tz1Nc4Wb9Kd3Hs6Gp0Jf2Ya"  # set with `secrets set` beforehand

DECLARING_TOOL = """# /// script
# [tool.autoagent]
# secrets = [{names}]
# ///
import hashlib
import os
import sys


def key_hashes():
    print("serpapi is", os.environ["SERPAPI_KEY"], file=sys.stderr)
    return {{"hashes": {{n: hashlib.sha256(os.environ[n].encode()).hexdigest()
                        for n in [{names}]}},
            "echo": os.environ["GITHUB_TOKEN"]}}
"""

PEEKING_TOOL = """import os


def peek_env():
    with open("/proc/self/environ", "rb") as fh:
        raw = fh.read().decode(errors="replace")
    return {"names": sorted(os.environ), "proc_names": sorted(
        item.split("=", 1)[0] for item in raw.split("\\x00") if item)}
"""

LEAKY_TOOL = f'''import requests


def leaky_call():
    return requests.get("https://example.org", headers={{"X-Token": "{LEAKY}"}}).status_code
'''


def coder_reply() -> str:
    names = ", ".join(f'"{n}"' for n in KEYS)
    actions = [
        {"type": "create_tool", "name": "key_hashes", "description": "Hash each key",
         "code": DECLARING_TOOL.format(names=names)},
        {"type": "run_tool", "name": "key_hashes", "args": {}},
        {"type": "create_tool", "name": "peek_env", "description": "What the env holds",
         "code": PEEKING_TOOL},
        {"type": "run_tool", "name": "peek_env", "args": {}},
        {"type": "create_tool", "name": "leaky_call", "description": "Calls with a key",
         "code": LEAKY_TOOL},
    ]
    return json.dumps({"thought": "hash the keys the user gave", "actions": actions})


SUPERVISOR = json.dumps({"thought": "the hashes are there", "decision": "done",
                         "feedback": "", "tips": [], "answer": "every key works"})


def _every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _leaks(text: str) -> list[str]:
    return [name for name, value in {**KEYS, "LEAKY": LEAKY}.items() if value in text]


def _tool_run(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    runs = [e["data"] for e in events if e["kind"] == "tool_run" and e["data"]["name"] == name]
    assert runs, [e["kind"] for e in events]
    return runs[-1]


def test_keys_in_a_task_reach_the_declaring_tool_and_nothing_else(
        cli: Any, run_task: RunTask, fake_cloudflare: FakeCloudflare,
        cf_env: dict[str, str], isolated: Path) -> None:
    kept = cli("secrets", "set", "LEAKY_SERVICE_TOKEN", input=LEAKY + "\n")
    assert kept.returncode == 0, kept
    fake_cloudflare.replies.append(CfReply(coder_reply()))
    fake_cloudflare.replies.append(CfReply(SUPERVISOR))

    run = run_task(None, "--backend", "cloudflare", "-q", task_with_keys(KEYS), env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "every key works"

    # the user is told, in one line, which names the keys are kept under
    told = [line for line in run.stderr.splitlines() if "secret(s)" in line]
    assert len(told) == 1, run.stderr
    for name in KEYS:
        assert f"${name}" in told[0]
    # the session's task holds the names, not the values
    task = run.session["task"]
    assert all(f"${name}" in task for name in KEYS), task
    assert "aqui tienes una api key de serpapi" in task

    # the declaring tool got every value (its hashes match), printed one to its stderr
    # and returned another: both come back masked with the secret's name
    events = run.events
    hashes = _tool_run(events, "key_hashes")
    assert hashes["ok"], hashes
    assert hashes["result"]["hashes"] == {
        n: hashlib.sha256(v.encode()).hexdigest() for n, v in KEYS.items()}
    assert hashes["result"]["echo"] == "[REDACTED:GITHUB_TOKEN]"
    assert "[REDACTED:SERPAPI_KEY]" in hashes["stderr"]

    created = [r for t in run.session["turns"] for r in t["results"]
               if r.get("name") == "key_hashes" and r["type"] == "create_tool"]
    assert "at each call it gets the secret(s) OPENAI_API_KEY, ELEVENLABS_API_KEY" in \
        created[0]["message"]
    declared = [e["data"]["secrets"] for e in events if e["kind"] == "tool_created"]
    assert declared[0] == list(KEYS) and declared[1] == []

    # the tool that declares nothing sees none of them, in os.environ or /proc
    peek = _tool_run(events, "peek_env")
    assert peek["ok"], peek
    for name in [*KEYS, "LEAKY_SERVICE_TOKEN"]:
        assert name not in peek["result"]["names"]
        assert name not in peek["result"]["proc_names"]

    # a key written into a tool's code is refused with a format error, and not saved
    refused = [r for t in run.session["turns"] for r in t["results"]
               if r.get("name") == "leaky_call"]
    assert refused and refused[0]["ok"] is False
    assert refused[0]["error"]["class"] == "format_error"
    assert 'os.environ["LEAKY_SERVICE_TOKEN"]' in refused[0]["error"]["message"]
    assert not (isolated / ".permanent_tools" / "leaky_call.py").exists()

    # the model saw names only: the Coder's prompt lists them and says how to read them
    bodies = [json.dumps(r.body) + json.dumps(r.headers) for r in fake_cloudflare.requests]
    assert len(bodies) == 2
    assert all(not _leaks(b) for b in bodies), [_leaks(b) for b in bodies]
    assert "SERPAPI_KEY" in bodies[0] and "os.environ" in bodies[0]
    assert "[REDACTED:GITHUB_TOKEN]" in bodies[1]  # the Supervisor read the masked result

    # an export, `sessions show` and `tools show` hold no value either
    session_id = run.summary["session_id"]
    exported = cli("sessions", "export", session_id, "-o", str(isolated / "export.json"))
    assert exported.returncode == 0, exported
    shown = cli("sessions", "show", session_id)
    tools = cli("tools", "show", "key_hashes")
    assert shown.returncode == 0 and tools.returncode == 0
    outputs = run.stdout + run.stderr + exported.stdout + exported.stderr + shown.stdout + \
        shown.stderr + tools.stdout + tools.stderr
    assert not _leaks(outputs)
    written = [p for p in _every_file(isolated) if _leaks(p.read_text(errors="replace"))]
    assert written == []

    # every value is in the store, readable by the user alone
    store = isolated.parent / "config" / "autoagent" / "secrets.json"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    kept_values = {n: e["value"] for n, e in json.loads(store.read_text())["secrets"].items()}
    assert kept_values == {**KEYS, "LEAKY_SERVICE_TOKEN": LEAKY}
    listed = cli("secrets", "list", "--json")
    assert listed.returncode == 0, listed
    rows = {r["name"]: r for r in json.loads(listed.stdout)["secrets"]}
    assert rows["SERPAPI_KEY"]["declared_by"] == ["key_hashes"]
    assert not _leaks(listed.stdout + listed.stderr)


def test_the_same_key_in_a_follow_up_instruction_keeps_its_name(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    key = KEYS["SERPAPI_KEY"]
    done = json.dumps({"thought": "", "actions": [{"type": "final_answer", "answer": "ok"}]})
    for _ in range(2):
        fake_cloudflare.replies.append(CfReply(done))
        fake_cloudflare.replies.append(CfReply(SUPERVISOR))
    first = run_task(None, "--backend", "cloudflare", "--session-id", "s1",
                     "-q", f"api key de serpapi: {key}", env=cf_env)
    assert first.returncode == 0, first
    again = run_task(None, "--backend", "cloudflare", "--session-id", "s1",
                     "-q", f"usa otra vez la clave {key}", env=cf_env)
    assert again.returncode == 0, again
    assert "already in the secret store" in again.stderr
    assert "$SERPAPI_KEY" in json.dumps(again.session["instructions"])
    bodies = json.dumps([r.body for r in fake_cloudflare.requests])
    assert key not in bodies and "$SERPAPI_KEY" in bodies
