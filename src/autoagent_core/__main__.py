"""``python -m autoagent_core`` runs the command line.

``-m`` puts the working directory first on ``sys.path``, so a ``typer.py`` or ``json.py``
in a project (or written there by a tool) would be imported instead of the real module and
run as the user. The working directory is taken off and autoagent's own package folder put
first, before anything else is imported.
"""

import os
import sys


def _own_package_first() -> None:
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if sys.path and sys.path[0] in ("", os.getcwd()) and sys.path[0] != own:
        del sys.path[0]
    if not sys.path or sys.path[0] != own:
        sys.path.insert(0, own)


_own_package_first()

from autoagent_core.cli import main  # noqa: E402 - after the path is fixed

main()
