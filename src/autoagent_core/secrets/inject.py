"""Secrets reach a tool only through its declaration, and never through its code.

* :func:`tool_environment`: the secrets a tool declares in its PEP 723 block
  (``[tool.autoagent] secrets = ["SERPAPI_KEY"]``), as ``NAME -> value`` for
  ``run_tool(extra_env=...)``: those and only those, for that call only. A declared name
  the store lacks is reported, so the call fails with advice instead of a ``KeyError``.
* :func:`hard_coded_secret`: the name of a known secret whose value sits in a tool's code
  (``create_tool`` refuses such code).
* :func:`redact_result`: a tool's result, error, stdout and stderr with every secret value
  masked, before any agent, output or log sees them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoagent_core.secrets.store import known_secrets
from autoagent_core.secrets.task import MIN_KNOWN

if TYPE_CHECKING:
    from autoagent_core.store_types import ToolResult


def tool_environment(code: str) -> tuple[dict[str, str], list[str]]:
    """(``NAME -> value`` of each declared secret the store has, the declared names it
    lacks). Code whose block cannot be read declares nothing."""
    declared = _declared(code)
    known = known_secrets()
    env = {name: known[name] for name in declared if name in known}
    return env, [name for name in declared if name not in known]


def declared_secrets(code: str) -> tuple[list[str], list[str]]:
    """(the names ``code`` declares, those of them the store lacks)."""
    env, missing = tool_environment(code)
    return [n for n in _declared(code) if n in env or n in missing], missing


def _declared(code: str) -> list[str]:
    from autoagent_core.errors import UsageError
    from autoagent_core.tools.script_metadata import read_metadata

    try:
        return read_metadata(code).secrets
    except UsageError:
        return []


def missing_secrets_result(missing: list[str]) -> ToolResult:
    """The failed result of a call whose declared secrets are not all kept."""
    from autoagent_core.store_types import ToolResult

    names = ", ".join(missing)
    return ToolResult(ok=False, error={
        "class": "missing_secret",
        "message": f"the tool declares the secret(s) {names}, which the secret store does "
                   "not hold",
        "suggestions": [f"the user keeps it with: autoagent secrets set {missing[0]}",
                        "or give the key in the task: autoagent stores it and names it"],
    })


def hard_coded_secret(code: str) -> str | None:
    """The name of a known secret whose value appears in ``code``, or None."""
    for name, value in known_secrets().items():
        if len(value) >= MIN_KNOWN and value in code:
            return name
    return None


def hard_coded_message(name: str) -> str:
    return (f"the code holds the value of the secret {name}: never write a key into a tool. "
            f"Read it with os.environ[\"{name}\"] and declare it at the top of the code: "
            f"# /// script / # [tool.autoagent] / # secrets = [\"{name}\"] / # ///")


def redact_result(result: ToolResult) -> ToolResult:
    """``result`` with every secret value masked (``[REDACTED:NAME]`` for stored ones)."""
    from autoagent_core.redact import redactor_for

    redactor = redactor_for()
    result.result = redactor(result.result)
    result.error = redactor(result.error)
    result.stdout = redactor.text(result.stdout)
    result.stderr = redactor.text(result.stderr)
    return result
