"""``autoagent batch --executor dask`` on a real Dask cluster started by the test: a
``dask scheduler`` and a ``dask worker`` process on 127.0.0.1, the worker with its own HOME,
working directory and temp folder. Tools and sessions created on the worker end up in the
submitting machine's library and ``sessions list``; the library reaches the worker."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CliFn
from fixtures.runs import script_path
from support.batch_tasks import read_results, tool_script, write_tasks
from support.fake_openai import FakeOpenAI

DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The scheduler address and the worker's own folder (nothing of the submitter's)."""
    from distributed import Client

    tmp_path = tmp_path_factory.mktemp("cluster")
    address = f"tcp://127.0.0.1:{_free_port()}"
    worker_home = tmp_path / "worker-machine"
    (worker_home / "home").mkdir(parents=True)
    (worker_home / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k != "XDG_CONFIG_HOME" and not k.startswith(("OPENAI_", "AUTOAGENT_"))}
    procs = [subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--no-dashboard"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    worker_env = {**env, "HOME": str(worker_home / "home"), "TMPDIR": str(worker_home / "tmp")}
    procs.append(subprocess.Popen(
        [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
         "--local-directory", str(worker_home)], cwd=worker_home, env=worker_env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        yield address, worker_home
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_worker_tools_and_sessions_merge_into_the_submitters_stores(
        cli: CliFn, isolated: Path, cluster: tuple[str, Path]) -> None:
    address, worker_home = cluster
    folder = isolated / "jobs"
    folder.mkdir()
    base_v1 = "def base(x):\n    return x * 10\n"
    tool_script(folder / "seed.json", "base", base_v1, {"x": 1}, "10")
    write_tasks(folder / "seed.jsonl", [{"id": "seed", "task": "seed", "script": "seed.json"}])
    assert cli("batch", str(folder / "seed.jsonl")).returncode == 0  # base v1, locally

    for n in range(2):
        tool_script(folder / f"own{n}.json", f"own_{n}", f"def own_{n}():\n    return {n}\n")
    tool_script(folder / "use.json", "base", "", {"x": 4}, "40", create=False)
    tool_script(folder / "same.json", "base", base_v1, {"x": 2}, "20")
    tool_script(folder / "change.json", "base", "def base(x):\n    return x * 100\n",
                {"x": 1}, "100")
    names = ["own0", "own1", "use", "same", "change"]
    write_tasks(folder / "tasks.jsonl",
                [{"id": n, "task": f"task {n}", "script": f"{n}.json"} for n in names])
    result = cli("batch", str(folder / "tasks.jsonl"), "--executor", "dask",
                 "--scheduler", address, "--json", timeout=180)
    assert result.returncode == 0, result
    rows = {r["id"]: r for r in read_results(folder / "tasks.results.jsonl")}
    assert set(rows) == set(names) and {r["status"] for r in rows.values()} == {"completed"}
    assert rows["use"]["tools_used"][0]["name"] == "base"  # the shipped library was there

    tools = {t["name"]: t for t in json.loads(cli("tools", "list", "--json").stdout)}
    assert set(tools) == {"base", "own_0", "own_1"}
    history = json.loads(cli("tools", "history", "base", "--json").stdout)
    assert [v["version"] for v in history] == [1, 2]  # same code: v1; other code: v2
    assert "x * 100" in cli("tools", "show", "base").stdout
    assert rows["change"]["tools_created"][0]["version"] == 2

    listed = {s["id"] for s in json.loads(cli("sessions", "list", "--json").stdout)}
    assert {r["session_id"] for r in rows.values()} <= listed
    for row in rows.values():
        session = json.loads(cli("sessions", "show", row["session_id"], "--json").stdout)
        assert session["status"] == "completed"
        run_dir = Path(session["run_dirs"][0])
        assert run_dir.is_absolute() and worker_home / "tmp" in run_dir.parents
        assert isolated not in run_dir.parents  # it ran in the worker's folder


def test_unreachable_scheduler_is_one_line(cli: CliFn, isolated: Path) -> None:
    folder = isolated / "u"
    folder.mkdir()
    tool_script(folder / "s.json", "t", "def t():\n    return 1\n")
    write_tasks(folder / "tasks.jsonl", [{"id": "a", "task": "a", "script": "s.json"}])
    result = cli("batch", str(folder / "tasks.jsonl"), "--executor", "dask",
                 "--scheduler", f"tcp://127.0.0.1:{_free_port()}", timeout=120,
                 env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert result.returncode == 3, result
    assert result.stderr.strip().startswith("autoagent: error: cannot reach the Dask")
    assert "Traceback" not in result.stderr


def test_secrets_reach_the_worker_only_with_env_from_host(
        cli: CliFn, isolated: Path, cluster: tuple[str, Path]) -> None:
    address, worker_home = cluster
    canary = "sk-canary-batch-7f3a9c"
    replies = [r["text"] for r in json.loads(Path(script_path("happy_path")).read_text())]
    write_tasks(isolated / "tasks.jsonl", [{"id": "s", "task": "sum 1, 2 and 3"}])
    with FakeOpenAI.start(api_key=canary) as oai:
        env = {**oai.env(), "OPENAI_MODEL": oai.model}
        args = ["batch", "tasks.jsonl", "--backend", "openai", "--executor", "dask",
                "--scheduler", address, "-m", "1", "--json"]
        without = cli(*args, "-o", "without.jsonl", env=env, timeout=120)
        assert without.returncode == 1, without  # the worker has no key of its own
        oai.replies.extend(replies)
        result = cli(*args, "-o", "with.jsonl", "--env-from-host", "OPENAI_API_KEY",
                     "--env-from-host", "OPENAI_BASE_URL", "--env-from-host", "OPENAI_MODEL",
                     env=env, timeout=120)
        assert result.returncode == 0, result
    row = read_results(isolated / "with.jsonl")[0]
    assert row["status"] == "completed" and row["answer"] == "6", row["error"]
    session = cli("sessions", "show", row["session_id"], "--json").stdout
    assert json.loads(session)["status"] == "completed"
    for text in (session, (isolated / "with.jsonl").read_text(), result.stderr):
        assert canary not in text
    for path in [*worker_home.rglob("*"), *isolated.rglob("*")]:
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_workers_install_the_versions_locked_on_the_submitting_machine(
        cli: CliFn, isolated: Path, cluster: tuple[str, Path], tmp_path: Path) -> None:
    from support.package_index import build_wheel, serve_index

    address, _ = cluster
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "tinyfmt", "1.0", {"tinyfmt/__init__.py": "V = 'v1'\n"})
    library = isolated / ".permanent_tools"
    library.mkdir()
    (library / "which.py").write_text("# /// script\n# dependencies = [\"tinyfmt\"]\n# ///\n"
                                      "import tinyfmt\n\ndef which():\n    return tinyfmt.V\n")
    with serve_index(wheels) as index:
        env = {"AUTOAGENT_PACKAGE_INDEX_URL": index.url, "UV_NO_CONFIG": "1",
               "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
        locked = cli("tools", "deps", "which", "--install", env=env)
        assert locked.returncode == 0, locked
        build_wheel(wheels, "tinyfmt", "2.0", {"tinyfmt/__init__.py": "V = 'v2'\n"})
        tool_script(isolated / "which.json", "which", "", {}, "done", create=False)
        # a tool the worker writes without declaring its import: fixed and locked there
        tool_script(isolated / "plain.json", "plain",
                    "import tinyfmt\n\ndef plain():\n    return tinyfmt.V\n", {}, "done")
        write_tasks(isolated / "tasks.jsonl",
                    [{"id": "w", "task": "which version", "script": "which.json"},
                     {"id": "p", "task": "plain version", "script": "plain.json"}])
        result = cli("batch", "tasks.jsonl", "--executor", "dask", "--scheduler", address,
                     "--json", "--env-from-host", "AUTOAGENT_PACKAGE_INDEX_URL",
                     "--env-from-host", "UV_NO_CONFIG", env=env, timeout=180)
        assert result.returncode == 0, result
    rows = {r["id"]: r for r in read_results(isolated / "tasks.results.jsonl")}
    session = json.loads(cli("sessions", "show", rows["w"]["session_id"], "--json").stdout)
    ran = session["turns"][0]["results"][0]
    assert ran["ok"] is True and ran["result"] == "v1", ran  # the lock, not the newest
    plain = json.loads(cli("sessions", "show", rows["p"]["session_id"], "--json").stdout)
    assert plain["turns"][0]["results"][1]["result"] == "v2"  # resolved there: the newest
    # the declared version came back with the lock the worker wrote for it
    report = json.loads(cli("tools", "deps", "plain", "--json").stdout)
    assert report["version"] == 2 and report["declared"] == ["tinyfmt"]
    assert report["locked"] == {"tinyfmt": "2.0"}
