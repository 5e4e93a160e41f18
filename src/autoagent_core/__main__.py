"""``python -m autoagent_core`` runs the command line."""

from autoagent_core.cli import main

main()
