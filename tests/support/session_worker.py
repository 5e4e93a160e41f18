"""A separate process that works on a session store, for the reliability tests.

    python session_worker.py create DIR N START_FILE   create N sessions, save each twice,
                                                       print their ids
    python session_worker.py hold DIR ID               open ID exclusively, print "held",
                                                       keep it until stdin closes
    python session_worker.py try DIR ID                try to open ID: exit 0, or print the
                                                       error and exit with its code
    python session_worker.py use DIR AGENT N START     record N uses of an agent
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # for fixtures.sessions

from autoagent_core.errors import AutoagentError  # noqa: E402
from autoagent_plugins.fs_agents.store import FileAgentRegistry  # noqa: E402
from autoagent_plugins.fs_sessions.store import FileSessionStore  # noqa: E402
from fixtures.sessions import make_session, make_turn  # noqa: E402


def _wait_for(path: Path, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"start file {path} never appeared")
        time.sleep(0.005)


def create(directory: Path, count: int, start: Path) -> None:
    store = FileSessionStore(directory)
    _wait_for(start)
    for _ in range(count):
        session = make_session(store.new_id(), turns=0)
        store.create(session)
        session.turns.append(make_turn(1))
        store.save(session)
        session.turns.append(make_turn(2))
        session.status = "completed"
        store.save(session)
        print(session.id, flush=True)


def hold(directory: Path, session_id: str) -> None:
    store = FileSessionStore(directory)
    with store.open_exclusive(session_id):
        print("held", flush=True)
        sys.stdin.read()  # until the test closes stdin or kills us


def try_open(directory: Path, session_id: str) -> int:
    store = FileSessionStore(directory)
    try:
        with store.open_exclusive(session_id):
            print("opened", flush=True)
    except AutoagentError as exc:
        print(exc, flush=True)
        return exc.exit_code
    return 0


def use(directory: Path, agent: str, count: int, start: Path) -> None:
    registry = FileAgentRegistry(directory)
    _wait_for(start)
    for _ in range(count):
        registry.record_use(agent)


def main(argv: list[str]) -> int:
    command, directory = argv[0], Path(argv[1])
    if command == "create":
        create(directory, int(argv[2]), Path(argv[3]))
    elif command == "hold":
        hold(directory, argv[2])
    elif command == "try":
        return try_open(directory, argv[2])
    elif command == "use":
        use(directory, argv[2], int(argv[3]), Path(argv[4]))
    else:
        raise SystemExit(f"unknown command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
