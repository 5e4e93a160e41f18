"""Plugin: any OpenAI-compatible server (``--backend openai``).

The implementation lives in :mod:`autoagent_plugins.openai.backend` and is imported only when
a backend is built, so starting the CLI costs nothing.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def build_backend(settings: Any) -> Any:
    from autoagent_plugins.openai.backend import OpenAICompatBackend

    return OpenAICompatBackend(settings)


@hookimpl
def autoagent_llm_backends() -> list[Provider]:
    return [Provider("openai", build_backend,
                     "OpenAI-compatible server (OpenAI, llama.cpp, Ollama, vLLM)")]
