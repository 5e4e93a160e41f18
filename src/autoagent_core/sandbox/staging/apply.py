"""After an open-mode call: commit its layer with the settings' quota and protected paths,
journaling the undo data where the caller asked (or in a new ``.tool-calls`` folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.sandbox.staging.commit import commit_layer
from autoagent_core.sandbox.staging.layer import remove_later, remove_tree
from autoagent_core.sandbox.staging.undo import UndoJournal, tool_call_folder

__all__ = ["commit_call", "remove_later", "remove_tree"]  # what the launcher uses

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.sandbox.confinement import Layout


def commit_call(layout: Layout, settings: Settings,
                undo_dir: Path | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The committed files and the refused writes of the call laid out by ``layout``.
    Never raises: a failure to commit is a refusal the agents and the user see."""
    from autoagent_core.sandbox.confinement import protected_paths

    assert layout.stage is not None
    cwd = layout.cwd
    protected = []
    for path in [*protected_paths(settings, cwd),
                 *(settings.path(k).resolve() for k in ("sessions_dir", "log_dir"))]:
        real = Path(os.path.realpath(path))
        if cwd in real.parents:
            protected.append(real.relative_to(cwd).as_posix())
    journal: list[UndoJournal | None] = []

    def open_journal() -> UndoJournal | None:
        if not journal:
            folder = undo_dir or tool_call_folder(settings.path("log_dir")) / "undo"
            journal.append(UndoJournal(folder))
        return journal[0]

    from autoagent_core.redact import redactor_for

    try:
        commit = commit_layer(layout.stage, settings.tool_write_max_files,
                              settings.tool_write_max_mb * 1024 * 1024, protected,
                              open_journal, redactor_for(settings).secrets)
    except OSError as exc:
        return [], [{"path": ".", "reason": f"the staged writes could not be committed: "
                                            f"{exc.strerror or exc}"}]
    return commit.files, commit.refused
