"""Shared fixtures. Every test runs in its own temp directory with its own config folder,
no credentials from the developer's environment, and a fresh plugin manager.

Area fixtures live in ``tests/fixtures/*.py`` and are loaded as pytest plugins below.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = sorted(
    f"fixtures.{p.stem}"
    for p in (Path(__file__).parent / "fixtures").glob("*.py")
    if p.stem != "__init__"
)

CLEARED_PREFIXES = ("AUTOAGENT_", "CLOUDFLARE_", "OPENAI_", "CF_")
CLEARED_NAMES = ("TOOL_STORE_DIR", "TOOL_CODE_MAX_CHARS", "DANGEROUS_TOOLS")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean working directory, config home and environment for each test."""
    from autoagent_core.plugins import reset_plugin_manager

    for name in list(os.environ):
        if name.startswith(CLEARED_PREFIXES) or name in CLEARED_NAMES:
            monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(work)
    reset_plugin_manager()
    yield work
    reset_plugin_manager()


@dataclass
class Result:
    """What a real ``autoagent`` process did."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"autoagent {' '.join(self.args)} -> {self.returncode}\n"
                f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}")

    __repr__ = __str__


CliFn = Callable[..., Result]


@pytest.fixture
def cli(isolated: Path) -> CliFn:
    """Run the real ``autoagent`` command in a subprocess (``python -m autoagent_core``)."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 120) -> Result:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "autoagent_core", *args],
            input=input, capture_output=True, text=True, env=full_env,
            cwd=cwd or isolated, timeout=timeout,
        )
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)

    return run
