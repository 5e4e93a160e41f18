"""Plugin loading: entry points, broken plugins, disabling, selection by name, listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoagent_core.errors import PluginError
from autoagent_core.plugins import get_plugin_manager, reset_plugin_manager
from support.fake_dist import make_fake_plugin

GOOD = '''
from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider, Completion, Usage

class Parrot:
    name = "parrot"
    model = "parrot-1"
    def __init__(self, settings):
        pass
    def complete(self, messages, options):
        return Completion(text="squawk", usage=Usage(1, 1), model=self.model)
    def close(self):
        pass

@hookimpl
def autoagent_llm_backends():
    return [Provider("parrot", Parrot, "Always says squawk")]
'''
IMPORT_ERROR = "import module_that_does_not_exist_anywhere\n"
RAISES_AT_IMPORT = "raise RuntimeError('boom at import')\n"
BAD_SIGNATURE = '''
from autoagent_core.hookspecs import hookimpl

@hookimpl
def autoagent_llm_backends(unknown_argument):
    return []
'''
BLOCKED = '''
raise SystemExit("this plugin must never be imported")
'''
CLAIMS_SCRIPTED = '''
from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider

@hookimpl
def autoagent_llm_backends():
    return [Provider("scripted", object, "An impostor")]
'''
HOOK_RAISES = '''
from autoagent_core.hookspecs import hookimpl

@hookimpl
def autoagent_tool_stores():
    raise ValueError("store hook exploded")
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    make_fake_plugin(site, "fake-good", "parrot", "fake_good", GOOD)
    make_fake_plugin(site, "fake-missing", "missing", "fake_missing", IMPORT_ERROR)
    make_fake_plugin(site, "fake-raises", "raises", "fake_raises", RAISES_AT_IMPORT)
    make_fake_plugin(site, "fake-badsig", "badsig", "fake_badsig", BAD_SIGNATURE)
    make_fake_plugin(site, "fake-blocked", "blocked", "fake_blocked", BLOCKED)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("AUTOAGENT_DISABLE_PLUGINS", "blocked")
    reset_plugin_manager()
    return site


def test_good_plugin_is_discovered_and_selectable(site: Path) -> None:
    manager = get_plugin_manager()
    assert manager.infos["parrot"].status == "loaded"
    assert manager.infos["parrot"].distribution == "fake-good"
    assert manager.infos["parrot"].hooks == ["autoagent_llm_backends"]
    assert "parrot" in manager.names("backend")
    provider = manager.select("backend", "parrot")
    assert provider.factory(None).complete([], None).text == "squawk"


def test_broken_plugins_warn_once_and_everything_else_works(cli, site: Path) -> None:
    result = cli("plugins", "--json")
    assert result.returncode == 0, result
    report = json.loads(result.stdout)
    status = {p["name"]: p["status"] for p in report["plugins"]}
    assert status["parrot"] == "loaded"
    assert status["missing"] == "failed"
    assert status["raises"] == "failed"
    assert status["badsig"] == "failed"
    assert status["blocked"] == "disabled"
    warnings = [line for line in result.stderr.splitlines() if line]
    # one line per broken plugin, naming it and its distribution; no traceback
    assert len(warnings) == 3, result
    assert any("'missing' (fake-missing)" in w and "ModuleNotFoundError" in w for w in warnings)
    assert any("'raises' (fake-raises)" in w and "boom at import" in w for w in warnings)
    assert any("'badsig' (fake-badsig)" in w for w in warnings)
    assert "Traceback" not in result.stderr
    backends = [b["name"] for b in report["layers"]["backend"]]
    assert "parrot" in backends and "scripted" in backends
    # every other command keeps working
    assert cli("--help").returncode == 0
    assert cli("config", "show").returncode == 0


def test_disabled_plugin_is_never_imported(cli, site: Path) -> None:
    result = cli("plugins", "--json")
    # the blocked module raises SystemExit at import: had it been imported, the CLI would
    # have exited with that message instead of listing the plugins
    assert result.returncode == 0, result
    assert "must never be imported" not in result.stdout + result.stderr


def test_disable_by_distribution_name(cli, site: Path) -> None:
    result = cli("plugins", "--json", env={"AUTOAGENT_DISABLE_PLUGINS": "fake-good,blocked"})
    report = json.loads(result.stdout)
    assert {p["name"]: p["status"] for p in report["plugins"]}["parrot"] == "disabled"
    assert "parrot" not in [b["name"] for b in report["layers"]["backend"]]


def test_unknown_name_lists_installed_choices() -> None:
    manager = get_plugin_manager()
    with pytest.raises(PluginError) as info:
        manager.select("backend", "nonexistent")
    message = str(info.value)
    assert "'nonexistent'" in message
    for name in ("cloudflare", "local", "openai", "scripted"):
        assert name in message


def test_two_plugins_claiming_one_name_is_an_error(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site2"
    make_fake_plugin(site, "fake-impostor", "impostor", "fake_impostor", CLAIMS_SCRIPTED)
    monkeypatch.syspath_prepend(str(site))
    reset_plugin_manager()
    with pytest.raises(PluginError) as info:
        get_plugin_manager().select("backend", "scripted")
    assert "two plugins claim" in str(info.value)
    assert "impostor" in str(info.value) and "scripted" in str(info.value)


def test_unknown_backend_from_the_cli_exits_with_plugin_code(cli) -> None:
    result = cli("ask", "hello", "--backend", "nonexistent")
    assert result.returncode == 5, result
    assert result.stderr.startswith("autoagent: error: no backend named 'nonexistent'")
    assert "Traceback" not in result.stderr


def test_hook_that_raises_is_reported_and_skipped(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site3"
    make_fake_plugin(site, "fake-hookraise", "hookraise", "fake_hookraise", HOOK_RAISES)
    monkeypatch.syspath_prepend(str(site))
    reset_plugin_manager()
    manager = get_plugin_manager()
    assert manager.names("tool_store") == ["filesystem"]
    manager.names("tool_store")
    err = capsys.readouterr().err
    assert err.count("store hook exploded") == 1
    assert manager.infos["hookraise"].status == "failed"


def test_every_hook_is_documented_in_the_readme() -> None:
    from autoagent_core.hookspecs import AutoagentSpec

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    hooks = [name for name in vars(AutoagentSpec) if name.startswith("autoagent_")]
    assert len(hooks) == 10
    missing = [h for h in hooks if f"`{h}`" not in readme]
    assert not missing, f"hooks missing from the README: {missing}"
