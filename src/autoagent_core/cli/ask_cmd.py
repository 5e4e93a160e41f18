"""``autoagent ask``: send one prompt to the selected model backend and print the reply.

A quick way to check a backend and its credentials without starting a run. The reply is
printed as it streams in (``--no-stream`` waits for the whole text); ``--json`` prints
``{text, usage, model, finish_reason, latency_s}`` instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from autoagent_core.errors import UsageError
from autoagent_core.terminal_text import safe_text


def _read_prompt(prompt: str) -> str:
    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    return prompt


def _read_schema(path: Path) -> dict[str, Any]:
    import json

    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the JSON schema file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"the JSON schema file {path} is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise UsageError(f"the JSON schema file {path} must hold a JSON object")
    return schema


def ask(
    prompt: str = typer.Argument(..., help="The prompt ('-' reads it from stdin)."),
    backend: str | None = typer.Option(
        None, "--backend", "-b", help="Backend: auto, cloudflare, openai, local, scripted."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model of the backend."),
    system: str | None = typer.Option(None, "--system", "-s", help="A system message."),
    json_schema: Path | None = typer.Option(
        None, "--json-schema", help="Constrain the reply to the JSON schema in this file.",
        dir_okay=False),
    stream: bool | None = typer.Option(
        None, "--stream/--no-stream",
        help="Print the reply as it arrives (default: on, off with --json)."),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=1, help="Longest reply, in tokens."),
    temperature: float | None = typer.Option(
        None, "--temperature", min=0.0, help="Sampling temperature."),
    as_json: bool = typer.Option(
        False, "--json", help="Print {text, usage, model, finish_reason, latency_s}."),
) -> None:
    """Send one prompt to the model backend and print the reply."""
    from autoagent_core.cli.common import print_json, settings
    from autoagent_core.layers import open_backend
    from autoagent_core.secrets.task import protect_task
    from autoagent_core.types import CompletionOptions, Message

    text = _read_prompt(prompt)
    schema = _read_schema(json_schema) if json_schema is not None else None
    conf = settings(backend=backend, model=model, max_tokens=max_tokens,
                    temperature=temperature)
    # a key pasted into the prompt is stored and never sent to the model
    text = protect_task(text, conf, "the prompt") or text
    system = protect_task(system, conf, "the system message")
    messages = [Message("system", system)] if system else []
    messages.append(Message("user", text))
    live = (not as_json) if stream is None else stream
    printed: list[str] = []

    def show(piece: str) -> None:
        if not as_json:
            sys.stdout.write(safe_text(piece))
            sys.stdout.flush()
            printed.append(piece)

    options = CompletionOptions(
        max_tokens=conf.max_tokens,
        temperature=conf.temperature,
        json_schema=schema,
        on_text=show if live else None,
    )
    llm = open_backend(conf)
    try:
        completion = llm.complete(messages, options)
    finally:
        if printed and not printed[-1].endswith("\n"):
            sys.stdout.write("\n")  # an error line after partial output starts on its own line
            sys.stdout.flush()
        llm.close()
    if as_json:
        print_json({
            "text": completion.text,
            "usage": completion.usage.to_dict(),
            "model": completion.model,
            "finish_reason": completion.finish_reason,
            "latency_s": completion.latency_s,
        })
    elif not printed:
        text = safe_text(completion.text)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def register(app: typer.Typer) -> None:
    """Add the ``ask`` command to the app."""
    app.command("ask")(ask)
