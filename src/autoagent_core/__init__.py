"""autoagent: a Coder writes persistent Python tools, a Supervisor steers."""

__version__ = "0.1.0"
