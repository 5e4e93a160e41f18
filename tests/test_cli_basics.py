"""The command line itself: help, version, usage errors, exit codes."""

from __future__ import annotations

import os
import sys

from autoagent_core import __version__


def test_help_lists_every_command_group(cli) -> None:
    result = cli("--help")
    assert result.returncode == 0, result
    for command in ("run", "sessions", "tools", "agents", "plugins", "config", "runs", "ask"):
        assert command in result.stdout
    assert result.stderr == ""


def test_version(cli) -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"autoagent {__version__}"


def test_unknown_command_is_a_usage_error(cli) -> None:
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_help_does_not_import_backends_or_http(cli) -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['autoagent', '--help']\n"
        "try:\n"
        "    runpy.run_module('autoagent_core', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('httpx', 'llama_cpp', 'httpcore', 'filelock', 'dotenv',\n"
        "                     'importlib.metadata')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY=\n" in proc.stderr, proc.stderr


def test_output_into_a_closed_pipe_ends_quietly(tmp_path) -> None:
    """``autoagent config show | head -1``: the reader leaves early; no traceback, exit 0."""
    import subprocess

    reader_gone = subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "config", "show"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)})
    assert reader_gone.stdout is not None and reader_gone.stderr is not None
    reader_gone.stdout.close()  # before the first line is written
    stderr = reader_gone.stderr.read().decode()
    assert reader_gone.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
