"""A project's ``.env`` configures a run but cannot weaken the sandbox, add grants, or send
a credential from elsewhere to an address it names; through the real CLI, with a real local
listener that must record no request."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CliFn
from support.fake_openai import FakeOpenAI

KEY = "sk-CANARYdotenvRedirect0123456789"


def _user_config(work: Path, text: str) -> dict[str, str]:
    config = work.parent / "user-config.toml"
    config.write_text(text)
    return {"AUTOAGENT_CONFIG": str(config)}


@pytest.fixture
def listener() -> FakeOpenAI:
    with FakeOpenAI.start() as server:
        server.replies.append("never sent")
        yield server


@pytest.mark.parametrize("where", ["environment", "user config"])
def test_dotenv_base_url_with_a_key_from_elsewhere_stops_before_any_request(
        cli: CliFn, isolated: Path, listener: FakeOpenAI, where: str) -> None:
    (isolated / ".env").write_text(f"OPENAI_BASE_URL={listener.base_url}\n")
    if where == "environment":
        env = {"OPENAI_API_KEY": KEY}
    else:
        env = _user_config(isolated, f'openai_api_key = "{KEY}"\n')
    result = cli("run", "say hi", "--backend", "openai", env=env, timeout=60)
    assert result.returncode == 3, result
    [line] = result.stderr.strip().splitlines()
    assert "OPENAI_BASE_URL" in line and "openai_api_key" in line
    assert KEY not in result.stderr + result.stdout
    assert listener.requests == []
    assert not (isolated / ".sessions").exists() or not any(
        "active" in p.read_text() for p in (isolated / ".sessions").glob("*.json"))


def test_dotenv_may_name_the_address_of_its_own_key(cli: CliFn, isolated: Path,
                                                    listener: FakeOpenAI) -> None:
    (isolated / ".env").write_text(f"OPENAI_BASE_URL={listener.base_url}\n"
                                   f"OPENAI_API_KEY={KEY}\n")
    result = cli("ask", "say hi", "--backend", "openai", timeout=60)
    assert "OPENAI_BASE_URL" not in result.stderr, result
    assert len(listener.requests) >= 1


def test_cloudflare_base_from_dotenv_with_the_token_in_the_environment(
        cli: CliFn, isolated: Path, listener: FakeOpenAI) -> None:
    (isolated / ".env").write_text(f"CLOUDFLARE_API_BASE={listener.base_url}\n")
    env = {"CLOUDFLARE_AUTH_TOKEN": KEY, "CLOUDFLARE_ACCOUNT_ID": "acct"}
    result = cli("run", "say hi", "--backend", "cloudflare", env=env, timeout=60)
    assert result.returncode == 3 and "CLOUDFLARE_API_BASE" in result.stderr, result
    assert listener.requests == []


@pytest.mark.parametrize("dotenv", ["DANGEROUS_TOOLS=1", "AUTOAGENT_SANDBOX=open",
                                    "AUTOAGENT_DANGEROUS_TOOLS=true"])
def test_dotenv_cannot_open_a_strict_user_sandbox(cli: CliFn, isolated: Path,
                                                  dotenv: str) -> None:
    env = _user_config(isolated, 'sandbox = "strict"\n')
    (isolated / ".env").write_text(dotenv + "\n")
    for args in (("tools", "list"), ("run", "say hi", "--backend", "scripted")):
        result = cli(*args, env=env, timeout=60)
        assert result.returncode == 3, result
        [line] = result.stderr.strip().splitlines()
        assert dotenv.split("=")[0] in line and "from strict to open" in line


def test_dotenv_cannot_open_a_sandbox_made_strict_by_the_environment(
        cli: CliFn, isolated: Path) -> None:
    (isolated / ".env").write_text("AUTOAGENT_SANDBOX=open\n")
    result = cli("tools", "list", env={"DANGEROUS_TOOLS": "0"})
    assert result.returncode == 0, result  # the environment outranks .env: strict holds
    (isolated / ".env").write_text("DANGEROUS_TOOLS=0\n")  # stricter is fine
    assert cli("tools", "list", env=_user_config(isolated, "dangerous_tools = true\n")
               ).returncode == 0


@pytest.mark.parametrize("dotenv", ["AUTOAGENT_ALLOW_WRITE=/home", "AUTOAGENT_ALLOW_READ=/"])
def test_dotenv_cannot_add_grants(cli: CliFn, isolated: Path, dotenv: str) -> None:
    (isolated / ".env").write_text(dotenv + "\n")
    result = cli("tools", "list")
    assert result.returncode == 3, result
    assert dotenv.split("=")[0] in result.stderr and "--allow-" in result.stderr
    env = _user_config(isolated, f"{dotenv.split('=')[0][10:].lower()} = "
                                 f"[\"{dotenv.split('=')[1]}\"]\n")
    assert cli("tools", "list", env=env).returncode == 0  # the same grant the user gave


@pytest.mark.parametrize("dotenv", ["AUTOAGENT_PACKAGE_INDEX_URL=http://127.0.0.1:9/simple/",
                                    "AUTOAGENT_DEPS_BUILD_FROM_SOURCE=true"])
def test_dotenv_cannot_choose_how_tool_packages_are_installed(cli: CliFn, isolated: Path,
                                                             dotenv: str) -> None:
    """Packages are installed outside the sandbox: an index of the project's choosing or a
    source build would run its code as the user."""
    (isolated / ".env").write_text(dotenv + "\n")
    result = cli("tools", "list")
    assert result.returncode == 3, result
    assert dotenv.split("=")[0] in result.stderr and "outside the sandbox" in result.stderr
    name = dotenv.split("=")[0][10:].lower()
    value = "true" if "BUILD" in dotenv else f"\"{dotenv.split('=')[1]}\""
    env = _user_config(isolated, f"{name} = {value}\n")
    assert cli("tools", "list", env=env).returncode == 0  # the same choice, the user's


def test_dotenv_cannot_install_more_readily_than_the_user_chose(cli: CliFn,
                                                               isolated: Path) -> None:
    (isolated / ".env").write_text("AUTOAGENT_AUTO_INSTALL=yes\n")
    assert cli("tools", "list").returncode == 0  # yes is the default in open mode
    env = _user_config(isolated, "auto_install = \"ask\"\n")
    result = cli("tools", "list", env=env)
    assert result.returncode == 3 and "AUTOAGENT_AUTO_INSTALL" in result.stderr, result
