"""The run loop: Coder and Supervisor orchestration (engine), action execution (actions),
prompt building (prompts, templates/), session bookkeeping (session).

May import the contracts (types, errors, config, hookspecs), protocol/, sandbox/, tools/ and the
core helpers; never cli/ or a plugin package.
"""
