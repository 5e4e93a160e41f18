"""The limits of a call's whole process tree, through ``autoagent tools run`` and ``run``:
real children, real forks, real CPU burn, with the cgroup limiter (where this machine can
make one) and the /proc watchdog, in open and strict mode. After every call no process of
the tool is left: each tool puts a token of its own in its processes' command lines, and
/proc is scanned for it."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoagent_core.config import Settings
from autoagent_core.sandbox import launcher as sandbox
from autoagent_core.sandbox.cgroup import cgroup_limiter
from autoagent_core.sandbox.tree_limits import Caps
from fixtures.runs import RunTask

CHILDREN_150MB = '''
import subprocess, sys, time
def hog(token: str):
    code = "import sys, time; b = b'x' * (150 * 1024 * 1024); time.sleep(60)"
    procs = [subprocess.Popen([sys.executable, "-c", code, token]) for _ in range(5)]
    for p in procs:
        p.wait()
    return "all five children ran to the end"
'''

FORK_LOOP = '''
import os, sys, time
def bomb(token: str):
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)", token]
    while True:
        try:
            if os.fork() == 0:
                os.execv(sys.executable, sleeper)
        except OSError:
            time.sleep(0.01)  # refused: keep trying, as a fork loop does
'''

FOUR_BURNERS = '''
import subprocess, sys
def burn(token: str):
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass", token])
             for _ in range(4)]
    for p in procs:
        p.wait()
    return "the burners ended on their own"
'''

SETSID_GRANDCHILD = '''
import subprocess, sys, time
def leave(token: str):
    child = ("import subprocess, sys; subprocess.Popen([sys.executable, '-c', "
             "'import time; time.sleep(120)', sys.argv[1]], start_new_session=True)")
    subprocess.run([sys.executable, "-c", child, token], check=True)
    time.sleep(0.3)
    return "left a daemon behind"
'''


def _cgroup_available() -> bool:
    limiter, _ = cgroup_limiter(Caps(Settings(), 2))
    if limiter is None:
        return False
    limiter.close()
    return True


def _with_token(token: str) -> list[int]:
    """Live (not zombie) processes whose command line holds ``token``."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline.split(b"\0") and state not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def _none_left(token: str, seconds: float = 3.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _with_token(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture(params=["cgroup", "watchdog"])
def limiter(request: pytest.FixtureRequest) -> str:
    if request.param == "cgroup" and not _cgroup_available():
        pytest.skip("no cgroup can be made on this machine")
    return str(request.param)


@pytest.fixture(params=["open", "strict"])
def mode(request: pytest.FixtureRequest) -> str:
    if request.param == "strict" and not sandbox.strict_available():
        pytest.skip(f"strict mode unavailable: {sandbox.strict_unavailable_reason()}")
    return str(request.param)


def _tool(isolated: Path, name: str, code: str) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir(exist_ok=True)
    (tools / f"{name}.py").write_text(code)


def _run(cli, name: str, token: str, mode: str, limiter: str, **settings: str) -> dict:  # type: ignore[no-untyped-def]
    env = {"AUTOAGENT_TOOL_LIMITER": limiter, "AUTOAGENT_TOOL_TIMEOUT": "30",
           **{f"AUTOAGENT_{k.upper()}": v for k, v in settings.items()}}
    started = time.monotonic()
    result = cli("tools", "run", name, "--args", json.dumps({"token": token}), "--json",
                 "--sandbox", mode, env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result
    outcome = json.loads(result.stdout)
    assert elapsed < 25, f"the call was not stopped by its limit but ran {elapsed:.1f} s"
    assert outcome["ok"] is False
    return dict(outcome["error"])


def test_five_children_of_150_mb_under_a_200_mb_cap_stop_as_memory(
        cli, isolated: Path, mode: str, limiter: str) -> None:  # type: ignore[no-untyped-def]
    _tool(isolated, "hog", CHILDREN_150MB)
    token = f"hog-{secrets.token_hex(6)}"
    error = _run(cli, "hog", token, mode, limiter, tool_memory_mb="200")
    assert error["class"] == "memory", error
    assert "200 MiB" in error["message"]
    assert any("tool_memory_mb" in tip for tip in error["suggestions"])
    assert _none_left(token) == []


def test_a_fork_loop_stops_at_the_process_cap(
        cli, isolated: Path, mode: str, limiter: str) -> None:  # type: ignore[no-untyped-def]
    _tool(isolated, "bomb", FORK_LOOP)
    token = f"bomb-{secrets.token_hex(6)}"
    error = _run(cli, "bomb", token, mode, limiter, tool_max_processes="20")
    assert error["class"] == "processes", error
    assert "more than 20 processes" in error["message"]
    seen = int(re.search(r"\((\d+) seen\)", error["message"]).group(1))  # type: ignore[union-attr]
    # the cgroup refuses the 21st fork; the watchdog stops the loop a few polls late
    assert seen <= (20 if limiter == "cgroup" else 100), error["message"]
    assert any("tool_max_processes" in tip for tip in error["suggestions"])
    assert _none_left(token) == []


def test_cpu_of_four_children_is_summed_under_a_one_second_cap(
        cli, isolated: Path, mode: str, limiter: str) -> None:  # type: ignore[no-untyped-def]
    _tool(isolated, "burn", FOUR_BURNERS)
    token = f"burn-{secrets.token_hex(6)}"
    started = time.monotonic()
    error = _run(cli, "burn", token, mode, limiter, tool_cpu_seconds="1")
    # each child alone stays under 1 s of CPU until long after the sum passed it
    assert time.monotonic() - started < 15
    assert error["class"] == "cpu", error
    assert any("tool_cpu_seconds" in tip for tip in error["suggestions"])
    assert _none_left(token) == []


def test_a_setsid_grandchild_is_gone_after_the_call(
        cli, isolated: Path, mode: str, limiter: str) -> None:  # type: ignore[no-untyped-def]
    _tool(isolated, "leave", SETSID_GRANDCHILD)
    token = f"leave-{secrets.token_hex(6)}"
    result = cli("tools", "run", "leave", "--args", json.dumps({"token": token}),
                 "--sandbox", mode, env={"AUTOAGENT_TOOL_LIMITER": limiter})
    assert result.returncode == 0, result
    assert json.loads(result.stdout) == "left a daemon behind"
    assert _none_left(token) == []


WHERE_AM_I = '''
import os, subprocess, sys
def where():
    read = "print(open('/proc/self/cgroup').read(), end='')"
    child = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True)
    return {"tool": open("/proc/self/cgroup").read(), "child": child.stdout,
            "supervisor": open(f"/proc/{os.getppid()}/cgroup").read()}
'''


def test_every_process_of_a_call_is_in_the_calls_cgroup(
        cli, isolated: Path, mode: str) -> None:  # type: ignore[no-untyped-def]
    """The launcher moves the sandbox's processes in while they start; nothing of the tool
    runs before, so the tool, what it starts and its supervisor all count against the
    call's limits."""
    if not _cgroup_available():
        pytest.skip("no cgroup can be made on this machine")
    _tool(isolated, "where", WHERE_AM_I)
    result = cli("tools", "run", "where", "--json", "--sandbox", mode,
                 env={"AUTOAGENT_TOOL_LIMITER": "cgroup"})
    assert result.returncode == 0, result
    seen = json.loads(result.stdout)["result"]
    for process, text in seen.items():
        groups = dict(line.split(":", 2)[1:] for line in text.splitlines())
        limited = [groups.get(c, "") for c in ("memory", "pids", "cpuacct")] \
            if "memory" in groups else [groups.get("", "")]  # v1 hierarchies, or v2
        for path in limited:
            assert "/autoagent-call-" in path, (process, text)
    assert len({text for text in seen.values()}) == 1, seen


def _cli_without_cgroups(isolated: Path, *args: str,
                         env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI on a machine without cgroups: /sys/fs/cgroup covered by an empty
    tmpfs in a mount namespace of its own (root only), else the machine as it is."""
    command = [sys.executable, "-m", "autoagent_core", *args]
    unshare = shutil.which("unshare")
    if _cgroup_available():
        if os.geteuid() != 0 or unshare is None:
            pytest.skip("cannot hide this machine's cgroups (needs root and unshare)")
        command = [unshare, "--mount", "--propagation", "private", "sh", "-c",
                   'mount -t tmpfs none /sys/fs/cgroup && exec "$@"', "sh", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=isolated,
                          env={**os.environ, **env}, timeout=120)


def test_without_cgroups_auto_falls_back_to_the_watchdog_and_cgroup_refuses(
        isolated: Path) -> None:
    _tool(isolated, "hog", CHILDREN_150MB)
    token = f"hog-{secrets.token_hex(6)}"
    run_args = ("tools", "run", "hog", "--args", json.dumps({"token": token}), "--json")
    refused = _cli_without_cgroups(isolated, *run_args,
                                   env={"AUTOAGENT_TOOL_LIMITER": "cgroup"})
    assert refused.returncode == 9, refused
    assert refused.stderr.startswith("autoagent: error: tool_limiter is 'cgroup'")
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert _with_token(token) == []  # nothing ran
    fallback = _cli_without_cgroups(isolated, *run_args,
                                    env={"AUTOAGENT_TOOL_MEMORY_MB": "200"})
    assert fallback.returncode == 1, fallback
    assert json.loads(fallback.stdout)["error"]["class"] == "memory"
    assert _none_left(token) == []


def test_the_run_loop_reports_a_limit_as_its_own_class(
        run_task: RunTask, isolated: Path) -> None:
    token = f"bomb-{secrets.token_hex(6)}"
    script = isolated / "bomb.json"
    coder = {"thought": "fork", "actions": [
        {"type": "create_tool", "name": "bomb", "description": "forks", "code": FORK_LOOP},
        {"type": "run_tool", "name": "bomb", "args": {"token": token}}]}
    supervisor = {"thought": "stop", "decision": "done", "feedback": "", "tips": [],
                  "answer": "stopped"}
    script.write_text(json.dumps([{"agent": "coder", "text": json.dumps(coder)},
                                  {"agent": "supervisor", "text": json.dumps(supervisor)}]))
    run = run_task(None, "Fork", "--script", str(script),
                   env={"AUTOAGENT_TOOL_MAX_PROCESSES": "16"})
    assert run.returncode == 0, run
    failed = run.session["turns"][0]["results"][1]
    assert failed["ok"] is False and failed["error"]["class"] == "processes", failed
    assert any("tool_max_processes" in tip for tip in failed["error"]["suggestions"])
    assert _none_left(token) == []
