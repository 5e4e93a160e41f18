"""A real third-party package, installed with pip into a throwaway virtual environment, adds
an LLM backend and a timeline recorder without touching this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PLUGIN_SRC = Path(__file__).parent / "plugins" / "autoagent-echo"


@pytest.fixture(scope="module")
def throwaway_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    # autoagent and its dependencies come from the environment running the tests
    # (addsitedir also runs that environment's .pth files, e.g. an editable install's)
    parent = sysconfig.get_paths()["purelib"]
    (Path(site) / "autoagent_parent.pth").write_text(
        f"import site; site.addsitedir({parent!r})\n"
    )
    build = PLUGIN_SRC
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", str(build)],
        check=True, capture_output=True, text=True,
    )
    return venv


def run_in(venv: Path, *args: str, cwd: Path,
           extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra_env or {})
    return subprocess.run([str(venv / "bin" / "python"), "-m", "autoagent_core", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_pip_installed_plugin_shows_up(throwaway_venv: Path, isolated: Path) -> None:
    result = run_in(throwaway_venv, "plugins", "--json", cwd=isolated)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    echo = next(p for p in report["plugins"] if p["name"] == "echo")
    assert echo["distribution"] == "autoagent-echo"
    assert echo["version"] == "0.2.0"
    assert echo["status"] == "loaded"
    assert sorted(echo["hooks"]) == ["autoagent_llm_backends", "autoagent_timeline_recorders"]
    assert {"name": "echo", "plugin": "echo",
            "description": "Echoes the last message, upper-cased"} in report["layers"]["backend"]
    assert "counter" in [r["name"] for r in report["layers"]["recorder"]]
    assert result.stderr == ""


def test_pip_installed_backend_answers(throwaway_venv: Path, isolated: Path) -> None:
    result = run_in(throwaway_venv, "ask", "--backend", "echo", "hello plugin", cwd=isolated)
    assert result.returncode == 0, result.stderr
    assert "HELLO PLUGIN" in result.stdout


def test_plugin_is_not_visible_outside_its_environment(cli) -> None:
    result = cli("plugins", "--json")
    assert "echo" not in [p["name"] for p in json.loads(result.stdout)["plugins"]]


def test_pip_installed_recorder_receives_every_event_of_a_run(throwaway_venv: Path,
                                                              isolated: Path) -> None:
    script = Path(__file__).parent / "scripts" / "happy_path.json"
    result = run_in(throwaway_venv, "run", "--script", str(script), "--json", "Sum 1, 2 and 3",
                    cwd=isolated, extra_env={"AUTOAGENT_RECORDERS": "jsonl,counter"})
    assert result.returncode == 0, result.stderr
    run_dir = isolated / json.loads(result.stdout)["run_dir"]
    counted = json.loads((run_dir / "event-count.txt").read_text())
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    assert counted["events"] == len(lines) > 5
    assert counted["kinds"][0] == "run_started" and counted["kinds"][-1] == "run_finished"
    assert not (run_dir / "timeline.html").exists()  # only the chosen recorders ran
