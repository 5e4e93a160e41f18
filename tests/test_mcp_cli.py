"""``autoagent mcp add/list/remove`` through the real CLI, with a secret in --env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_add_list_remove_masks_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "AUTOAGENT_CONFIG": str(tmp_path / "config.toml")}
    cli = [sys.executable, "-m", "autoagent_core", "mcp"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)

    added = run("add", "svc", "--env", "API_TOKEN=s3cr3t-value-42", "--", "some-server", "-x")
    assert added.returncode == 0, added.stderr
    listed = run("list", "--json")
    assert "s3cr3t-value-42" not in listed.stdout + listed.stderr
    [server] = json.loads(listed.stdout)
    assert server["command"] == "some-server" and server["args"] == ["-x"]
    assert server["env"] == {"API_TOKEN": "(set, hidden)"}
    assert (tmp_path / "config.toml").stat().st_mode & 0o077 == 0
    assert run("remove", "svc").returncode == 0
    assert json.loads(run("list", "--json").stdout) == []
    assert run("remove", "svc").returncode == 6
