"""Secrets: keys the user gives autoagent, kept out of every prompt, file and output.

* :mod:`.store`: the secret store layer (a plugin layer: ``file`` by default, ``keyring``
  with the extra of that name) and the process-wide view of every known secret.
* :mod:`.detect`: finds key-shaped values in text (known shapes, and high-entropy tokens
  beside words like key, token, password, api, clave) and names them from the words
  around them.
* :mod:`.task`: a task is scanned before anything is saved or sent; each key found is
  stored and replaced by ``$NAME``.
* :mod:`.inject`: the secrets a tool declares (PEP 723 ``[tool.autoagent] secrets``) become
  its environment for one call; code holding a known value is refused.
* :mod:`.scan` and :mod:`.fix`: ``autoagent secrets scan [--fix]`` over the tool library,
  sessions and runs.
"""
