"""The action protocol: the reply schema, validation into actions (actions), and the one
JSON scanner every reader of model replies uses (json_scan).

May import the contracts (types, errors) and the standard library only.
"""
