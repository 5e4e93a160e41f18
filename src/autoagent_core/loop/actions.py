"""Executes the actions agents ask for: create and run tools, create and consult agents.

Every problem an agent can fix (an invalid tool name, code that does not parse, a tool
that raises, an unknown agent, the nesting limit) comes back to the agent as a failed
result with a class, a message and suggestions: it never ends the run. Problems the agent
cannot fix (the strict sandbox is unavailable, the disk is full) raise the project's
exceptions and end the run with the session saved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import NotFoundError, UsageError
from autoagent_core.names import validate_agent_name
from autoagent_core.types import AgentSpec, Session, ToolResult, Turn

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.events import EventBus
    from autoagent_core.tools.external import ExternalTools
    from autoagent_core.types import AgentRegistry, ToolStore

RESERVED_AGENT_NAMES = frozenset({"coder", "supervisor", "user", "system"})

# consult(agent spec, message, depth, turn, asker) -> the agent's reply
Consult = Callable[[AgentSpec, str, int, Turn, str], str]


def failure(error_class: str, message: str, *suggestions: str) -> dict[str, Any]:
    """A failed result the agent reads (same shape as a sandbox error)."""
    return {"ok": False, "error": {"class": error_class, "message": message,
                                   "suggestions": list(suggestions)}}


class ActionExecutor:
    """Runs one agent's actions in order and records them in the turn."""

    def __init__(self, settings: Settings, tools: ToolStore, agents: AgentRegistry,
                 bus: EventBus, session: Session, consult: Consult,
                 external: ExternalTools | None = None) -> None:
        self.settings = settings
        self.external = external
        self.tools = tools
        self.agents = agents
        self.bus = bus
        self.session = session
        self.consult = consult
        # where open mode keeps what the run's commits replaced (``<run>/undo``)
        self.undo_dir: Path | None = None

    def execute(self, actions: list[dict[str, Any]], agent: str, turn: Turn,
                depth: int) -> list[dict[str, Any]]:
        """Execute ``actions`` of ``agent``; each action and its result go into ``turn``
        (the action before it runs, so an interrupted run still shows what was started)."""
        results = []
        for action in actions:
            index = len(turn.actions)
            turn.actions.append({"agent": agent, **action})
            result = self._dispatch(action, agent, turn, depth)
            if not result.get("ok") and action["type"] != "run_tool":
                # tool runs have their own event; other refusals would be invisible
                self.bus.emit("action_failed", agent=agent, turn=turn.index,
                              type=action["type"], name=action.get("name"),
                              error=result.get("error"))
            summary = {k: v for k, v in action.items() if k not in ("code", "instructions")}
            result = {"agent": agent, "index": index, "type": action["type"],
                      "name": action.get("name"), "action": summary, **result}
            turn.results.append(result)
            results.append(result)
        return results

    def _dispatch(self, action: dict[str, Any], agent: str, turn: Turn,
                  depth: int) -> dict[str, Any]:
        kind = action["type"]
        if kind == "create_tool":
            return self.create_tool(action, agent, turn)
        if kind == "run_tool":
            return self.run_tool(action["name"], action.get("args", {}), agent)
        if kind == "create_agent":
            return self.create_agent(action, agent)
        if kind == "ask_agent":
            return self.ask_agent(action["name"], action["message"], agent, turn, depth)
        if kind == "final_answer":
            self.bus.emit("final_answer", agent=agent, answer=action["answer"])
            return {"ok": True, "message": "final answer given"}
        return failure("unknown_action", f"unknown action type {kind!r}")

    # ------------------------------------------------------------------ tools
    def create_tool(self, action: dict[str, Any], agent: str, turn: Turn) -> dict[str, Any]:
        name, code = action["name"], action["code"]
        description = action.get("description", "")
        try:
            previous: int | None = self.tools.get(name).spec.version
        except NotFoundError:
            previous = None
        except UsageError as exc:
            return failure("invalid_name", str(exc),
                           "use a Python identifier of ASCII letters, digits and _")
        from autoagent_core.secrets.inject import (
            declared_secrets,
            hard_coded_message,
            hard_coded_secret,
        )

        secret = hard_coded_secret(code)
        if secret is not None:
            return failure("format_error", hard_coded_message(secret),
                           f"use os.environ[\"{secret}\"] where the code needs the key",
                           f"declare it: [tool.autoagent] secrets = [\"{secret}\"] in the "
                           "'# /// script' block")
        if len(code) > self.settings.tool_code_max_chars:
            return failure("too_large", f"the code has {len(code)} characters, more than the "
                           f"limit of {self.settings.tool_code_max_chars}",
                           "write a smaller tool; split the work into several tools")
        try:
            spec = self.tools.save(name, code, description)
        except UsageError as exc:
            return failure("invalid_tool", str(exc),
                           f"define a function named {name} at the top level of the code",
                           "check the syntax; escape newlines in JSON strings as \\n")
        if spec.version == previous:
            return {"ok": True, "version": spec.version,
                    "message": f"unchanged: {name} version {spec.version} already has this code"}
        declared, missing = declared_secrets(code)
        self.bus.emit("tool_created", name=name, version=spec.version,
                      description=spec.description, code=code, created=previous is None,
                      secrets=declared)
        self.session.tools_created.append(
            {"name": name, "version": spec.version, "turn": turn.index, "created_by": agent})
        verb = "created" if previous is None else "saved a new version of"
        message = f"{verb} {name}: version {spec.version}, signature {spec.signature()}"
        if declared:
            message += f"; at each call it gets the secret(s) {', '.join(declared)}"
        if missing:
            message += (f"; not kept yet: {', '.join(missing)} (the user keeps one with "
                        f"'autoagent secrets set {missing[0]}')")
        return {"ok": True, "version": spec.version, "message": message}

    def run_tool(self, name: str, args: dict[str, Any], agent: str = "coder") -> dict[str, Any]:
        """Run a library tool in the sandbox (the shared library-call path, recorded with
        the agent as caller) or, for a dotted ``SERVER.TOOL`` name, a tool source's tool
        (an MCP server's)."""
        from autoagent_core.sandbox.library_call import run_library_tool

        source = self.external.owner(name) if self.external is not None else None
        version: int | None = None
        if source is not None:
            result: ToolResult = source.call(name, args)
        else:
            try:
                tool, result = run_library_tool(self.tools, name, args, self.settings,
                                                caller=agent, notify=self.bus.emit,
                                                undo_dir=self.undo_dir)
            except NotFoundError:
                known = ", ".join(t.name for t in self.tools.list_tools()[:20]) or "none"
                return failure("not_found", f"there is no tool named {name!r}",
                               "create it with create_tool first, or use a listed tool",
                               f"tools in the library include: {known}")
            except UsageError as exc:
                return failure("invalid_name", str(exc))
            version = tool.spec.version
        self.bus.emit("tool_run", name=name, version=version, args=args,
                      ok=result.ok, result=result.result, error=result.error,
                      duration_s=result.duration_s, stdout=result.stdout, stderr=result.stderr,
                      files=result.files, refused=result.refused)
        self._note_use(name, version, result.ok)
        self._note_telemetry(name, args, result)
        out: dict[str, Any] = {"ok": result.ok, "version": version,
                               "duration_s": round(result.duration_s, 4)}
        if result.ok:
            out["result"] = result.result
        else:
            out["error"] = result.error
        for key in ("stdout", "stderr"):
            if getattr(result, key):
                out[key] = getattr(result, key)
        if result.truncated:
            out["truncated"] = True
        for key in ("files", "refused"):  # open mode's committed and refused writes
            if getattr(result, key):
                out[key] = getattr(result, key)
        return out

    def _note_telemetry(self, name: str, args: dict[str, Any], result: ToolResult) -> None:
        """The original AutoAgent's ``custom_data.tool_stats`` of the session, kept up to
        date (it ranks tools for the Coder by their score)."""
        from autoagent_core.tools.telemetry import update

        custom = self.session.original.setdefault("custom_data", {})
        stats = custom.setdefault("tool_stats", {}) if isinstance(custom, dict) else None
        if isinstance(stats, dict):
            error = None if result.ok else str((result.error or {}).get("message", ""))
            stats[name] = update(stats.get(name), result.ok, result.duration_s * 1000,
                                 error, args)

    def _note_use(self, name: str, version: int | None, ok: bool) -> None:
        for entry in self.session.tools_used:
            if entry.get("name") == name and entry.get("version") == version:
                entry["runs"] = int(entry.get("runs", 0)) + 1
                entry["failures"] = int(entry.get("failures", 0)) + (0 if ok else 1)
                return
        self.session.tools_used.append(
            {"name": name, "version": version, "runs": 1, "failures": 0 if ok else 1})

    # ------------------------------------------------------------------ agents
    def create_agent(self, action: dict[str, Any], agent: str) -> dict[str, Any]:
        name = action["name"]
        if name.lower() in RESERVED_AGENT_NAMES:
            return failure("invalid_name", f"{name!r} is reserved", "choose another name")
        try:
            validate_agent_name(name)
            spec = self.agents.save(AgentSpec(name=name, role=action["role"],
                                              instructions=action["instructions"],
                                              created_by=agent))
        except UsageError as exc:
            return failure("invalid_name", str(exc))
        self.bus.emit("agent_created", name=spec.name, role=spec.role,
                      instructions=spec.instructions, created_by=agent)
        if name not in self.session.agents_created:
            self.session.agents_created.append(name)
        return {"ok": True, "message": f"agent {name} is ready: ask it with ask_agent"}

    def ask_agent(self, name: str, message: str, asker: str, turn: Turn,
                  depth: int) -> dict[str, Any]:
        limit = self.settings.max_agent_depth
        if depth >= limit:
            return failure("depth_limit", f"agents may be nested at most {limit} deep; "
                           f"{asker} cannot consult another agent",
                           "solve this part yourself with tools")
        if name == asker:
            return failure("invalid_agent", "an agent cannot consult itself")
        try:
            spec = self.agents.get(name)
        except (NotFoundError, UsageError):
            known = ", ".join(a.name for a in self.agents.list_agents()[:20]) or "none"
            return failure("not_found", f"there is no agent named {name!r}",
                           "create it with create_agent first", f"known agents: {known}")
        reply = self.consult(spec, message, depth + 1, turn, asker)
        self.agents.record_use(name)
        self.bus.emit("agent_consulted", name=name, message=message, reply=reply,
                      depth=depth + 1)
        return {"ok": True, "reply": reply, "message": reply}
