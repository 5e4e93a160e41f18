"""Where a library's tool environment lives, how it is created, and what it holds.

``<tools_dir>.deps/`` beside the library (``.permanent_tools.deps/`` by default)::

    python3.11/ the site folder uv installs into (``uv pip install --target``), one per
                Python version; tools put it on ``sys.path`` (read-only in the sandbox)
    locks/      <tool>/v<version>.json: the versions resolved for that tool version
    install.lock
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autoagent_core.config import Settings

DEPS_SUFFIX = ".deps"
PIP_REFUSAL = (
    "autoagent: pip install is not available inside a tool: tools never change the tool "
    "environment. Declare the package at the top of the tool's code instead, and autoagent "
    "installs it before the call:\n"
    "# /// script\n"
    '# dependencies = ["PACKAGE"]\n'
    "# ///\n")
_SHIM = "#!/bin/sh\ncat >&2 <<'AUTOAGENT'\n{text}AUTOAGENT\nexit 1\n"


def deps_root(settings: Settings) -> Path:
    """``<tools_dir>.deps``, beside the library (absolute)."""
    tools = Path(os.path.abspath(settings.path("tools_dir")))
    return tools.with_name(tools.name + DEPS_SUFFIX)


def python_tag() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def env_dir(settings: Settings) -> Path:
    """The tool environment: a site folder for autoagent's Python version, not a virtual
    environment, so no interpreter ever starts with it as its own site-packages (which
    would run the ``.pth`` files of the packages in it outside the sandbox)."""
    return deps_root(settings) / python_tag()


def tool_site(settings: Settings) -> Path | None:
    """The site folder tools import from, or None while nothing was ever installed."""
    site = env_dir(settings)
    return site if site.is_dir() else None


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(site: Path) -> dict[str, str]:
    """Normalised distribution name -> version, from the ``*.dist-info`` folders of the
    site folder (read, never imported)."""
    found: dict[str, str] = {}
    try:
        entries = os.listdir(site)
    except OSError:
        return found
    for entry in entries:
        if entry.endswith(".dist-info") and "-" in entry:
            name, _, version = entry[: -len(".dist-info")].rpartition("-")
            found[normalize(name)] = version
    return found


def write_shims(folder: Path) -> Path:
    """``pip``, ``pip3`` and ``pip3.X`` in ``folder`` (a call's own control folder, put
    first on the tool's PATH) that print :data:`PIP_REFUSAL` and fail."""
    folder.mkdir(parents=True, exist_ok=True)
    text = _SHIM.format(text=PIP_REFUSAL)
    for name in ("pip", "pip3", f"pip{sys.version_info.major}.{sys.version_info.minor}"):
        path = folder / name
        path.write_text(text)
        path.chmod(0o755)
    return folder
