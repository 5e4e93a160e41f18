"""The ``keyring`` secret store (extra ``keyring``), driven through the real ``keyring``
package with a file-backed keyring backend: values live in the keyring only, the config
folder holds names, and everything else (injection, redaction, ``auto``) works the same."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("keyring")

VALUE = "kr_7Hq2Zp9Lx4Vc1Nb8Md3Ks6Gt0Jw5Ry"
TOOL = '''# /// script
# [tool.autoagent]
# secrets = ["MAPS_API_KEY"]
# ///
import hashlib
import os


def geo(place):
    return {"sha": hashlib.sha256(os.environ["MAPS_API_KEY"].encode()).hexdigest(),
            "echo": os.environ["MAPS_API_KEY"]}
'''


@pytest.fixture
def keyring_env(isolated: Path) -> dict[str, str]:
    tests = Path(__file__).resolve().parent
    return {"AUTOAGENT_SECRET_STORE": "auto",
            "PYTHON_KEYRING_BACKEND": "support.file_keyring.FileKeyring",
            "FAKE_KEYRING_FILE": str(isolated.parent / "keyring.json"),
            "PYTHONPATH": str(tests)}


def test_auto_picks_a_working_keyring(cli: Any, isolated: Path,
                                      keyring_env: dict[str, str]) -> None:
    kept = cli("secrets", "set", "MAPS_API_KEY", input=VALUE, env=keyring_env)
    assert kept.returncode == 0, kept
    assert "OS keyring (FileKeyring)" in kept.stderr
    keyring_file = json.loads(Path(keyring_env["FAKE_KEYRING_FILE"]).read_text())
    assert keyring_file == {"autoagent/MAPS_API_KEY": VALUE}
    config = isolated.parent / "config" / "autoagent"
    assert not (config / "secrets.json").exists()
    assert json.loads((config / "secret-names.json").read_text())["names"] == ["MAPS_API_KEY"]
    for path in config.rglob("*"):
        assert not path.is_file() or VALUE not in path.read_text()

    (isolated / ".permanent_tools").mkdir()
    (isolated / ".permanent_tools" / "geo.py").write_text(TOOL)
    ran = cli("tools", "run", "geo", "--args", '{"place": "Providencia"}', env=keyring_env)
    assert ran.returncode == 0, ran
    result = json.loads(ran.stdout)
    assert result == {"sha": hashlib.sha256(VALUE.encode()).hexdigest(),
                      "echo": "[REDACTED:MAPS_API_KEY]"}

    listed = json.loads(cli("secrets", "list", "--json", env=keyring_env).stdout)
    assert listed["store"] == "keyring"
    assert listed["secrets"][0]["declared_by"] == ["geo"]
    assert cli("secrets", "rm", "MAPS_API_KEY", env=keyring_env).returncode == 0
    assert json.loads(Path(keyring_env["FAKE_KEYRING_FILE"]).read_text()) == {}


def test_without_a_working_keyring_auto_uses_the_file(cli: Any, isolated: Path) -> None:
    env = {"AUTOAGENT_SECRET_STORE": "auto",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    kept = cli("secrets", "set", "MAPS_API_KEY", input=VALUE, env=env)
    assert kept.returncode == 0, kept
    assert (isolated.parent / "config" / "autoagent" / "secrets.json").is_file()
    forced = cli("secrets", "list", env={**env, "AUTOAGENT_SECRET_STORE": "keyring"})
    assert forced.returncode == 0, forced  # the fail backend lists no names
    assert "MAPS_API_KEY" not in forced.stdout
