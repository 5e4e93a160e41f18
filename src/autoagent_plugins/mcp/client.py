"""The MCP client side: the tools of the configured MCP servers as one tool source.

Servers start lazily (the first time their tools are listed or called), once per process,
concurrently, each with its own start timeout, and stop on :meth:`McpToolSource.close`
(the end of a run or command). A server that cannot start or answer costs one warning line
naming it; every other server and the library keep working. Each call has a timeout.

The SDK is asynchronous and autoagent's loop is not: the connections live in an anyio
event loop on a background thread (a blocking portal), and every public method is a plain
blocking call.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.tools.external import ExternalTool
from autoagent_core.types import ToolResult, ToolSpec
from autoagent_plugins.mcp.servers_config import ServerConfig, all_servers

if TYPE_CHECKING:
    import anyio.abc
    from anyio.from_thread import BlockingPortal
    from mcp import Client
    from mcp_types import CallToolResult, Tool

    from autoagent_core.config import Settings

CLOSE_TIMEOUT_S = 5.0


def _print_warning(message: str) -> None:
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)



def _failure(error_class: str, message: str, *suggestions: str,
             duration_s: float = 0.0) -> ToolResult:
    return ToolResult(ok=False, error={"class": error_class, "message": message,
                                       "suggestions": list(suggestions)},
                      duration_s=duration_s)


def _one_line(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)  # an ExceptionGroup: say its first cause
    if inner:
        return _one_line(inner[0])
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def result_of(call: CallToolResult, duration_s: float) -> ToolResult:
    """An MCP tool result as a :class:`ToolResult`: structured content when the server
    gave it, else the text (parsed when it is JSON)."""
    texts = [getattr(block, "text", "") for block in call.content
             if getattr(block, "type", "") == "text"]
    text = "\n".join(texts)
    if call.is_error:
        return _failure("mcp_tool_error", text or "the MCP tool reported an error",
                        "check the arguments against the tool's input schema",
                        duration_s=duration_s)
    value: Any = call.structured_content
    if value is None:
        try:
            value = json.loads(text) if len(texts) == 1 else text
        except ValueError:
            value = text
    return ToolResult(ok=True, result=value, duration_s=duration_s)


class _Server:
    """One configured server and, once started, its client and tools."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.client: Client | None = None
        self.tools: list[Tool] = []
        self.error: str | None = None
        self.started = False


class McpToolSource:
    """Every configured MCP server's tools, named ``SERVER.TOOL`` (source ``mcp:SERVER``)."""

    def __init__(self, settings: Settings, servers: dict[str, ServerConfig] | None = None,
                 warn: Any = None) -> None:
        self.settings = settings
        configs = all_servers(settings=settings) if servers is None else servers
        self.servers = {name: _Server(cfg) for name, cfg in configs.items()}
        self._warn = warn or _print_warning
        self._portal_cm: Any = None
        self._portal: BlockingPortal | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._closing: Any = None
        self._logs = Path(tempfile.mkdtemp(prefix="autoagent-mcp-"))

    # ------------------------------------------------------------------ the protocol
    @staticmethod
    def _split(name: str) -> tuple[str, str]:
        """``SERVER.TOOL``, or the original AutoAgent's ``SERVER:TOOL``."""
        sep = "." if "." in name else ":"
        prefix, found, tool = name.partition(sep)
        return (prefix, tool) if found else ("", "")

    def owns(self, name: str) -> bool:
        return self._split(name)[0] in self.servers

    def list_tools(self) -> list[ExternalTool]:
        self._start(list(self.servers))
        out = []
        for name, server in self.servers.items():
            for tool in server.tools:
                if not server.config.allows(tool.name):
                    continue
                spec = ToolSpec(name=f"{name}.{tool.name}",
                                description=" ".join((tool.description or "").split()),
                                parameters=dict(tool.input_schema or {"type": "object"}))
                out.append(ExternalTool(spec, f"mcp:{name}"))
        return out

    def tools_of(self, name: str) -> list[Tool]:
        """One server's tools as the SDK describes them (``mcp tools NAME``)."""
        self._start([name])
        return self.servers[name].tools

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        prefix, tool = self._split(name)
        name = f"{prefix}.{tool}"
        server = self.servers.get(prefix)
        if server is None:
            return _failure("not_found", f"there is no MCP server named {prefix!r}")
        if not server.config.allows(tool):
            return _failure("not_allowed", f"MCP tool {name} is not in the allow_list of "
                            f"server '{prefix}'")
        self._start([prefix])
        if server.client is None:
            return _failure("mcp_unavailable",
                            f"MCP server '{prefix}' is not available: {server.error}",
                            "use other tools, or check the server with "
                            f"'autoagent mcp tools {prefix}'")
        if server.tools and tool not in {t.name for t in server.tools}:
            known = ", ".join(f"{prefix}.{t.name}" for t in server.tools[:20])
            return _failure("not_found", f"MCP server '{prefix}' has no tool {tool!r}",
                            f"its tools: {known}")
        assert self._portal is not None
        started = time.monotonic()
        limit = server.config.timeout or self.settings.mcp_call_timeout
        try:
            call = self._portal.call(self._call, server.client, tool, args, limit)
        except TimeoutError:
            return _failure("timeout", f"MCP tool {name} did not answer within {limit:g} s",
                            "try smaller inputs, or raise mcp_call_timeout",
                            duration_s=time.monotonic() - started)
        except Exception as exc:  # the server died or broke the protocol: a result, not a crash
            return _failure("mcp_error", f"MCP tool {name} failed: {_one_line(exc)}",
                            duration_s=time.monotonic() - started)
        return result_of(call, time.monotonic() - started)

    def close(self) -> None:
        if self._portal is None:
            return
        try:
            self._portal.call(self._shutdown)
            self._portal_cm.__exit__(None, None, None)
        except Exception as exc:  # never let stopping a server hide the run's outcome
            self._warn(f"stopping MCP servers: {_one_line(exc)}")
        self._portal = self._portal_cm = self._group = None

    # ------------------------------------------------------------------ inside the loop
    def _start(self, names: list[str]) -> None:
        pending = [self.servers[n] for n in names if n in self.servers
                   and not self.servers[n].started]
        if not pending:
            return
        if self._portal is None:
            from anyio.from_thread import start_blocking_portal

            self._portal_cm = start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
            _, self._group = self._portal.start_task(self._hold_group)
        self._portal.call(self._open_all, pending)
        for server in pending:
            server.started = True
            if server.error:
                self._warn(f"MCP server '{server.config.name}' is not available: "
                           f"{server.error} (its tools are left out)")

    async def _hold_group(self, *, task_status: Any) -> None:
        import anyio

        self._closing = anyio.Event()
        async with anyio.create_task_group() as group:
            task_status.started(group)
            await self._closing.wait()
            group.cancel_scope.cancel()

    async def _open_all(self, servers: list[_Server]) -> None:
        import anyio

        async with anyio.create_task_group() as group:
            for server in servers:
                group.start_soon(self._open, server)

    async def _open(self, server: _Server) -> None:
        import anyio

        assert self._group is not None
        try:
            with anyio.fail_after(self.settings.mcp_start_timeout):
                server.client, server.tools = await self._group.start(self._hold, server)
        except TimeoutError:
            server.error = (f"no answer within {self.settings.mcp_start_timeout:g} s "
                            f"(server log: {self._log_path(server)})")
        except Exception as exc:
            server.error = f"{_one_line(exc)} (server log: {self._log_path(server)})"

    def _log_path(self, server: _Server) -> Path:
        return self._logs / f"{server.config.name}.log"

    async def _hold(self, server: _Server, *, task_status: Any) -> None:
        """Connect, list the tools, report them, then keep the connection until closing."""
        from mcp import Client, Implementation, StdioServerParameters
        from mcp.client.stdio import stdio_client

        from autoagent_core import __version__

        cfg = server.config
        async with AsyncExitStack() as stack:
            target: Any
            if cfg.url:
                target = cfg.url
            else:
                errlog = stack.enter_context(self._log_path(server).open("w"))
                target = stdio_client(StdioServerParameters(
                    command=cfg.command, args=cfg.args, env=cfg.env or None), errlog=errlog)
            client = await stack.enter_async_context(Client(
                target, read_timeout_seconds=self.settings.mcp_call_timeout,
                client_info=Implementation(name="autoagent", version=__version__)))
            tools: list[Tool] = []
            cursor: str | None = None
            for _ in range(100):  # a paginator that never ends cannot hang the start
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
            task_status.started((client, tools))
            assert self._closing is not None
            await self._closing.wait()

    async def _call(self, client: Client, tool: str, args: dict[str, Any],
                    limit: float) -> CallToolResult:
        import anyio

        with anyio.fail_after(limit):
            return await client.call_tool(tool, args)

    async def _shutdown(self) -> None:
        import anyio

        if self._closing is not None:
            self._closing.set()
        with anyio.move_on_after(CLOSE_TIMEOUT_S):
            await anyio.sleep(0)
