"""The sandbox: RELIABILITY items 1-9, each through a real child process."""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoagent_core.config import Settings
from autoagent_core.errors import SandboxError
from autoagent_core.sandbox import launcher as sandbox
from autoagent_core.sandbox.launcher import run_tool


def _gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


# ----------------------------------------------------------------------- item 1
def test_tool_runs_in_another_process_and_cannot_patch_the_cli(tool_settings: Settings) -> None:
    code = (
        "import json, os\n"
        "def meddle():\n"
        "    json.dumps = lambda *a, **k: 'patched'\n"
        "    os.environ['MEDDLED'] = '1'\n"
        "    return {'pid': os.getpid(), 'host_pid': int(os.readlink('/proc/self'))}\n"
    )
    result = run_tool(code, "meddle", {}, tool_settings)
    assert result.ok, result
    assert result.result["pid"] != os.getpid()
    assert result.result["host_pid"] != os.getpid()
    assert json.dumps({"a": 1}) == '{"a": 1}'
    assert "MEDDLED" not in os.environ


# ----------------------------------------------------------------------- item 2
ESCAPE = """
import os, subprocess, sys, time
def escape(token: str):
    grandchild = "import time; time.sleep(600)"
    subprocess.Popen([sys.executable, "-c", grandchild, token], start_new_session=True)
    subprocess.Popen(["sleep", "600", token])
    time.sleep(600)
"""


def _host_pids_with(token: str) -> list[int]:
    """Host processes whose command line holds ``token``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid() and not _gone(int(entry.name)):
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                    if token.encode() in fh.read().split(b"\0"):
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(params=["open", "none"])
def kill_mode(request: pytest.FixtureRequest, tool_settings: Settings) -> Iterator[str]:
    """Both ways of killing a tree: bubblewrap's PID namespace, and without a sandbox
    (``none``) the process group and the marker sweep."""
    tool_settings.sandbox = request.param
    yield request.param


def test_timeout_kills_the_whole_tree_including_a_setsid_grandchild(
        tool_settings: Settings, kill_mode: str) -> None:
    token = f"escape-{os.getpid()}-{time.monotonic_ns()}"
    tool_settings.tool_timeout = 2.0
    started = time.monotonic()
    result = run_tool(ESCAPE, "escape", {"token": token}, tool_settings)
    assert time.monotonic() - started < 10
    assert not result.ok and result.error is not None
    assert result.error["class"] == "timeout"
    assert "tool_timeout" in " ".join(result.error["suggestions"])
    deadline = time.monotonic() + 5
    while _host_pids_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _host_pids_with(token) == [], f"processes survived the timeout ({kill_mode})"


# ----------------------------------------------------------------------- items 3, 4
def test_memory_cap_gives_a_memory_error_quickly(tool_settings: Settings) -> None:
    started = time.monotonic()
    result = run_tool("def hog():\n    return len(bytearray(4 * 1024**3))\n", "hog", {},
                      tool_settings)
    assert time.monotonic() - started < 10
    assert result.error is not None and result.error["class"] == "memory", result
    assert "tool_memory_mb" in " ".join(result.error["suggestions"])


def test_cpu_cap_stops_an_endless_loop_despite_a_long_wall_timeout(
        tool_settings: Settings) -> None:
    tool_settings.tool_cpu_seconds = 1
    tool_settings.tool_timeout = 120.0
    started = time.monotonic()
    result = run_tool("def spin():\n    while True:\n        pass\n", "spin", {}, tool_settings)
    assert time.monotonic() - started < 15
    assert result.error is not None and result.error["class"] == "cpu", result


# ----------------------------------------------------------------------- item 5
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_endless_output_is_cut_at_the_cap_and_reported(tool_settings: Settings,
                                                       stream: str) -> None:
    code = f"import sys\ndef flood():\n    while True:\n        sys.{stream}.write('x' * 999)\n"
    started = time.monotonic()
    result = run_tool(code, "flood", {}, tool_settings)
    assert time.monotonic() - started < 10
    assert result.truncated
    captured = getattr(result, stream)
    assert 0 < len(captured.encode()) <= tool_settings.tool_output_max_bytes
    assert result.error is not None and result.error["class"] == "output_too_large"


def test_output_a_little_over_the_cap_is_truncated_but_the_result_kept(
        tool_settings: Settings) -> None:
    code = "def chatty():\n    print('y' * 10000)\n    return 'done'\n"
    result = run_tool(code, "chatty", {}, tool_settings)
    assert result.ok and result.result == "done"
    assert result.truncated and len(result.stdout) == tool_settings.tool_output_max_bytes


# ----------------------------------------------------------------------- item 6
def test_writing_beyond_the_file_size_cap_fails_with_efbig(tool_settings: Settings) -> None:
    code = (
        "def big_file():\n"
        "    try:\n"
        "        with open('big.bin', 'wb') as fh:\n"
        "            fh.write(b'0' * (3 * 1024 * 1024))\n"
        "    except OSError as exc:\n"
        "        return exc.errno\n"
        "    return 0\n"
    )
    result = run_tool(code, "big_file", {}, tool_settings)
    assert result.ok and result.result == errno.EFBIG, result
    uncaught = "def big_file():\n    open('big.bin', 'wb').write(b'0' * (3 * 1024 * 1024))\n"
    failed = run_tool(uncaught, "big_file", {}, tool_settings)
    assert failed.error is not None and failed.error["class"] == "file_too_large"


# ----------------------------------------------------------------------- item 7
def test_child_environment_holds_no_secret(tool_settings: Settings,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "canary-7f3a9c1e5b"
    for var in ("CLOUDFLARE_AUTH_TOKEN", "OPENAI_API_KEY", "MY_SERVICE_SECRET",
                "GITHUB_TOKEN", "HARMLESS_LOOKING"):
        monkeypatch.setenv(var, canary)
    code = (
        "import os\n"
        "def env():\n"
        "    return {'environ': dict(os.environ),\n"
        "            'proc': open('/proc/self/environ', 'rb').read().decode('latin-1')}\n"
    )
    result = run_tool(code, "env", {}, tool_settings)
    assert result.ok, result
    assert canary not in json.dumps(result.result["environ"])
    assert canary not in result.result["proc"]
    assert set(result.result["environ"]) <= {"PATH", "HOME", "TMPDIR", "LANG",
                                             "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE",
                                             sandbox.MARKER_VAR,
                                             # open mode's proxy (sandbox/network)
                                             "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                             "https_proxy"}


# ----------------------------------------------------------------------- item 8
def test_garbage_output_and_huge_results_give_clear_errors(tool_settings: Settings) -> None:
    garbage = run_tool("import sys\ndef g():\n    sys.stdout.buffer.write(bytes(range(256)))\n"
                       "    return [1, 2]\n", "g", {}, tool_settings)
    assert garbage.ok and garbage.result == [1, 2]
    huge = run_tool("def h():\n    return 'x' * (10 * 1024 * 1024)\n", "h", {}, tool_settings)
    assert huge.error is not None and huge.error["class"] == "output_too_large"
    assert "bytes" in huge.error["message"]
    printed = run_tool("def p():\n    print('z' * (10 * 1024 * 1024))\n    return 1\n", "p", {},
                       tool_settings)
    assert printed.truncated and len(printed.stdout) <= tool_settings.tool_output_max_bytes
    nan = run_tool("def n():\n    return float('nan')\n", "n", {}, tool_settings)
    assert nan.error is not None and nan.error["class"] == "not_json_serializable"
    exits = run_tool("import os\ndef e():\n    os._exit(3)\n", "e", {}, tool_settings)
    assert exits.error is not None and "exit code 3" in exits.error["message"]


# ----------------------------------------------------------------------- item 9
@pytest.fixture
def loopback_server() -> Iterator[int]:
    """A listening TCP socket on 127.0.0.1 (accepting is not needed to connect)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


PROBE = """
import os, socket
def probe(port: int, outside: str):
    out = {}
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        out["connect"] = "ok"
    except OSError as exc:
        out["connect"] = repr(exc)
    try:
        socket.getaddrinfo("pypi.org", 443)
        out["dns"] = "ok"
    except OSError as exc:
        out["dns"] = repr(exc)
    try:
        with open(outside, "w") as fh:
            fh.write("escaped")
        out["outside"] = "ok"
    except OSError as exc:
        out["outside"] = repr(exc)
    with open("inside.txt", "w") as fh:
        fh.write("fine")
    out["inside"] = open("inside.txt").read()
    return out
"""


@pytest.mark.skipif(not sandbox.strict_available(), reason="strict mode not enforceable here")
def test_strict_mode_blocks_network_and_writes_outside_scratch(
        tool_settings: Settings, loopback_server: int, isolated: Path) -> None:
    outside = isolated / "outside.txt"  # the working directory: writable in open mode only
    args = {"port": loopback_server, "outside": str(outside)}
    tool_settings.dangerous_tools = True
    tool_settings.allow_net = [f"127.0.0.1:{loopback_server}"]  # the host's loopback: granted
    open_mode = run_tool(PROBE, "probe", args, tool_settings)
    assert open_mode.ok and open_mode.result["connect"] == "ok", open_mode
    assert open_mode.result["outside"] == "ok"
    outside.unlink()

    tool_settings.dangerous_tools = False
    strict = run_tool(PROBE, "probe", args, tool_settings)
    assert strict.ok, strict
    assert strict.result["connect"] != "ok"
    assert strict.result["dns"] != "ok"
    assert strict.result["outside"].startswith(("PermissionError", "FileNotFoundError"))
    assert not outside.exists()
    assert strict.result["inside"] == "fine"


def test_strict_mode_refuses_where_it_cannot_be_enforced(
        tool_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "_landlock_reason", lambda: "no Landlock in this kernel")
    tool_settings.dangerous_tools = False
    with pytest.raises(SandboxError) as info:
        run_tool("def one():\n    return 1\n", "one", {}, tool_settings)
    assert info.value.exit_code == 9
    assert "no Landlock" in str(info.value)


@pytest.mark.skipif(not sandbox.strict_available(), reason="strict mode not enforceable here")
def test_strict_network_error_is_classified_with_a_strict_hint(tool_settings: Settings,
                                                               loopback_server: int) -> None:
    tool_settings.dangerous_tools = False
    code = ("import socket\ndef fetch(port: int):\n"
            "    return socket.create_connection(('127.0.0.1', port), timeout=3) and 1\n")
    result = run_tool(code, "fetch", {"port": loopback_server}, tool_settings)
    assert result.error is not None
    assert result.error["class"] in ("network", "permission")
    assert "strict" in " ".join(result.error["suggestions"])


# ----------------------------------------------------------------------- working directory
def test_open_mode_runs_in_the_working_directory_with_a_fresh_scratch_home(
        tool_settings: Settings, tmp_path: Path) -> None:
    code = ("import os\ndef where():\n    open('mark', 'w').write('x')\n"
            "    open(os.path.join(os.environ['HOME'], 'm'), 'w').write('y')\n"
            "    return [os.getcwd(), os.environ['HOME']]\n")
    first = run_tool(code, "where", {}, tool_settings)
    second = run_tool(code, "where", {}, tool_settings)
    assert first.result[0] == str(Path.cwd().resolve()), first  # the working directory
    assert first.result[1] != second.result[1]  # a fresh scratch HOME, removed afterwards
    assert not Path(first.result[1]).exists()
    assert (Path.cwd() / "mark").read_text() == "x"
    assert first.files == [{"path": "mark", "bytes": 1, "change": "new"}], first
    assert second.files == []  # the same content again: nothing changed
    kept = run_tool(code, "where", {}, tool_settings, workdir=tmp_path / "scratch")
    assert Path(kept.result[1]) == (tmp_path / "scratch").resolve()
    assert (tmp_path / "scratch" / "m").read_text() == "y"


# ----------------------------------------------------------------------- classification
@pytest.mark.parametrize("body, kind, hint", [
    ("return undefined_name", "name", "defined"),
    ("return int('abc')", "value", "validate"),
    ("return [1][5]", "index", "len()"),
    ("return 1 / 0", "zero_division", "divisor"),
    ("return None.upper()", "attribute", "None"),
    ("return 'a' + 1", "type", "convert"),
    ("return open('/nonexistent/file.txt').read()", "file_not_found", "working directory"),
    ("import numpy_not_installed_xyz\n    return 1", "missing_module", "PyPI"),
    ("raise RuntimeError('custom failure')", "exception", "traceback"),
    ("import sys\n    sys.exit(4)", "exception", "traceback"),
])
def test_errors_are_classified_with_a_traceback_into_the_tool(
        tool_settings: Settings, body: str, kind: str, hint: str) -> None:
    code = f"def helper():\n    pass\n\ndef broken():\n    {body}\n"
    result = run_tool(code, "broken", {}, tool_settings)
    assert result.error is not None, result
    assert result.error["class"] == kind, result.error
    assert hint in " ".join(result.error["suggestions"])
    if kind not in ("exception",) or "custom" in body:
        assert 'File "broken.py", line 5, in broken' in result.error["traceback"]
    assert "sandbox_child" not in result.error["traceback"]


def test_missing_module_suggests_a_standard_library_alternative(tool_settings: Settings) -> None:
    result = run_tool("def fetch(url):\n    import requests\n    return requests.get(url).text\n",
                      "fetch", {"url": "http://127.0.0.1:9/"}, tool_settings)
    if result.error is None or result.error["class"] != "missing_module":
        pytest.skip("requests is installed in this environment")
    assert "urllib.request" in " ".join(result.error["suggestions"])


def test_signature_mismatch_shows_the_actual_signature(tool_settings: Settings) -> None:
    code = "def area(width: float, height: float = 1.0):\n    return width * height\n"
    result = run_tool(code, "area", {"w": 2}, tool_settings)
    assert result.error is not None and result.error["class"] == "signature_mismatch"
    assert "area(width: float, height: float = 1.0)" in result.error["suggestions"][0]
    inner = run_tool("def t(x):\n    return len(x)\n", "t", {"x": 3}, tool_settings)
    assert inner.error is not None and inner.error["class"] == "type"  # raised inside


def test_original_single_dict_tools_and_async_tools_run(tool_settings: Settings) -> None:
    legacy = run_tool("def total(args):\n    return sum(args['numbers'])\n", "total",
                      {"numbers": [1, 2, 3]}, tool_settings)
    assert legacy.ok and legacy.result == 6, legacy
    coro = run_tool("import asyncio\nasync def later(x: int):\n    await asyncio.sleep(0)\n"
                    "    return x * 2\n", "later", {"x": 4}, tool_settings)
    assert coro.ok and coro.result == 8, coro


def test_a_file_whose_function_is_named_otherwise_runs_its_single_public_function(
        tool_settings: Settings, tmp_path: Path) -> None:
    code = ("import math\n\ndef _private():\n    pass\n\n"
            "def root(x: float):\n    return math.sqrt(x)\n")
    result = run_tool(code, "helpers", {"x": 9}, tool_settings, workdir=tmp_path / "new")
    assert result.ok and result.result == 3.0, result
    assert (tmp_path / "new").is_dir()
