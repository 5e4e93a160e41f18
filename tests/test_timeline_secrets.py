"""No secret reaches a timeline file (RELIABILITY item 16), even when the EventBus was
given no redactor: each recorder redacts again at write time."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from autoagent_core.config import load_settings
from autoagent_core.events import EventBus
from autoagent_core.layers import open_recorders
from autoagent_core.redact import Redactor, redactor_for
from autoagent_core.rundir import new_run_dir
from support.timeline_events import emit_realistic_run

ENV_CANARY = "cfCANARYenv7f3a9b2c4d5e6f708192a3b4c5d6e7f8"
CONFIG_CANARY = "sk-CANARYconfig0a1b2c3d4e5f60718293a4b5c6d7e8"
HEADER_CANARY = "hdrCANARY9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4"  # in a header only


def grep(canary: str, directory: Path) -> str:
    result = subprocess.run(["grep", "-r", "-a", canary, str(directory)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


@pytest.mark.parametrize("bus_redacts", [True, False], ids=["bus-redacts", "bus-does-not"])
def test_canaries_never_reach_the_run_folder(
        isolated: Path, monkeypatch: pytest.MonkeyPatch, bus_redacts: bool) -> None:
    monkeypatch.setenv("CLOUDFLARE_AUTH_TOKEN", ENV_CANARY)
    config = isolated.parent / "config" / "autoagent" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'openai_api_key = "{CONFIG_CANARY}"\n', encoding="utf-8")
    settings = load_settings()
    assert settings.openai_api_key == CONFIG_CANARY
    run_dir = new_run_dir(settings.path("log_dir"))
    bus = EventBus(open_recorders(settings, run_dir),
                   redactor=redactor_for(settings) if bus_redacts else Redactor())
    both = f" {ENV_CANARY} {CONFIG_CANARY} "
    # in every model reply, tool output, agent text, the task and the answer
    emit_realistic_run(bus, payload=both, finish=False)
    # an exception message
    bus.emit("error", message=f"HTTP 401 for token {ENV_CANARY}: {CONFIG_CANARY}",
             kind="AuthenticationError")
    # a logged request with Authorization headers (one with a token nobody declared)
    bus.emit("http_request", method="POST", url="https://api.example/v1",
             headers={"Authorization": f"Bearer {HEADER_CANARY}",
                      "X-Api-Key": HEADER_CANARY},
             log=f"POST /v1\nAuthorization: Bearer {HEADER_CANARY}\n"
                 f"authorization: {HEADER_CANARY}")
    bus.emit("model_request", agent="coder", turn=3,
             messages=[{"role": "user", "content": f"my key is {ENV_CANARY}"}])
    bus.emit("run_finished", status="failed", answer=both, turns=3)
    bus.close()
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == ["events.jsonl", "timeline.html", "timeline.md", "transcript.json"]
    for canary in (ENV_CANARY, CONFIG_CANARY, HEADER_CANARY):
        assert grep(canary, run_dir) == "", canary
    # and the redaction is visible, so a reader knows something was removed
    assert "[REDACTED]" in (run_dir / "timeline.md").read_text(encoding="utf-8")
    assert "[REDACTED]" in (run_dir / "events.jsonl").read_text(encoding="utf-8")
