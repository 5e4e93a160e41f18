"""Benchmark: the first install of a tool's dependencies (requests + beautifulsoup4) into a
fresh tool environment, and a call of a tool that imports them, with uv (what autoagent
does) against the same with pip.

* uv: autoagent's own path, :func:`autoagent_core.deps.prepare.prepare_call` on a tool that
  declares both packages: ``uv pip compile`` (the lock), ``uv pip install --target``.
* pip: ``python -m venv --without-pip`` and ``pip --python ENV install`` of the same two
  packages (``--isolated``: no configuration file or PIP_* variable of this machine).

Both from a warm cache (one untimed round first), from the real package index; rounds are
interleaved (uv, pip, uv, ...) so machine load hits both alike. The call (a sandboxed
``run_tool`` in open mode whose tool imports both and parses a page) is measured with each
environment, as is a call of a tool that imports nothing. Medians, and the ratio pip / uv.

    .venv/bin/python bench/deps.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autoagent_core.config import Settings
from autoagent_core.deps.environment import env_dir
from autoagent_core.deps.prepare import prepare_call
from autoagent_core.sandbox.launcher import run_tool
from autoagent_core.store_types import ToolSpec, ToolVersion

PACKAGES = ["requests", "beautifulsoup4"]
TOOL = ("# /// script\n# dependencies = [\"requests\", \"beautifulsoup4\"]\n# ///\n"
        "import requests\nfrom bs4 import BeautifulSoup\n\n"
        "def parse():\n    return BeautifulSoup('<p>hi</p>', 'html.parser').p.text\n")
EMPTY = "def parse():\n    return 'hi'\n"


def pip_command() -> list[str]:
    """A pip of the same Python version (autoagent's own environment has none)."""
    for python in (sys.executable, shutil.which("python3.11"), shutil.which("python3")):
        if python and subprocess.run([python, "-m", "pip", "--version"],
                                     capture_output=True).returncode == 0:
            return [python, "-m", "pip"]
    raise SystemExit("no pip found to compare with")


def with_uv(root: Path) -> tuple[float, Settings]:
    settings = Settings(tools_dir=str(root / "tools"), sandbox="open")
    tool = ToolVersion(ToolSpec(name="parse", version=1), TOOL)
    start = time.perf_counter()
    failure = prepare_call(tool, settings)
    elapsed = time.perf_counter() - start
    if failure is not None:
        raise SystemExit(f"uv install failed: {failure.error}")
    return elapsed, settings


def with_pip(root: Path, pip: list[str]) -> tuple[float, Path]:
    env = root / "pip-env"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    subprocess.run([*pip, "--isolated", "--disable-pip-version-check", "--python",
                    str(env / "bin" / "python"), "install", "--quiet", *PACKAGES], check=True)
    tag = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return time.perf_counter() - start, env / "lib" / tag / "site-packages"


def call(settings: Settings, code: str) -> float:
    start = time.perf_counter()
    result = run_tool(code, "parse", {}, settings)
    elapsed = time.perf_counter() - start
    if not result.ok or result.result != "hi":
        raise SystemExit(f"the call failed: {result.error}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    pip = pip_command()
    base = Path(tempfile.mkdtemp(prefix="autoagent-bench-deps-"))
    os.chdir(base)
    times: dict[str, list[float]] = {"uv install": [], "pip install": [], "call (uv env)": [],
                                     "call (pip env)": [], "call (no deps)": []}
    try:
        for round_ in range(opts.runs + 1):  # round 0 warms both caches, untimed
            root = base / f"r{round_}"
            uv_s, settings = with_uv(root)
            pip_s, pip_site = with_pip(root, pip)
            if round_ == 0:
                continue
            times["uv install"].append(uv_s)
            times["pip install"].append(pip_s)
            times["call (uv env)"].append(call(settings, TOOL))
            times["call (no deps)"].append(call(settings, EMPTY))
            # the same call with pip's environment where autoagent's would be
            env_site = env_dir(settings)
            shutil.rmtree(env_site)
            shutil.copytree(pip_site, env_site, symlinks=True)
            times["call (pip env)"].append(call(settings, TOOL))
            shutil.rmtree(root, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    medians = {k: statistics.median(v) * 1000 for k, v in times.items()}
    for name, value in medians.items():
        print(f"{name:16s} {value:9.1f} ms  (median of {len(times[name])})")
    print(f"first install, pip / uv: {medians['pip install'] / medians['uv install']:.2f}x")
    print(f"call importing requests + bs4 vs a call importing nothing: "
          f"{medians['call (uv env)'] / medians['call (no deps)']:.2f}x")


if __name__ == "__main__":
    main()
