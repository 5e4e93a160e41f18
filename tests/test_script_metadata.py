"""PEP 723 blocks of tools: read, and rewritten with added declarations."""

from __future__ import annotations

import json

import pytest

from autoagent_core.errors import UsageError
from autoagent_core.tools.script_metadata import read_metadata, with_metadata

TOOL = "import requests\n\ndef fetch(url):\n    return requests.get(url).text\n"


def test_code_without_a_block_declares_nothing() -> None:
    meta = read_metadata(TOOL)
    assert (meta.present, meta.dependencies, meta.secrets) == (False, [], [])


def test_added_declarations_are_read_back_and_keep_the_code() -> None:
    code = with_metadata(TOOL, dependencies=["requests>=2"], secrets=["SERPAPI_KEY"])
    assert code.startswith("# /// script\n")
    assert code.endswith(TOOL)
    meta = read_metadata(code)
    assert meta.dependencies == ["requests>=2"]
    assert meta.secrets == ["SERPAPI_KEY"]
    again = with_metadata(code, dependencies=["beautifulsoup4", "requests>=2"])
    assert read_metadata(again).dependencies == ["requests>=2", "beautifulsoup4"]
    assert read_metadata(again).secrets == ["SERPAPI_KEY"]
    assert again.count("# /// script") == 1


def test_other_keys_of_the_block_and_a_shebang_are_kept() -> None:
    code = ("#!/usr/bin/env python3\n# /// script\n# requires-python = \">=3.11\"\n"
            "# dependencies = []\n# ///\n" + TOOL)
    out = with_metadata(code, dependencies=["requests"])
    assert out.startswith("#!/usr/bin/env python3\n# /// script\n")
    meta = read_metadata(out)
    assert meta.requires_python == ">=3.11"
    assert meta.dependencies == ["requests"]
    fresh = with_metadata("#!/usr/bin/env python3\n" + TOOL, secrets=["API_TOKEN"])
    assert fresh.startswith("#!/usr/bin/env python3\n# /// script\n")


@pytest.mark.parametrize("block", [
    "# /// script\n# dependencies = \"requests\"\n# ///\n",
    "# /// script\n# dependencies = [\n# ///\n",
    "# /// script\n# [tool.autoagent]\n# secrets = [\"lower-case\"]\n# ///\n",
    "# /// script\n# ///\n# /// script\n# ///\n",
])
def test_a_wrong_block_is_a_usage_error(block: str) -> None:
    with pytest.raises(UsageError):
        read_metadata(block + TOOL)


@pytest.mark.parametrize("dep", [
    "requests", "requests>=2", "httpx[http2]>=0.27,<1", "a.b_c-d ~= 1.2", "requests (>=2.0)",
    "numpy; python_version >= \"3.9\"", "pkg[a, b] ==1.*", "zope.interface", "zipp",
])
def test_package_names_with_versions_extras_and_markers_are_dependencies(dep: str) -> None:
    code = with_metadata(TOOL, dependencies=[dep])
    assert read_metadata(code).dependencies == [dep]


@pytest.mark.parametrize("dep", [
    "-r /etc/passwd", "--index-url http://127.0.0.1:8000/simple", "-e .", "./evil",
    "/abs/x.whl", "x @ file:///etc/passwd", "git+https://example.com/x", "x --index-url y",
    "evil-1.0-py3-none-any.whl", "evil-1.0.tar.gz", "x==1 # c", "requests\n-r /etc/passwd",
])
def test_options_urls_and_paths_are_not_dependencies(dep: str) -> None:
    code = "# /// script\n# dependencies = [" + json.dumps(dep) + "]\n# ///\n" + TOOL
    with pytest.raises(UsageError, match="not a package of the index by name"):
        read_metadata(code)
