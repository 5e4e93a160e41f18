"""Static checks of tool code, and the JSON schema of a tool's parameters.

Everything here reads the code with :mod:`ast` and never executes it: the CLI process
must not run tool code (RELIABILITY item 1), not even to import it for inspection.

* :func:`validate_tool_code` refuses code that is too long, does not parse, or does not
  define the tool's function, with a message saying what is wrong.
* :func:`parameters_schema` derives ``{"type": "object", "properties": ..., "required": ...}``
  from the function's signature and type hints (``int`` -> ``integer``, ``list[str]`` ->
  ``array`` of ``string``, ``X | None`` -> ``X``, defaults become ``default``).
* :func:`find_tool_function` picks the tool's function in a file dropped into the tool
  folder: the function named like the file, else the single public function.

The original AutoAgent's tools take one dict, ``def tool(args): ...``; such a function is
marked ``legacy_args`` and the sandbox passes the arguments as that one dict.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.errors import UsageError

_SIMPLE_TYPES: dict[str, str] = {
    "int": "integer",
    "float": "number",
    "complex": "number",
    "str": "string",
    "bytes": "string",
    "bool": "boolean",
    "list": "array",
    "List": "array",
    "tuple": "array",
    "Tuple": "array",
    "set": "array",
    "Set": "array",
    "frozenset": "array",
    "Sequence": "array",
    "Iterable": "array",
    "dict": "object",
    "Dict": "object",
    "Mapping": "object",
    "None": "null",
    "NoneType": "null",
}


@dataclass
class ToolCodeInfo:
    """What static analysis learned about a tool's code."""

    function: str
    parameters: dict[str, Any] = field(default_factory=dict)
    docstring: str = ""
    signature: str = ""
    legacy_args: bool = False


def parse_code(code: str, filename: str = "<tool>") -> ast.Module:
    """Parse ``code``; a syntax error becomes a :class:`UsageError` naming line and column."""
    try:
        return ast.parse(code, filename=filename)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise UsageError(f"the tool code does not parse ({where}): {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise UsageError(f"the tool code does not parse: {exc}") from None


def top_level_functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions defined at the module's top level, by name (a later one wins, as in Python)."""
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def find_tool_function(tree: ast.Module, preferred: str) -> str | None:
    """The function named ``preferred``, else the only public top-level function."""
    functions = top_level_functions(tree)
    if preferred in functions:
        return preferred
    public = [n for n in functions if not n.startswith("_")]
    return public[0] if len(public) == 1 else None


def describe_tool(tree: ast.Module, preferred: str) -> ToolCodeInfo | None:
    """The tool function of a parsed file (see :func:`find_tool_function`), described."""
    func = find_tool_function(tree, preferred)
    return describe_function(top_level_functions(tree)[func]) if func else None


def validate_tool_code(name: str, code: str, max_chars: int) -> ToolCodeInfo:
    """Check size, syntax and that ``code`` defines a function called ``name``."""
    if not isinstance(code, str) or not code.strip():
        raise UsageError(f"the code of tool '{name}' is empty")
    if len(code) > max_chars:
        raise UsageError(
            f"the code of tool '{name}' has {len(code)} characters, more than the limit of "
            f"{max_chars} (setting tool_code_max_chars, env TOOL_CODE_MAX_CHARS)"
        )
    tree = parse_code(code, f"{name}.py")
    functions = top_level_functions(tree)
    node = functions.get(name)
    if node is None:
        found = ", ".join(sorted(functions)) or "none"
        raise UsageError(
            f"the code of tool '{name}' must define a top-level function named '{name}' "
            f"(functions found: {found})"
        )
    return describe_function(node)


def describe_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ToolCodeInfo:
    """Schema, docstring and readable signature of one function definition."""
    return ToolCodeInfo(
        function=node.name,
        parameters=parameters_schema(node),
        docstring=(ast.get_docstring(node) or "").strip(),
        signature=f"{node.name}({ast.unparse(node.args)})",
        legacy_args=is_legacy_args(node),
    )


def is_legacy_args(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """True for the original AutoAgent's shape: one positional parameter called ``args``."""
    a = node.args
    return (
        not a.posonlyargs
        and len(a.args) == 1
        and a.args[0].arg == "args"
        and not a.kwonlyargs
        and a.vararg is None
        and a.kwarg is None
    )


def first_line(text: str) -> str:
    """The first non-empty line of a docstring, for a description."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def annotation_schema(node: ast.expr | None) -> dict[str, Any]:
    """JSON schema of one annotation; unknown or missing annotations accept anything."""
    if node is None:
        return {}
    if isinstance(node, ast.Constant):
        if node.value is None:
            return {"type": "null"}
        if isinstance(node.value, str):  # a string annotation: parse it
            try:
                return annotation_schema(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return {}
        return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Name | ast.Attribute):
        base = node.id if isinstance(node, ast.Name) else node.attr
        kind = _SIMPLE_TYPES.get(base)
        return {"type": kind} if kind else {}
    if isinstance(node, ast.Subscript):
        return _subscript_schema(node)
    return {}


def _subscript_schema(node: ast.Subscript) -> dict[str, Any]:
    base = node.value.id if isinstance(node.value, ast.Name) else (
        node.value.attr if isinstance(node.value, ast.Attribute) else ""
    )
    inner = node.slice
    items = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
    if base == "Optional":
        return _union([*items, ast.Constant(None)])
    if base == "Union":
        return _union(items)
    if base == "Literal":
        values = [i.value for i in items if isinstance(i, ast.Constant)]
        return {"enum": values} if values else {}
    if base == "Annotated" and items:
        return annotation_schema(items[0])
    kind = _SIMPLE_TYPES.get(base)
    if kind == "array":
        schema: dict[str, Any] = {"type": "array"}
        homogeneous = base not in ("tuple", "Tuple") or (
            len(items) == 2 and isinstance(items[1], ast.Constant) and items[1].value is ...
        )
        item_schema = annotation_schema(items[0]) if items and homogeneous else {}
        if item_schema:
            schema["items"] = item_schema
        return schema
    if kind == "object":
        schema = {"type": "object"}
        if len(items) == 2:
            value_schema = annotation_schema(items[1])
            if value_schema:
                schema["additionalProperties"] = value_schema
        return schema
    return {"type": kind} if kind else {}


def _union(members: list[ast.expr]) -> dict[str, Any]:
    """``X | None`` is ``X``; other unions list their types when all are simple."""
    schemas = [annotation_schema(m) for m in members]
    non_null = [s for s in schemas if s != {"type": "null"}]
    if len(non_null) == 1:
        return non_null[0]
    kinds = [s.get("type") for s in non_null]
    if non_null and all(isinstance(k, str) and len(s) == 1 for k, s in zip(kinds, non_null,
                                                                              strict=True)):
        return {"type": sorted({str(k) for k in kinds})}
    return {}


def _literal_default(node: ast.expr) -> tuple[bool, Any]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        return False, None
    if isinstance(value, tuple | set | frozenset):
        value = list(value)
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return True, value
    return False, None


def parameters_schema(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
    """The JSON schema of the keyword arguments a tool accepts (for the original
    AutoAgent's ``def tool(args)``, the keys of that one dict)."""
    if is_legacy_args(node):
        return one_dict_schema(node)
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
    defaults += list(a.defaults)
    pairs: list[tuple[ast.arg, ast.expr | None]] = list(zip(positional, defaults, strict=True))
    pairs += list(zip(a.kwonlyargs, a.kw_defaults, strict=True))
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg, default in pairs:
        if arg in a.posonlyargs:
            continue  # cannot be passed by keyword
        schema = dict(annotation_schema(arg.annotation))
        if default is None:
            required.append(arg.arg)
        else:
            known, value = _literal_default(default)
            if known:
                schema["default"] = value
        properties[arg.arg] = schema
    result: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if a.kwarg is not None:
        result["additionalProperties"] = True
    return result


ONE_DICT_KEY = "x-one-dict"
"""Marks the schema of a tool called with one dict (the original AutoAgent's convention)."""


def one_dict_schema(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
    """The keys a ``def tool(args)`` reads: ``args["k"]`` (required), ``args.get("k")``
    and ``"k" in args`` (optional). Other keys are accepted too."""
    optional: list[str] = []
    required: list[str] = []
    for sub in ast.walk(node):
        key: str | None = None
        if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) \
                and sub.value.id == "args" and isinstance(sub.slice, ast.Constant) \
                and isinstance(sub.ctx, ast.Load):
            key = sub.slice.value if isinstance(sub.slice.value, str) else None
            if key is not None and key not in required:
                required.append(key)
            continue
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) \
                and sub.func.attr == "get" and isinstance(sub.func.value, ast.Name) \
                and sub.func.value.id == "args" and sub.args \
                and isinstance(sub.args[0], ast.Constant):
            key = sub.args[0].value if isinstance(sub.args[0].value, str) else None
        elif isinstance(sub, ast.Compare) and isinstance(sub.left, ast.Constant) \
                and len(sub.ops) == 1 and isinstance(sub.ops[0], ast.In | ast.NotIn) \
                and isinstance(sub.comparators[0], ast.Name) \
                and sub.comparators[0].id == "args":
            key = sub.left.value if isinstance(sub.left.value, str) else None
        if key is not None and key not in optional:
            optional.append(key)
    keys = [*required, *(k for k in optional if k not in required)]
    return {"type": "object", "properties": {k: {} for k in keys[:64]},
            "required": required[:64], "additionalProperties": True, ONE_DICT_KEY: True}
