"""Secrets from every source never reach any output of the real CLI: stdout, stderr, the
session (saved and exported), the run folder, the tool manifest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import CliFn

CANARIES = {
    "env_setting": "cfCANARYenvSetting0a1b2c3d4e5f",
    "dotenv_shadowed": "skCANARYdotenvShadowed9f8e7d6c",
    "env_shadowing": "skCANARYenvShadowing5a4b3c2d1e",
    "config": "skCANARYconfigFile1122334455aa",
    "my_service_api_key": "CANARYmyServiceApiKey77889900",
    "foo_token": "CANARYfooToken66554433",
    "x_secret": "CANARYxSecret11aa22bb",
    "db_password": "CANARYdbPw99",
}
ENV = {
    "CLOUDFLARE_AUTH_TOKEN": CANARIES["env_setting"],
    "OPENAI_API_KEY": CANARIES["env_shadowing"],
    "MY_SERVICE_API_KEY": CANARIES["my_service_api_key"],
    "FOO_TOKEN": CANARIES["foo_token"],
    "X_SECRET": CANARIES["x_secret"],
    "DB_PASSWORD": CANARIES["db_password"],
    "HF_HUB_DISABLE_TOKEN": "1",  # too short to be a secret: "1" stays readable
}
ALL = " ".join(CANARIES.values())


def _setup(work: Path) -> Path:
    (work / ".env").write_text(f"OPENAI_API_KEY={CANARIES['dotenv_shadowed']}\n")
    config = work.parent / "config" / "autoagent" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'openai_api_key = "{CANARIES["config"]}"\n')
    leak = f"def leak():\n    print({ALL!r})\n    return {ALL!r}\n"
    boom = f"def boom():\n    raise ValueError({ALL!r})\n"
    script = work / "leak.json"
    script.write_text(json.dumps([
        {"agent": "coder", "text": json.dumps({"thought": f"keys {ALL}", "actions": [
            {"type": "create_tool", "name": "leak", "code": leak},
            {"type": "create_tool", "name": "boom", "code": boom},
            {"type": "run_tool", "name": "leak", "args": {}},
            {"type": "run_tool", "name": "boom", "args": {}}]})},
        {"agent": "supervisor", "text": json.dumps({"decision": "done", "answer": ALL})},
    ]))
    return script


def _grep(canary: str, root: Path) -> str:
    assert root.exists(), root
    proc = subprocess.run(["grep", "-r", "-a", "-l", "--exclude=*.py", canary, str(root)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def test_no_canary_in_any_output_or_file(cli: CliFn, isolated: Path) -> None:
    script = _setup(isolated)
    outputs = []
    run = cli("run", "--json", "--script", str(script), "leak everything", env=ENV)
    outputs.append(run)
    assert run.returncode == 0, run
    session_id = json.loads(run.stdout)["session_id"]
    ok = cli("tools", "run", "leak", env=ENV)
    assert ok.returncode == 0, ok
    assert "[REDACTED]" in ok.stdout and "[REDACTED]" in ok.stderr
    failed = cli("tools", "run", "boom", env=ENV)
    assert failed.returncode == 1, failed
    assert "ValueError" in failed.stderr and "[REDACTED]" in failed.stderr
    as_json = cli("tools", "run", "boom", "--json", env=ENV)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False
    outputs += [ok, failed, as_json,
                cli("tools", "list", "--json", env=ENV),
                cli("sessions", "export", session_id, env=ENV),
                cli("sessions", "export", session_id, "-o", "export.json", env=ENV),
                cli("sessions", "show", session_id, env=ENV),
                cli("runs", "show", "--help", env=ENV)]
    manifest = json.loads((isolated / ".permanent_tools" / "manifest.json").read_text())
    assert "[REDACTED]" in manifest["tools"]["boom"]["last_error"]
    assert (isolated / "export.json").is_file()
    for name, canary in CANARIES.items():
        for result in outputs:
            assert canary not in result.stdout + result.stderr, (name, result)
        for folder in (".sessions", ".runs", ".permanent_tools", "export.json"):
            assert _grep(canary, isolated / folder) == "", (name, folder)
    # the tool's own code keeps the literal it was written with
    assert CANARIES["db_password"] in (isolated / ".permanent_tools" / "leak.py").read_text()
