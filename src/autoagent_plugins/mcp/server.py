"""``autoagent mcp serve``: the tool library as an MCP server (stdio, or streamable HTTP).

* ``tools/list`` reads the library fresh on every request (a tool saved while the server
  runs is listed); each tool's input schema is the one the store derived from its
  signature (:func:`autoagent_core.tools.code.parameters_schema`).
* ``tools/call`` checks the arguments against that schema (a bad argument is an
  ``is_error`` result naming it), then runs the tool through the shared library-call path
  (:func:`autoagent_core.sandbox.library_call.run_library_tool`), exactly as ``tools run``
  does, in the sandbox mode the settings choose; the call is recorded in the tool's run
  history with caller ``mcp:<client name>`` and its duration. A failing tool is an
  ``is_error`` result with its classified error and suggestions: a handler exception would
  reach the client as a protocol error instead.
* A watcher polls the library's manifest and folder; on a change every client is told with
  ``notifications/tools/list_changed`` (handshake-era connections directly, 2026-era ones on
  their ``subscriptions/listen`` stream).
"""

from __future__ import annotations

import contextlib
import json
import sys
import weakref
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

if TYPE_CHECKING:
    from pathlib import Path

    from mcp.server.connection import Connection
    from mcp.server.context import ServerRequestContext

    from autoagent_core.config import Settings
    from autoagent_core.types import ToolResult, ToolSpec, ToolStore

WATCH_INTERVAL_S = 0.5
SERVER_NAME = "autoagent"


def schema_problem(schema: dict[str, Any], args: dict[str, Any]) -> str | None:
    """What is wrong with ``args`` for a tool with input ``schema``, naming the argument;
    ``None`` when they fit."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    if error.absolute_path:
        name = str(error.absolute_path[0])
        return f"argument '{name}': {error.message}"
    if error.validator == "required":
        missing = [p for p in schema.get("required", []) if p not in args]
        return f"missing required argument '{missing[0] if missing else '?'}'"
    if error.validator == "additionalProperties":
        extra = [k for k in args if k not in schema.get("properties", {})]
        return f"unknown argument '{extra[0] if extra else '?'}' ({error.message})"
    return error.message


def tool_of(spec: ToolSpec) -> types.Tool:
    schema = dict(spec.parameters or {"type": "object", "properties": {}})
    if spec.parameters.get("additionalProperties") is None:
        schema["additionalProperties"] = False  # an unknown argument is named, not ignored
    return types.Tool(name=spec.name, description=spec.description or None,
                      input_schema=schema)


def _error_result(message: str, error: dict[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                structured_content={"error": error} if error else None,
                                is_error=True)


def result_of(result: ToolResult, name: str) -> types.CallToolResult:
    """A library call's outcome as an MCP result: the JSON text and structured content
    (a returned object as is, another value as ``{"result": value}``), or ``is_error`` with
    the classified error and its suggestions."""
    if result.ok:
        value = result.result
        text = json.dumps(value, ensure_ascii=False)
        structured = value if isinstance(value, dict) else {"result": value}
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content=structured)
    error = dict(result.error or {})
    lines = [f"tool '{name}' failed: [{error.get('class', 'exception')}] "
             f"{error.get('message', '')}"]
    lines += [f"suggestion: {tip}" for tip in error.get("suggestions", [])]
    if error.get("traceback"):
        lines += ["traceback (tail):", str(error["traceback"])]
    return _error_result("\n".join(lines), error)


def _client_name(ctx: ServerRequestContext[Any, Any]) -> str:
    """The name the client gave (``clientInfo.name``), as a short plain word for the run
    history: it is the client's text, not autoagent's."""
    import re

    params = ctx.session.client_params
    info = params.client_info if params is not None else None
    name = info.name if info is not None and info.name else "unknown"
    return re.sub(r"[^A-Za-z0-9_.@+-]", "_", name)[:80]


class LibraryServer:
    """The MCP server over one tool library (``settings.tools_dir``)."""

    def __init__(self, settings: Settings, store: ToolStore) -> None:
        from autoagent_core.redact import redactor_for

        self.settings = settings
        self.store = store
        self.redact = redactor_for(settings)  # results leave like `tools run` output does
        self.bus = InMemorySubscriptionBus()
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()
        self.server: Server[Any] = Server(
            SERVER_NAME, version=_version(),
            instructions="The tools of an autoagent tool library: typed Python functions, "
                         "run in autoagent's sandbox.",
            on_list_tools=self.list_tools, on_call_tool=self.call_tool,
            on_subscriptions_listen=ListenHandler(self.bus))

    def initialization_options(self) -> Any:
        return self.server.create_initialization_options(
            NotificationOptions(tools_changed=True))

    def _seen(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Remember a handshake-era client's connection, to notify it of changes. (The
        request's session lives as long as the request; the SDK keeps its connection
        private, hence the getattr.)"""
        connection = getattr(ctx.session, "_connection", None)
        if connection is not None and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self._connections.add(connection)

    async def list_tools(self, ctx: ServerRequestContext[Any, Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        self._seen(ctx)
        specs = await anyio.to_thread.run_sync(self.store.list_tools)
        return types.ListToolsResult(tools=[tool_of(s) for s in specs], ttl_ms=0)

    async def call_tool(self, ctx: ServerRequestContext[Any, Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        from autoagent_core.errors import AutoagentError

        self._seen(ctx)
        name, args = params.name, dict(params.arguments or {})
        try:
            spec = next((s for s in await anyio.to_thread.run_sync(self.store.list_tools)
                         if s.name == name), None)
            if spec is None:
                return _error_result(f"there is no tool named {name!r} in the library")
            problem = schema_problem(tool_of(spec).input_schema, args)
            if problem:
                return _error_result(f"bad arguments for {spec.signature()}: {problem}",
                                     {"class": "bad_arguments", "message": problem,
                                      "suggestions": [f"call it as {spec.signature()}"]})
            result = await anyio.to_thread.run_sync(self._run, name, args, _client_name(ctx))
        except AutoagentError as exc:  # strict sandbox unavailable, store unreadable...
            return _error_result(f"{type(exc).__name__}: {exc}")
        return result_of(result, name)

    def _run(self, name: str, args: dict[str, Any], client: str) -> ToolResult:
        from autoagent_core.sandbox.library_call import run_library_tool
        from autoagent_core.types import ToolResult

        _, result = run_library_tool(self.store, name, args, self.settings,
                                     caller=f"mcp:{client}")
        return ToolResult.from_dict(self.redact(result.to_dict()))

    # ------------------------------------------------------------------ changes
    def _stamp(self) -> tuple[Any, ...]:
        """What changes when the library does: the manifest and the folder's listing."""
        folder: Path = self.settings.path("tools_dir")
        stamps: list[Any] = []
        for path in (folder / "manifest.json", folder):
            try:
                st = path.stat()
                stamps.append((st.st_mtime_ns, st.st_size))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def _listing(self) -> list[tuple[Any, ...]]:
        return [(s.name, s.version, s.description, json.dumps(s.parameters, sort_keys=True))
                for s in self.store.list_tools()]

    async def baseline(self) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """The stamp and the listing the watcher compares with: taken before the server
        answers anyone, so no client can have seen an older listing than the watcher."""
        return self._stamp(), await anyio.to_thread.run_sync(self._listing)

    async def watch(self, baseline: tuple[tuple[Any, ...], list[tuple[Any, ...]]]) -> None:
        """Tell every client when the list of tools changes (a new tool, version,
        description or signature; a run's statistics are no change). Polls the manifest
        and the folder, and reads the listing only when one of them moved."""
        stamp, listing = baseline
        while True:
            await anyio.sleep(WATCH_INTERVAL_S)
            now = self._stamp()
            if now == stamp:
                continue
            stamp = now
            try:
                fresh = await anyio.to_thread.run_sync(self._listing)
            except Exception:  # a manifest being rewritten: look again next time
                continue
            if fresh == listing:
                continue
            listing = fresh
            await self.bus.publish(ToolsListChanged())
            for connection in list(self._connections):
                try:
                    await connection.send_tool_list_changed()
                except Exception:  # a client gone away: forget it
                    self._connections.discard(connection)

    # ------------------------------------------------------------------ transports
    async def serve_stdio(self) -> None:
        import io

        from mcp.server.stdio import stdio_server

        # the replies go through the process's redacting stdout like any output
        stdin = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8",
                                                 errors="replace"))
        stdout = anyio.wrap_file(sys.stdout)
        baseline = await self.baseline()
        async with anyio.create_task_group() as group:
            group.start_soon(self.watch, baseline)
            async with stdio_server(stdin, stdout) as (read_stream, write_stream):
                await self.server.run(read_stream, write_stream,
                                      self.initialization_options())
            group.cancel_scope.cancel()

    async def serve_http(self, host: str, port: int) -> None:
        import socket

        import uvicorn

        app = self.server.streamable_http_app(host=host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            from autoagent_core.errors import UsageError

            sock.close()
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        sock.listen(128)  # listening before the address is printed: no refused first client
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(f"autoagent: serving the tool library at http://{shown}:{bound}/mcp",
              file=sys.stderr, flush=True)
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        baseline = await self.baseline()
        async with anyio.create_task_group() as group:
            group.start_soon(self.watch, baseline)
            await uvicorn.Server(config).serve(sockets=[sock])
            group.cancel_scope.cancel()


def _version() -> str:
    from autoagent_core import __version__

    return str(__version__)


def parse_http(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1); ``[::1]:PORT`` for IPv6."""
    from autoagent_core.errors import UsageError

    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "", value
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--http must be HOST:PORT (such as 127.0.0.1:8765), not {value!r}")
    return host, int(port_text)


def serve(settings: Settings, store: ToolStore, http: str | None) -> None:
    """Serve until the client closes stdin (stdio) or Ctrl-C (HTTP)."""
    server = LibraryServer(settings, store)
    if http is None:
        anyio.run(server.serve_stdio)
        return
    host, port = parse_http(http)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how an HTTP server stops
        anyio.run(server.serve_http, host, port)
