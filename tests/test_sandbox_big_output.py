"""A tool whose error or result is huge cannot hold the call until the wall-clock limit:
the channel is read concurrently, capped, and the call stopped at the cap."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import CliFn

BIG_ERROR = '''
def big_error():
    raise ValueError("x" * 3_000_000)
'''
BIG_RESULT = '''
def big_result():
    return "y" * 5_000_000
'''
RAW_FD = '''
import os

def raw_fd():
    # flood every other descriptor the process holds, the result channel among them
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd > 2:
            try:
                os.write(fd, b"z" * 4_000_000)
            except OSError:
                pass
    return 1
'''


@pytest.mark.parametrize(("name", "code", "kind"), [
    ("big_error", BIG_ERROR, "[value]"),
    ("big_result", BIG_RESULT, "[output_too_large]"),
    ("raw_fd", RAW_FD, "[output_too_large]"),
])
def test_a_huge_error_or_result_ends_the_call_promptly(
        cli: CliFn, isolated: Path, name: str, code: str, kind: str) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / f"{name}.py").write_text(code)
    started = time.monotonic()
    result = cli("tools", "run", name, "--args", "{}", env={"AUTOAGENT_TOOL_TIMEOUT": "20"})
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result
    first = result.stderr.splitlines()[0]
    assert kind in first, first
    assert "timeout" not in first
    # the whole error report stays readable: far below the 3-5 MB the tool produced
    assert len(result.stderr) < 20_000
    assert elapsed < 15, f"the call took {elapsed:.1f} s: it waited for the wall-clock limit"
