"""The original AutoAgent's tool telemetry (``tool_stats``), kept up to date.

One record per tool: ``calls, ok, errors, avg_latency_ms`` (a moving average, 0.8 old /
0.2 new), ``last_error``, ``last_args_sample`` (the arguments cut to about 120
characters), ``score`` and ``last_ok_at``, with
``score = max(0, ok_rate - 0.6*error_rate - min(latency_ms/3000, 0.4) + 0.2*contributed)``.
The original keeps it in a session's ``custom_data.tool_stats``; autoagent also keeps it in
the tool's manifest entry, so ``tools list`` can show it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autoagent_core.common_records import utc_now

ARGS_SAMPLE_CHARS = 120


def score(stats: dict[str, Any], contributed: bool = False) -> float:
    calls = max(1, int(stats.get("calls") or 0))
    ok_rate = int(stats.get("ok") or 0) / calls
    error_rate = int(stats.get("errors") or 0) / calls
    latency = float(stats.get("avg_latency_ms") or 0.0)
    value = ok_rate - 0.6 * error_rate - min(latency / 3000, 0.4) + 0.2 * contributed
    return round(max(0.0, value), 3)


def _args_sample(args: Any) -> Any:
    try:
        text = json.dumps(args, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
    return args if len(text) <= ARGS_SAMPLE_CHARS else text[:ARGS_SAMPLE_CHARS] + "..."


def update(stats: dict[str, Any] | None, ok: bool, latency_ms: float,
           error: str | None = None, args: Any = None, contributed: bool = False
           ) -> dict[str, Any]:
    """``stats`` (or a new record) after one call; every other key is kept."""
    record = dict(stats) if isinstance(stats, dict) else {}
    calls = int(record.get("calls") or 0)
    record["calls"] = calls + 1
    record["ok"] = int(record.get("ok") or 0) + (1 if ok else 0)
    record["errors"] = int(record.get("errors") or 0) + (0 if ok else 1)
    old = record.get("avg_latency_ms")
    record["avg_latency_ms"] = (latency_ms if not calls or not isinstance(old, int | float)
                                else 0.8 * float(old) + 0.2 * latency_ms)
    record["last_error"] = None if ok else (error or "failed")[:500]
    if args is not None:
        record["last_args_sample"] = _args_sample(args)
    record["score"] = score(record, contributed)
    if ok:
        record["last_ok_at"] = utc_now()
    return record


def stats_line(name: str, stats: dict[str, Any]) -> str:
    """``name: score=0.600, ok=1/1, avg_ms=6430`` as the original showed it."""
    calls = stats.get("calls") or 0
    return (f"{name}: score={float(stats.get('score') or 0):.3f}, "
            f"ok={stats.get('ok') or 0}/{calls}, "
            f"avg_ms={float(stats.get('avg_latency_ms') or 0):.0f}")


def scores(session_stats: Any, specs: list[Any]) -> dict[str, float]:
    """Each tool's score: this session's telemetry (``custom_data.tool_stats``), else the
    library's (the manifest's ``tool_stats``)."""
    out: dict[str, float] = {}
    for spec in specs:
        stats = getattr(spec, "tool_stats", None)
        if isinstance(stats, dict) and isinstance(stats.get("score"), int | float):
            out[spec.name] = float(stats["score"])
    if isinstance(session_stats, dict):
        for name, stats in session_stats.items():
            if isinstance(stats, dict) and isinstance(stats.get("score"), int | float):
                out[str(name)] = float(stats["score"])
    return out


def session_scores(original: dict[str, Any], specs: list[Any]) -> dict[str, float]:
    """:func:`scores` with a session's kept ``custom_data`` (``Session.original``)."""
    custom = original.get("custom_data")
    return scores(custom.get("tool_stats") if isinstance(custom, dict) else None, specs)


SESSIONS_READ = 200
SESSION_MAX_BYTES = 20 * 1024 * 1024


def from_sessions(sessions_dir: Path, limit: int = SESSIONS_READ) -> dict[str, dict[str, Any]]:
    """Each tool's telemetry as the most recently updated of the newest ``limit`` session
    files recorded it (the original AutoAgent kept it only there). Read only."""
    try:
        files = [(p.stat().st_mtime, p) for p in sessions_dir.glob("*.json")
                 if p.name != "index.json"]
    except OSError:
        return {}
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for _, path in sorted(files, key=lambda item: item[0], reverse=True)[:limit]:
        try:
            if path.stat().st_size > SESSION_MAX_BYTES:
                continue
            data = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            continue
        custom = data.get("custom_data") if isinstance(data, dict) else None
        stats = custom.get("tool_stats") if isinstance(custom, dict) else None
        meta = data.get("metadata") if isinstance(data, dict) else None
        when = str(meta.get("updated_at", "")) if isinstance(meta, dict) else ""
        for name, record in (stats.items() if isinstance(stats, dict) else ()):
            if isinstance(record, dict) and (name not in found or found[name][0] < when):
                found[str(name)] = (when, record)
    return {name: record for name, (_, record) in found.items()}


def fill_from_sessions(specs: list[Any], sessions_dir: Path) -> None:
    """Give the specs that have no telemetry of their own the sessions' (for a library the
    original AutoAgent wrote)."""
    if all(getattr(s, "tool_stats", None) for s in specs):
        return
    found = from_sessions(sessions_dir)
    for spec in specs:
        if not spec.tool_stats and spec.name in found:
            spec.tool_stats = found[spec.name]
