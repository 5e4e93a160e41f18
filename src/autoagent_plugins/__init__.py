"""autoagent's default plugins, registered through the ``autoagent`` entry point group
exactly as a third-party package registers its own."""
