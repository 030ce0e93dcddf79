"""Subcommands of the ``symsindy`` command line; each module has ``register(subparsers)``."""
