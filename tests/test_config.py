"""Settings precedence, the original's variables, `config show` and `config set`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from autoagent_core.config import config_path, load_settings
from autoagent_core.errors import ConfigError
from conftest import CliFn

CANARY = "canary-token-7f3a9c2e11"


def test_defaults() -> None:
    s = load_settings()
    assert s.backend == "auto"
    assert s.cf_model == "@cf/openai/gpt-oss-120b"
    assert s.tools_dir == ".permanent_tools"
    assert s.tool_code_max_chars == 200_000
    assert s.dangerous_tools is True
    assert s.max_turns == 10
    assert s.sources["max_turns"] == "default"


def test_precedence_flag_env_dotenv_config_default(isolated: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config_path()
    cfg.parent.mkdir(parents=True)
    cfg.write_text('max_turns = 4\ntool_timeout = 7.5\ncf_model = "@cf/from-config"\n'
                   'tools_dir = "from-config"\n')
    (isolated / ".env").write_text("CF_MODEL=@cf/from-dotenv\nTOOL_STORE_DIR=from-dotenv\n")
    monkeypatch.setenv("TOOL_STORE_DIR", "from-env")
    s = load_settings({"max_turns": None})
    assert (s.max_turns, s.sources["max_turns"]) == (4, "config")
    assert s.tool_timeout == 7.5
    assert (s.cf_model, s.sources["cf_model"]) == ("@cf/from-dotenv", ".env CF_MODEL")
    assert (s.tools_dir, s.sources["tools_dir"]) == ("from-env", "env TOOL_STORE_DIR")
    s = load_settings({"tools_dir": "from-flag", "max_turns": 2})
    assert (s.tools_dir, s.sources["tools_dir"]) == ("from-flag", "option")
    assert s.max_turns == 2


def test_original_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acc")
    monkeypatch.setenv("CLOUDFLARE_AUTH_TOKEN", CANARY)
    monkeypatch.setenv("CF_MODEL", "@cf/meta/llama")
    monkeypatch.setenv("TOOL_STORE_DIR", "tools-here")
    monkeypatch.setenv("TOOL_CODE_MAX_CHARS", "5000")
    monkeypatch.setenv("DANGEROUS_TOOLS", "0")
    s = load_settings()
    assert s.cloudflare_account_id == "acc"
    assert s.cloudflare_auth_token == CANARY
    assert s.cf_model == "@cf/meta/llama"
    assert s.tools_dir == "tools-here"
    assert s.tool_code_max_chars == 5000
    assert s.dangerous_tools is False
    assert s.secret_values() == [CANARY]


@pytest.mark.parametrize(("var", "value", "expected"), [
    ("DANGEROUS_TOOLS", "maybe", "bad environment variable DANGEROUS_TOOLS value of "),
    ("TOOL_CODE_MAX_CHARS", "lots", "expected a whole number"),
    ("AUTOAGENT_MAX_TURNS", "0", "must be at least 1"),
])
def test_bad_environment_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch, var: str,
                                                 value: str, expected: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert var in str(info.value)


def test_config_set_writes_toml_in_xdg_config_home(cli, isolated: Path) -> None:
    result = cli("config", "set", "max_turns", "6")
    assert result.returncode == 0, result
    path = isolated.parent / "config" / "autoagent" / "config.toml"
    assert str(path) in result.stdout
    assert tomllib.loads(path.read_text()) == {"max_turns": 6}
    cli("config", "set", "recorders", "jsonl,html")
    assert tomllib.loads(path.read_text()) == {"max_turns": 6, "recorders": ["jsonl", "html"]}
    shown = json.loads(cli("config", "show", "--json").stdout)
    assert shown["settings"]["max_turns"] == {"value": 6, "source": "config"}
    assert cli("config", "unset", "max_turns").returncode == 0
    assert tomllib.loads(path.read_text()) == {"recorders": ["jsonl", "html"]}


@pytest.mark.parametrize(("args", "message"), [
    (("set", "no_such_key", "1"), "unknown setting 'no_such_key'"),
    (("set", "max_turns", "ten"), "bad value of 'max_turns': expected a whole number"),
    (("set", "dangerous_tools", "perhaps"), "bad value of 'dangerous_tools'"),
    (("set", "--", "tool_timeout", "-1"), "must be at least"),
])
def test_config_set_refuses_bad_input(cli, isolated: Path, args: tuple[str, ...],
                                      message: str) -> None:
    result = cli("config", *args)
    assert result.returncode == 3, result
    assert result.stderr.strip() == f"autoagent: error: {result.stderr.strip()[18:]}"
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (isolated.parent / "config" / "autoagent" / "config.toml").exists()


def test_config_show_masks_secrets(cli) -> None:
    cli("config", "set", "openai_api_key", CANARY)
    result = cli("config", "show", env={"CLOUDFLARE_AUTH_TOKEN": CANARY + "x"})
    assert result.returncode == 0
    assert CANARY not in result.stdout + result.stderr
    assert "cloudflare_auth_token = '(set, hidden)'" in result.stdout
    assert "openai_api_key = '(set, hidden)'" in result.stdout
    as_json = cli("config", "show", "--json", env={"CLOUDFLARE_AUTH_TOKEN": CANARY + "x"})
    assert CANARY not in as_json.stdout


def test_config_file_is_private(cli, isolated: Path) -> None:
    cli("config", "set", "openai_api_key", CANARY)
    path = isolated.parent / "config" / "autoagent" / "config.toml"
    assert path.stat().st_mode & 0o777 == 0o600


def test_broken_config_file_is_one_clear_line(cli, isolated: Path) -> None:
    path = isolated.parent / "config" / "autoagent" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("max_turns = [unclosed\n")
    result = cli("config", "show")
    assert result.returncode == 3, result
    assert "cannot read the config file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_line_of_dotenv_that_does_not_parse_is_one_warning_not_a_crash(
        cli: CliFn, isolated: Path) -> None:
    """python-dotenv logs a bad line to stderr, which autoagent redacts with the secrets of
    that .env: the line is reported once, by name and number, and the command works."""
    (isolated / ".env").write_text("GOOD=1\nMCP_STDIO='[{\"a\": open('x')}]'\n")
    result = cli("tools", "list", "--json")
    assert result.returncode == 0, str(result)
    assert json.loads(result.stdout) == []
    lines = result.stderr.splitlines()
    assert lines == [f"autoagent: warning: {isolated / '.env'}: line 2 is not KEY=VALUE "
                     "and is ignored"], str(result)
