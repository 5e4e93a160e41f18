"""``autoagent mcp serve --http`` authenticates: a request without the Bearer token gets 401
and runs nothing; the official SDK's client with the token lists and calls; the token file
is created 0600 (a second user cannot read it); a bind beyond loopback needs
``--allow-remote``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import anyio
import httpx
from mcp import Client

from conftest import CliFn
from test_mcp_serve import http_server, with_token

SECOND_USER = "autoagent-trust"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "intruder", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def touching_library(isolated: Path) -> tuple[Path, Path]:
    folder = isolated / "lib"
    folder.mkdir()
    canary = isolated / "touched"
    (folder / "touch.py").write_text(
        f"def touch() -> str:\n    open({str(canary)!r}, 'w').write('x')\n    return 'done'\n")
    return folder, canary


def test_no_token_is_401_and_runs_nothing(touching_library: tuple[Path, Path],
                                          tmp_path: Path) -> None:
    library, canary = touching_library
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "touch", "arguments": {}}}
    with http_server(library, tmp_path / "serve.log", dict(os.environ)) as url:
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789abcdef"},
                        {"Authorization": "Basic dXNlcjpwYXNz"}):
            for body in (INIT, call):
                reply = httpx.post(url, json=body, headers={**HEADERS, **headers}, timeout=30)
                assert reply.status_code == 401, reply.text
                assert reply.headers["www-authenticate"].startswith("Bearer")
        assert httpx.get(url, headers=HEADERS, timeout=30).status_code == 401

        async def without_token() -> None:
            async with Client(url, read_timeout_seconds=30) as client:
                await client.list_tools()

        with pytest.raises(BaseException):  # noqa: B017 - whatever the SDK raises for 401
            anyio.run(without_token)

        async def with_the_token() -> Any:
            async with Client(with_token(url, tmp_path / "token"),
                              read_timeout_seconds=60) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                assert not canary.exists()  # nothing ran before an authenticated call
                return names, await client.call_tool("touch", {})

        names, result = anyio.run(with_the_token)
    assert names == ["touch"] and not result.is_error
    assert canary.exists()
    log = (tmp_path / "serve.log").read_text()
    assert (tmp_path / "token").read_text().strip() not in log


def test_default_token_lives_in_the_config_folder(touching_library: tuple[Path, Path],
                                                  tmp_path: Path, isolated: Path) -> None:
    library, _ = touching_library
    with http_server(library, tmp_path / "serve.log", dict(os.environ),
                     extra=("--sandbox", "open")):
        pass
    log = (tmp_path / "serve.log").read_text()
    expected = isolated.parent / "config" / "autoagent" / "mcp-serve-token"
    assert f"the token is new, in {expected}" in log, log
    assert expected.stat().st_mode & 0o777 == 0o600
    assert expected.parent.stat().st_mode & 0o077 == 0
    token = expected.read_text().strip()
    assert len(token) >= 32 and token not in log
    with http_server(library, tmp_path / "again.log", dict(os.environ),
                     extra=("--sandbox", "open")):
        pass
    assert f"the token is in {expected}" in (tmp_path / "again.log").read_text()
    assert expected.read_text().strip() == token  # kept, not replaced


def test_a_second_user_cannot_read_the_token_file(cli: CliFn) -> None:
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("creating a user needs root, useradd and runuser")
    if subprocess.run(["id", SECOND_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", SECOND_USER], capture_output=True)
    folder = Path(tempfile.mkdtemp(prefix="autoagent-token-", dir="/tmp"))
    try:
        folder.chmod(0o755)  # the folder is open: only the file's own mode protects it
        token_file = folder / "token"
        result = cli("mcp", "serve", "--http", "999999", "--token-file", str(token_file))
        assert result.returncode == 2  # a bad port: refused before anything starts
        assert not token_file.exists()
        from autoagent_plugins.mcp.http_auth import load_or_create_token

        token, created = load_or_create_token(token_file)
        assert created and token_file.stat().st_mode & 0o777 == 0o600
        listing = subprocess.run(["runuser", "-u", SECOND_USER, "--", "ls", str(folder)],
                                 capture_output=True, text=True)
        assert listing.returncode == 0 and "token" in listing.stdout  # it can see it...
        read = subprocess.run(["runuser", "-u", SECOND_USER, "--", "cat", str(token_file)],
                              capture_output=True, text=True)
        assert read.returncode != 0 and token not in read.stdout  # ...but not read it
        assert "Permission denied" in read.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_readable_or_linked_token_file_is_refused(cli: CliFn, isolated: Path) -> None:
    loose = isolated / "loose"
    loose.write_text("a" * 40 + "\n")
    loose.chmod(0o644)
    result = cli("mcp", "serve", "--http", "0", "--token-file", str(loose))
    assert result.returncode == 3 and "can be read by other users" in result.stderr, result
    link = isolated / "link"
    link.symlink_to(loose)
    result = cli("mcp", "serve", "--http", "0", "--token-file", str(link))
    assert result.returncode == 8 and "symbolic link" in result.stderr, result


def test_a_remote_bind_needs_allow_remote(cli: CliFn) -> None:
    result = cli("mcp", "serve", "--http", "0.0.0.0:0")
    assert result.returncode == 2 and "--allow-remote" in result.stderr, result
    assert cli("mcp", "serve", "--allow-remote").returncode == 2  # only with --http


def test_a_remote_bind_keeps_dns_rebinding_protection(touching_library: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    library, _ = touching_library
    log_path = tmp_path / "remote.log"
    token_file = tmp_path / "token"
    log = log_path.open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "mcp", "serve", "--tools-dir", str(library),
         "--sandbox", "open", "--http", "0.0.0.0:0", "--allow-remote",
         "--token-file", str(token_file)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    try:
        port = ""
        for _ in range(600):
            log.seek(0)
            found = re.search(r"http://0\.0\.0\.0:(\d+)/mcp", log.read())
            if found or proc.poll() is not None:
                port = found.group(1) if found else ""
                break
            anyio.run(anyio.sleep, 0.05)
        assert port, log_path.read_text()
        auth = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        evil = httpx.post(f"http://127.0.0.1:{port}/mcp", json=INIT, timeout=30,
                          headers={**HEADERS, **auth, "Host": "evil.example:80"})
        assert evil.status_code in (403, 421), evil.text  # a rebinding name is refused
        good = httpx.post(f"http://127.0.0.1:{port}/mcp", json=INIT, timeout=30,
                          headers={**HEADERS, **auth})
        assert good.status_code == 200, good.text
        assert "autoagent" in json.dumps(good.text)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
