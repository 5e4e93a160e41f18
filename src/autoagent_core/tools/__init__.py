"""Tool code as text: parsing, signatures and size checks (code), and the classification of a
failed call into an error class with suggestions (errors).

May import the contracts (types, errors) and the standard library only.
"""
