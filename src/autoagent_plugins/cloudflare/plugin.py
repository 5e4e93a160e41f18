"""Plugin: the Cloudflare Workers AI backend (``--backend cloudflare``).

The implementation lives in :mod:`autoagent_plugins.cloudflare.backend` and is imported only
when a backend is built, so starting the CLI costs nothing.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def build_backend(settings: Any) -> Any:
    from autoagent_plugins.cloudflare.backend import CloudflareBackend

    return CloudflareBackend(settings)


@hookimpl
def autoagent_llm_backends() -> list[Provider]:
    return [Provider("cloudflare", build_backend, "Cloudflare Workers AI")]
