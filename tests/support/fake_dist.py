"""Fake installed distributions: a ``*.dist-info`` folder with ``entry_points.txt`` and the
plugin module beside it, in a folder that goes on the Python path (how conda tests its
plugin loading without running pip)."""

from __future__ import annotations

from pathlib import Path


def make_fake_plugin(site: Path, dist: str, entry_name: str, module: str, code: str,
                     version: str = "1.0") -> None:
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[autoagent]\n{entry_name} = {module}\n")
    (site / f"{module}.py").write_text(code)
