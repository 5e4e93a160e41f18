"""The tool environment: what tools import from PyPI.

A tool declares its PyPI dependencies in its PEP 723 block
(:mod:`autoagent_core.tools.script_metadata`); autoagent installs them itself, outside the
sandbox, with uv, into one environment per library beside it (``<tools_dir>.deps/env``),
and records the resolved versions per tool version (``<tools_dir>.deps/locks``), so a tool
runs with the same versions later. Tools read the environment and never write it.

* :mod:`.environment`: where it lives, creating it, what is installed in it;
* :mod:`.uv`: the uv commands (resolve, install), under an inter-process lock;
* :mod:`.locks`: the resolved versions of each tool version;
* :mod:`.policy`: ``auto_install`` (yes, ask, no) and the ``dependency`` error;
* :mod:`.modules`: an import name -> the distribution that provides it;
* :mod:`.prepare`: before a call, the declared dependencies installed as locked; after a
  call that misses a module, the declaration added as a new version and the call rerun.
"""
