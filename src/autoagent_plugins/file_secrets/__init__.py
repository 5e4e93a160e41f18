"""The ``file`` secret store: ``secrets.json`` in the user config folder, mode 0600."""
