"""Classify a failed tool call and suggest what the next attempt should change.

The sandbox child reports the exception's type, its class hierarchy (``mro``), errno and
missing module name; the parent adds what only it sees (timeout, killed by a signal,
output flood). :func:`classify` turns that into the error the agents and the user see::

    {"class": "missing_module", "message": "No module named 'yaml'",
     "traceback": "...tail in the tool's own lines...",
     "suggestions": ["'yaml' is not installed ...", "use json from the standard library"]}

Classes: syntax, missing_module, name, type, signature_mismatch, value, key, index,
zero_division, attribute, timeout, memory, cpu, processes, output_too_large, network,
file_not_found, permission, not_json_serializable, file_too_large, exception, and
``dependency`` (a declared or missing package that autoagent may not or could not install,
:mod:`autoagent_core.deps.policy`).

``memory``, ``cpu``, ``processes`` and ``timeout`` are the limits of a call's whole
process tree (:mod:`autoagent_core.sandbox.tree_limits`); each names the setting to raise.
"""

from __future__ import annotations

import errno as _errno
import sys
from typing import Any

ERROR_CLASSES: tuple[str, ...] = (
    "syntax", "missing_module", "name", "type", "signature_mismatch", "value", "key",
    "index", "zero_division", "attribute", "timeout", "memory", "cpu", "processes",
    "output_too_large",
    "network", "file_not_found", "permission", "not_json_serializable", "file_too_large",
    "exception", "dependency",
)

MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_CHARS = 3000

# Missing module -> (PyPI distribution, standard-library alternative)
STDLIB_ALTERNATIVES: dict[str, tuple[str | None, str]] = {
    "requests": ("requests", "urllib.request (urlopen, Request) and json"),
    "httpx": ("httpx", "urllib.request (urlopen, Request)"),
    "aiohttp": ("aiohttp", "urllib.request, run in threads with concurrent.futures"),
    "numpy": ("numpy", "statistics, math and plain lists"),
    "scipy": ("scipy", "statistics and math"),
    "pandas": ("pandas", "csv (csv.DictReader) and collections.Counter/defaultdict"),
    "yaml": ("PyYAML", "json (or tomllib to read TOML)"),
    "toml": ("toml", "tomllib (reading TOML)"),
    "bs4": ("beautifulsoup4", "html.parser.HTMLParser or re for simple extraction"),
    "lxml": ("lxml", "xml.etree.ElementTree"),
    "dateutil": ("python-dateutil", "datetime (datetime.fromisoformat, strptime)"),
    "pytz": ("pytz", "zoneinfo.ZoneInfo"),
    "simplejson": ("simplejson", "json"),
    "ujson": ("ujson", "json"),
    "orjson": ("orjson", "json"),
    "regex": ("regex", "re"),
    "attrs": ("attrs", "dataclasses"),
    "click": ("click", "argparse"),
    "tabulate": ("tabulate", "str.ljust/format strings"),
    "PIL": ("Pillow", "no image library in the standard library: return the raw bytes "
                      "as base64 or write the file as it is"),
    "sklearn": ("scikit-learn", "statistics (linear_regression, correlation)"),
    "cv2": ("opencv-python", "no standard-library equivalent"),
    "matplotlib": ("matplotlib", "write the data as CSV, or an SVG as text"),
    "dotenv": ("python-dotenv", "os.environ and reading the file with open()"),
}


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


def _class_from_exception(mro: list[str], errno_code: int | None) -> str:
    names = set(mro)
    if errno_code == _errno.EFBIG:
        return "file_too_large"
    if names & {"ModuleNotFoundError", "ImportError"}:
        return "missing_module"
    if names & {"SyntaxError", "IndentationError", "TabError"}:
        return "syntax"
    if "MemoryError" in names:
        return "memory"
    if "FileNotFoundError" in names or "NotADirectoryError" in names \
            or "IsADirectoryError" in names:
        return "file_not_found"
    network_names = {"ConnectionError", "gaierror", "herror", "URLError", "HTTPError",
                     "RequestException", "TransportError", "HTTPException", "SSLError",
                     "timeout", "TimeoutError", "ConnectError"}
    network_errnos = {_errno.ENETUNREACH, _errno.EHOSTUNREACH, _errno.ECONNREFUSED,
                      _errno.ECONNRESET, _errno.ENETDOWN, _errno.ETIMEDOUT,
                      _errno.EADDRNOTAVAIL}
    if names & network_names or errno_code in network_errnos:
        return "network"
    if "PermissionError" in names or errno_code in (_errno.EACCES, _errno.EPERM,
                                                    _errno.EROFS):
        return "permission"
    for exc_name, kind in (("ZeroDivisionError", "zero_division"), ("KeyError", "key"),
                           ("IndexError", "index"), ("AttributeError", "attribute"),
                           ("NameError", "name"), ("TypeError", "type"),
                           ("ValueError", "value")):
        if exc_name in names:
            return kind
    return "exception"


_DEFAULT_MESSAGES = {
    "memory": "the tool ran out of memory",
    "zero_division": "division by zero",
    "file_too_large": "a file grew beyond the file-size limit",
}


def classify(raw: dict[str, Any], *, name: str, settings: Any, strict: bool) -> dict[str, Any]:
    """The classified error of a failed call, from the child's report ``raw``."""
    kind = raw.get("class") or _class_from_exception(list(raw.get("mro") or []),
                                                     raw.get("errno"))
    if kind not in ERROR_CLASSES:
        kind = "exception"
    message = str(raw.get("message") or _DEFAULT_MESSAGES.get(kind, "the tool failed"))
    exc_type = raw.get("type")
    if exc_type and kind not in ("timeout", "cpu", "processes", "output_too_large") \
            and not message.startswith(str(exc_type)):
        message = f"{exc_type}: {message}"
    error: dict[str, Any] = {
        "class": kind,
        "message": _tail(message, MAX_MESSAGE_CHARS),
        "traceback": _tail(str(raw.get("traceback") or ""), MAX_TRACEBACK_CHARS),
        "suggestions": suggestions(kind, raw, name=name, settings=settings, strict=strict),
    }
    if exc_type:
        error["exception"] = exc_type
    if kind == "missing_module" and raw.get("module"):
        error["module"] = str(raw["module"])
    return error


def suggestions(kind: str, raw: dict[str, Any], *, name: str, settings: Any,
                strict: bool) -> list[str]:
    """Concrete hints for the next attempt, specific to the class."""
    if kind == "missing_module":
        return _missing_module_tips(raw)
    if kind == "signature_mismatch":
        sig = raw.get("signature") or f"{name}(...)"
        given = ", ".join(raw.get("given") or []) or "none"
        return [f"the tool's actual signature is {sig}; arguments given: {given}",
                "call it with exactly those parameter names, or change the signature"]
    if kind == "timeout":
        return [f"the call took longer than {settings.tool_timeout:g} s (setting "
                "tool_timeout, env AUTOAGENT_TOOL_TIMEOUT)",
                "do less work per call, add timeouts to network requests, or avoid loops "
                "that never end"]
    if kind == "cpu":
        return [f"the call used more than {settings.tool_cpu_seconds} CPU seconds, counted "
                "over all its processes (setting tool_cpu_seconds, env "
                "AUTOAGENT_TOOL_CPU_SECONDS)",
                "look for an endless loop or use a cheaper algorithm"]
    if kind == "memory":
        return [f"the call may use at most {settings.tool_memory_mb} MiB, counted over all "
                "its processes, and as address space of each (setting tool_memory_mb, env "
                "AUTOAGENT_TOOL_MEMORY_MB)",
                "process data in chunks or stream it instead of loading it whole"]
    if kind == "processes":
        return [f"the call may run at most {settings.tool_max_processes} processes at once "
                "(setting tool_max_processes, env AUTOAGENT_TOOL_MAX_PROCESSES)",
                "start fewer subprocesses: use a bounded pool (concurrent.futures with "
                "max_workers) and wait for each process you start"]
    if kind == "output_too_large":
        return ["return a smaller result (a summary, the first N items, or write the data "
                "to a file in the working directory and return its path)",
                f"limits: {settings.tool_output_max_bytes} bytes of printed output per "
                f"stream, {settings.tool_result_max_bytes} bytes of JSON result (settings "
                "tool_output_max_bytes, tool_result_max_bytes)"]
    if kind == "file_too_large":
        return [f"files written by a tool are capped at {settings.tool_file_max_mb} MiB "
                "(setting tool_file_max_mb)", "write less data or split it into parts"]
    if kind == "not_json_serializable":
        returned = raw.get("returned_type", "the value")
        return [f"return JSON values only (dict, list, str, int, float, bool, None), not "
                f"{returned}", "convert sets and tuples to lists, datetimes to ISO strings "
                "(.isoformat()), bytes to base64 or text, objects to dicts"]
    if kind == "network":
        if strict:
            return ["the strict sandbox has no network (DANGEROUS_TOOLS=0 or --sandbox "
                    "strict); solve the task without it or run with --sandbox open"]
        return ["check the URL and that the host is reachable; add a timeout to the request",
                "tools reach public addresses only: this machine (127.0.0.1, localhost), "
                "private networks and link-local are refused unless the user grants them "
                "with --allow-net HOST:PORT",
                "catch the network error and return a clear message instead of crashing"]
    if kind == "permission":
        if strict:
            return ["the strict sandbox allows writing only in the tool's working directory "
                    "(the current directory when the tool starts) and --allow-write paths, "
                    "and no Unix sockets (multiprocessing pools need --sandbox open)",
                    "write files with relative paths, or run with --sandbox open"]
        return ["the file or directory is not accessible: the sandbox hides credentials, "
                ".env and autoagent's config, and keeps the tool library, agents, sessions, "
                "runs and .git read-only; write into the working directory"]
    return list(_GENERIC_TIPS.get(kind, _GENERIC_TIPS["exception"]))


_GENERIC_TIPS: dict[str, tuple[str, ...]] = {
    "syntax": ("fix the syntax at the line shown; make sure the code is plain Python 3 and "
               "that strings and brackets are closed",),
    "name": ("a name is used before it is defined: define it, import it inside the function, "
             "or fix the spelling",),
    "type": ("a value has the wrong type: convert the arguments (int(), float(), str()) and "
             "check for None before using a value",),
    "value": ("a value has the right type but a bad content: validate the input and handle "
              "the bad case explicitly",),
    "key": ("the key is missing: use dict.get(key, default) or check `key in d` first; print "
            "the available keys when unsure",),
    "index": ("the index is out of range: check len() first or iterate over the items",),
    "zero_division": ("guard the division: check that the divisor is not zero",),
    "attribute": ("the object has no such attribute: check its type (it may be None) and the "
                  "attribute's spelling",),
    "file_not_found": ("the path does not exist: the tool runs in its own working directory, "
                       "so pass absolute paths or create the file first",),
    "exception": ("read the traceback's last line in the tool's code and handle that case",),
}


def _missing_module_tips(raw: dict[str, Any]) -> list[str]:
    module = str(raw.get("module") or "").split(".")[0]
    if not module:
        return ["an import failed: check the name imported and the module it comes from"]
    tips: list[str] = []
    pypi, alternative = STDLIB_ALTERNATIVES.get(module, (module, ""))
    if module in sys.stdlib_module_names:
        tips.append(f"'{module}' is part of the standard library but is missing from this "
                    "Python build; avoid it")
    else:
        tips.append(f"'{module}' is not installed in the tool environment: declare its PyPI "
                    f"package at the top of the tool's code (# /// script, # dependencies = "
                    f"[\"{pypi}\"], # ///) and autoagent installs it (setting auto_install)")
    if alternative:
        tips.append(f"or use the standard library instead: {alternative}")
    else:
        tips.append("or solve it with the standard library only")
    return tips
