"""The ``keyring`` secret store: values in the OS keyring (extra ``keyring``)."""
