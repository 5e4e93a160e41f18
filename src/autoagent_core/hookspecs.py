"""The hooks a plugin can implement. Every hook is prefixed ``autoagent_``.

A plugin is a module (or object) registered under the entry point group ``autoagent``::

    # pyproject.toml of a third-party package
    [project.entry-points.autoagent]
    my_backend = "my_package.plugin"

The collector hooks (``autoagent_llm_backends`` ... ``autoagent_timeline_recorders``)
return a list of :class:`~autoagent_core.types.Provider` records. The core never decides
by load order: it picks the provider whose ``name`` the settings select, and reports an
error when the name is missing or claimed twice. Implementations may accept fewer
arguments than a spec (pluggy's rule), so specs grow by arguments, not by new hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from autoagent_core.types import Provider

PROJECT = "autoagent"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class AutoagentSpec:
    """Hook specifications of autoagent."""

    @hookspec
    def autoagent_llm_backends(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return model backends: ``Provider(name, factory, description)``.

        ``factory(settings)`` returns an object with ``name``, ``model``,
        ``complete(messages, options) -> Completion`` and ``close()``
        (:class:`~autoagent_core.types.LLMBackend`). Raise the project's
        ``BackendError`` subclasses from ``complete``.

        Example::

            @hookimpl
            def autoagent_llm_backends():
                return [Provider("echo", EchoBackend, "Replies with the last message")]
        """

    @hookspec
    def autoagent_tool_stores(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return tool stores: ``factory(settings)`` returns a
        :class:`~autoagent_core.types.ToolStore`. Selected by the ``tool_store`` setting.

        Example::

            @hookimpl
            def autoagent_tool_stores():
                return [Provider("sqlite", SqliteToolStore, "Tools in one SQLite file")]
        """

    @hookspec
    def autoagent_agent_registries(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return agent registries: ``factory(settings)`` returns an
        :class:`~autoagent_core.types.AgentRegistry`. Selected by ``agent_registry``.

        Example::

            @hookimpl
            def autoagent_agent_registries():
                return [Provider("memory", MemoryAgents, "Agents kept in memory")]
        """

    @hookspec
    def autoagent_session_stores(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return session stores: ``factory(settings)`` returns a
        :class:`~autoagent_core.types.SessionStore`. Selected by ``session_store``.

        Example::

            @hookimpl
            def autoagent_session_stores():
                return [Provider("redis", RedisSessions, "Sessions in Redis")]
        """

    @hookspec
    def autoagent_timeline_recorders(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return timeline recorders: ``factory(settings, run_dir)`` returns a
        :class:`~autoagent_core.types.TimelineRecorder`. Every recorder named in the
        ``recorders`` setting receives every event of a run.

        Example::

            @hookimpl
            def autoagent_timeline_recorders():
                return [Provider("otel", OtelRecorder, "Send events as OpenTelemetry spans")]
        """

    @hookspec
    def autoagent_register_commands(self, app: Any) -> None:
        """Add commands to the ``autoagent`` Typer app. Keep imports inside the
        command functions so ``autoagent --help`` stays fast.

        Example::

            @hookimpl
            def autoagent_register_commands(app):
                @app.command()
                def hello(name: str) -> None:
                    print(f"hello {name}")
        """

    @hookspec
    def autoagent_tool_sources(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return tool sources beside the library: ``factory(settings)`` returns a
        :class:`~autoagent_core.tools.external.ToolSource`. Every source is consulted by
        ``tools list``, ``tools run`` and the run loop; its tool names contain a dot.

        Example::

            @hookimpl
            def autoagent_tool_sources():
                return [Provider("mcp", McpToolSource, "Tools of the configured MCP servers")]
        """

    @hookspec
    def autoagent_executors(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return batch executors: ``factory(options)`` gets
        :class:`~autoagent_core.batch.executors.ExecutorOptions` and returns an
        :class:`~autoagent_core.batch.executors.Executor`. ``autoagent batch --executor
        NAME`` selects one (``local`` and ``dask`` are built in).

        Example::

            @hookimpl
            def autoagent_executors():
                return [Provider("ray", RayExecutor, "Each task as a Ray remote function")]
        """

    @hookspec
    def autoagent_dashboard_pages(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return pages of ``autoagent dashboard``: ``Provider(slug, render, title)``.
        ``render(context, params)`` gets the dashboard's context (its ``settings`` and
        folders) and the query parameters, and returns JSON-able data: a list of flat
        dicts is shown as a table, anything else as highlighted JSON, always escaped. The
        page is served at ``/p/<slug>`` (and ``/p/<slug>.json``) and listed in the menu.

        Example::

            @hookimpl
            def autoagent_dashboard_pages():
                return [Provider("batch", batch_progress, "Batch progress")]
        """

    @hookspec
    def autoagent_secret_stores(self) -> list[Provider]:  # type: ignore[empty-body]
        """Return secret stores: ``factory(settings)`` returns a
        :class:`~autoagent_core.secrets.store.SecretStore` (``name``, ``location()``,
        ``get``, ``set``, ``delete``, ``names()``, ``stamp()``). Selected by the
        ``secret_store`` setting (``file`` and ``keyring`` are built in).

        Example::

            @hookimpl
            def autoagent_secret_stores():
                return [Provider("vault", VaultSecrets, "Secrets in HashiCorp Vault")]
        """


LAYER_HOOKS: dict[str, str] = {
    "backend": "autoagent_llm_backends",
    "tool_store": "autoagent_tool_stores",
    "agent_registry": "autoagent_agent_registries",
    "session_store": "autoagent_session_stores",
    "recorder": "autoagent_timeline_recorders",
    "tool_source": "autoagent_tool_sources",
    "executor": "autoagent_executors",
    "dashboard_page": "autoagent_dashboard_pages",
    "secret_store": "autoagent_secret_stores",
}
"""Layer name (as in the settings) -> the collector hook that provides it."""
