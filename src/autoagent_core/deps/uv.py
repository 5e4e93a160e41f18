"""The uv commands that build the tool environment: create it, resolve requirements to exact
versions, install exact versions. Run by autoagent, outside the sandbox, never by a tool.

uv rather than pip: it resolves and installs requests + beautifulsoup4 several times faster
from a warm cache (``bench/deps.py``), its cache is shared by every environment on the
machine, and ``uv pip install --target`` fills a site folder (upgrades and downgrades
included) that no interpreter treats as its own.
The ``uv`` wheel on PyPI ships the binary, so it comes with autoagent.

Wheels only unless ``deps_build_from_source`` is set: building a source distribution runs
the package's own code, outside the sandbox.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autoagent_core.deps.environment import env_dir, normalize

if TYPE_CHECKING:
    from autoagent_core.config import Settings

MAX_DETAIL_CHARS = 600
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


class InstallError(Exception):
    """uv could not resolve or install; the message is uv's own explanation, shortened."""


def uv_binary() -> str:
    """The uv executable: the one the ``uv`` wheel installed, else uv on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise InstallError("uv is not installed (pip install uv, or reinstall autoagent)")


def _options(settings: Settings) -> list[str]:
    options = ["--quiet"]
    if settings.package_index_url:
        options += ["--index-url", settings.package_index_url]
    if not settings.deps_build_from_source:
        options.append("--no-build")
    return options


_USERINFO_RE = re.compile(r"(?<=://)[^/@\s]+@")


def _detail(stderr: str) -> str:
    """uv's explanation without the progress lines, on one line, bounded, and without the
    credentials of an index URL (``https://user:token@host``)."""
    lines = [ln.strip(" ×╰─▶│") for ln in stderr.splitlines()]
    text = " ".join(ln for ln in lines if ln and not ln.startswith(("Resolved", "Using",
                                                                   "Prepared", "Installed")))
    text = _USERINFO_RE.sub("***@", text)
    return text[:MAX_DETAIL_CHARS] or "uv failed without a message"


def _run(argv: list[str], settings: Settings, stdin: str | None = None) -> str:
    env = dict(os.environ)
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    # no uv.toml or pyproject.toml: uv runs in the working directory, where tools write
    # (an index on the host's loopback, find-links on host paths, a cache-dir anywhere)
    env["UV_NO_CONFIG"] = "1"
    env.pop("VIRTUAL_ENV", None)  # the target is always --python, never the caller's venv
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env,
                              timeout=settings.deps_install_timeout, check=False)
    except subprocess.TimeoutExpired:
        raise InstallError(f"uv took longer than {settings.deps_install_timeout:g} s "
                           "(setting deps_install_timeout)") from None
    except OSError as exc:
        raise InstallError(f"cannot run uv: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise InstallError(_detail(done.stderr))
    return done.stdout


def ensure_env(settings: Settings) -> Path:
    """The tool environment's folder, created when missing."""
    env = env_dir(settings)
    env.mkdir(parents=True, exist_ok=True)
    return env


def resolve(requirements: list[str], settings: Settings) -> dict[str, str]:
    """``requirements`` and everything they need, as exact versions (normalised name ->
    version) for autoagent's Python, which the tools run with."""
    out = _run([uv_binary(), "pip", "compile", "-", "--python", sys.executable,
                "--no-header", "--no-annotate", *_options(settings)], settings,
               stdin="\n".join(requirements) + "\n")
    pins: dict[str, str] = {}
    for line in out.splitlines():
        match = _PIN_RE.match(line.strip())
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def install(pins: dict[str, str], settings: Settings) -> None:
    """Install exactly these versions into the tool environment."""
    if not pins:
        return
    # bytecode now: tools run with -B on a read-only environment, so without it every call
    # would compile each imported module again (requests + bs4: about a second a call)
    _run([uv_binary(), "pip", "install", "--target", str(env_dir(settings)), "--python",
          sys.executable, "--compile-bytecode", *_options(settings),
          *(f"{name}=={version}" for name, version in sorted(pins.items()))], settings)
