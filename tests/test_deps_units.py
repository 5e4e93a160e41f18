"""The pieces of :mod:`autoagent_core.deps` that need no index: the import-name map, the
policy's defaults, the locks, and uv's messages made safe to show."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoagent_core.config import Settings, load_settings
from autoagent_core.deps import locks, policy
from autoagent_core.deps.environment import installed, normalize
from autoagent_core.deps.modules import distribution_for
from autoagent_core.deps.uv import _detail


@pytest.mark.parametrize("module, distribution", [
    ("bs4", "beautifulsoup4"), ("yaml", "PyYAML"), ("PIL.Image", "Pillow"),
    ("cv2", "opencv-python"), ("sklearn.linear_model", "scikit-learn"),
    ("dateutil.parser", "python-dateutil"), ("dotenv", "python-dotenv"),
    ("requests", "requests"), ("json", None), ("os.path", None), ("not-a-name", None)])
def test_modules_map_to_their_distribution(module: str, distribution: str | None) -> None:
    assert distribution_for(module) == distribution


def test_auto_install_defaults_to_yes_in_open_and_no_in_strict() -> None:
    assert policy.auto_install(load_settings({"sandbox": "open"}, environ={})) == "yes"
    assert policy.auto_install(load_settings({"sandbox": "strict"}, environ={})) == "no"
    strict_but_allowed = load_settings({"sandbox": "strict", "auto_install": "yes"},
                                       environ={})
    assert policy.auto_install(strict_but_allowed) == "yes"
    assert policy.refusal(strict_but_allowed, "t", ["x"]) is None
    asked = load_settings({"auto_install": "ask"}, environ={})
    assert policy.refusal(asked, "t", ["x"]) == ("auto_install is 'ask' and there is no "
                                                 "terminal to ask on")  # pytest: no tty


def test_a_lock_round_trips_and_a_broken_one_is_ignored(tmp_path: Path) -> None:
    settings = Settings(tools_dir=str(tmp_path / "lib"))
    written = locks.write_lock(settings, "shout", 2, ["tinyfmt>=1"],
                               {"tinyfmt": "1.0", "tinybase": "1.0"}, "abc")
    assert locks.read_lock(settings, "shout", 2) == written
    assert list(written["resolved"]) == ["tinybase", "tinyfmt"]
    assert locks.tool_locks(settings, "shout") == {2: written}
    path = locks.lock_path(settings, "shout", 3)
    path.write_text("{not json")
    assert locks.read_lock(settings, "shout", 3) is None
    assert path == tmp_path / "lib.deps" / "locks" / "shout" / "v3.json"


def test_installed_reads_dist_info_folders(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name in ("Tiny_Fmt-1.0.dist-info", "python_dateutil-9.0.dist-info", "junk"):
        (site / name).mkdir(parents=True)
    assert installed(site) == {"tiny-fmt": "1.0", "python-dateutil": "9.0"}
    assert normalize("Python_Dateutil") == "python-dateutil"


def test_uv_messages_lose_index_credentials() -> None:
    text = _detail("  × No solution found\n  ╰─▶ https://bob:s3cret@idx.example/simple/ "
                   "has no tinyfmt\nResolved 3 packages")
    assert "s3cret" not in text and "bob" not in text
    assert text == "No solution found https://***@idx.example/simple/ has no tinyfmt"
