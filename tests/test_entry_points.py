"""Entry point discovery reads dist-info folders on sys.path as importlib.metadata does:
the group's lines only, the first distribution of a name on the path, name and version
from METADATA, and ``module:attr`` values loadable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autoagent_core.entry_points import entry_points


def _dist(site: Path, folder: str, metadata: str, entry_points_txt: str) -> None:
    info = site / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(metadata)
    (info / "entry_points.txt").write_text(entry_points_txt)


def test_reads_only_the_group_and_the_first_distribution_on_the_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _dist(first, "my_plugin-2.0.dist-info",
          "Metadata-Version: 2.1\nName: my-plugin\nVersion: 2.0\n\nLong: description\n",
          "# a comment\n[console_scripts]\nnot_this = x:y\n\n[autoagent]\n"
          "alpha = my_plugin_mod:hooks\n; another comment\nbeta=other_mod\n")
    _dist(second, "my_plugin-1.0.dist-info", "Name: my-plugin\nVersion: 1.0\n",
          "[autoagent]\nalpha = stale:thing\n")
    (first / "my_plugin_mod.py").write_text("class hooks:\n    value = 42\n")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    found = [ep for ep in entry_points("autoagent") if ep.distribution == "my-plugin"]
    assert [(ep.name, ep.value, ep.version) for ep in found] == [
        ("alpha", "my_plugin_mod:hooks", "2.0"), ("beta", "other_mod", "2.0")]
    assert found[0].load().value == 42
    sys.modules.pop("my_plugin_mod", None)


def test_the_project_registers_its_defaults_by_entry_point() -> None:
    names = {ep.name: ep.value for ep in entry_points("autoagent")
             if ep.distribution == "autoagent"}
    assert names == {
        "cloudflare": "autoagent_plugins.cloudflare.plugin",
        "openai": "autoagent_plugins.openai.plugin",
        "local": "autoagent_plugins.local_llama.plugin",
        "scripted": "autoagent_plugins.scripted.plugin",
        "fs_tools": "autoagent_plugins.fs_tools.plugin",
        "fs_agents": "autoagent_plugins.fs_agents.plugin",
        "fs_sessions": "autoagent_plugins.fs_sessions.plugin",
        "timeline": "autoagent_plugins.timeline.plugin",
        "mcp": "autoagent_plugins.mcp.plugin",
        "local_executor": "autoagent_plugins.local_executor.plugin",
        "dask_executor": "autoagent_plugins.dask_executor.plugin",
        "dashboard": "autoagent_plugins.dashboard.plugin",
        "file_secrets": "autoagent_plugins.file_secrets.plugin",
        "keyring_secrets": "autoagent_plugins.keyring_secrets.plugin",
    }


def test_agrees_with_importlib_metadata() -> None:
    from importlib.metadata import entry_points as reference

    ours = sorted((ep.name, ep.value) for ep in entry_points("autoagent"))
    theirs = sorted((ep.name, ep.value) for ep in reference(group="autoagent"))
    assert ours == theirs
