"""Terminal control sequences from a tool, a model or a docstring never reach a terminal raw:
the bytes ``tools run``, ``run``, ``runs show``, ``tools show`` and ``tools list`` write
to a pseudo-terminal hold no raw ESC, BEL, backspace, lone CR or C1 character, while
``--json`` output round-trips the original text exactly."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from conftest import CliFn

# OSC 52 clipboard write, a title change, a screen clear, a fake green line after a CR,
# backspace, and the 8-bit forms: CSI, OSC, ST, DCS
EVIL = ("\x1b]52;c;ZXZpbCBjbGlwYm9hcmQ=\x07\x1b]0;pwned title\x07\x1b[2J\x1b[H"
        "\r\x1b[32mautoagent: supervisor: done\x1b[0m\x08\x08\x9b2J\x9d0;t8\x9c\x90q\x9c"
        "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\")
DOC = EVIL.replace("\\", "").replace("\r", "")  # raw in the docstring (a CR would end a line)
CODE = (f'def noisy():\n    """Noisy tool. {DOC}"""\n    text = {EVIL!r}\n'
        '    print(text)\n    return text\n')
FORBIDDEN = {chr(c) for c in range(0x20) if c not in (0x0a, 0x09, 0x0d)} | {
    chr(c) for c in range(0x7f, 0xa0)}


def _script(path: Path) -> Path:
    coder = {"thought": "run it", "actions": [
        {"type": "create_tool", "name": "noisy", "description": "", "code": CODE},
        {"type": "run_tool", "name": "noisy", "args": {}}]}
    supervisor = {"thought": "done", "decision": "done", "feedback": EVIL, "tips": [],
                  "answer": f"answer {EVIL}"}
    path.write_text(json.dumps([{"agent": "coder", "text": json.dumps(coder)},
                                {"agent": "supervisor", "text": json.dumps(supervisor)}]))
    return path


def _on_a_terminal(work: Path, *args: str) -> tuple[int, str]:
    """Run ``autoagent ARGS`` with stdout and stderr on a pseudo-terminal; every byte."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "autoagent_core", *args], cwd=work,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=120)
    return code, b"".join(chunks).decode("utf-8")


def _assert_inert(text: str, what: str) -> None:
    raw = sorted({f"U+{ord(c):04X}" for c in text if c in FORBIDDEN})
    assert not raw, f"{what} wrote raw {raw}:\n{text!r}"
    lone_cr = text.replace("\r\n", "\n")
    assert "\r" not in lone_cr, f"{what} wrote a raw CR:\n{text!r}"


def test_a_tools_control_sequences_never_reach_the_terminal_raw(
        cli: CliFn, isolated: Path) -> None:
    ran = cli("run", "be noisy", "--json", "--script", str(_script(isolated / "s.json")))
    assert ran.returncode == 0, ran
    summary = json.loads(ran.stdout)
    assert summary["answer"] == f"answer {EVIL}"  # --json keeps the text exact
    assert not any(c in FORBIDDEN - {"\x1b"} for c in ran.stdout)  # escaped in JSON

    code, text = _on_a_terminal(isolated, "run", "be noisy again", "--script",
                                str(_script(isolated / "s2.json")))
    assert code == 0, text
    _assert_inert(text, "run")
    assert "answer \\x1b]52;c;" in text  # the answer is shown, escaped

    code, text = _on_a_terminal(isolated, "tools", "run", "noisy")
    assert code == 0, text
    _assert_inert(text, "tools run")
    assert "\\x1b]0;pwned title" in text or "\\u001b]0;pwned title" in text

    for args in (("tools", "show", "noisy"), ("tools", "list"),
                 ("runs", "show", summary["session_id"]), ("runs", "list"),
                 ("sessions", "show", summary["session_id"]), ("sessions", "list")):
        code, text = _on_a_terminal(isolated, *args)
        assert code == 0, text
        _assert_inert(text, " ".join(args))

    exact = cli("tools", "run", "noisy", "--json")
    assert json.loads(exact.stdout)["result"] == EVIL
    assert json.loads(cli("tools", "show", "noisy", "--json").stdout)["code"] == CODE
    assert cli("tools", "show", "noisy").stdout == CODE  # a pipe gets the exact code
