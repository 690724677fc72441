"""Subcommands of the ``yzt`` command line, one module each."""
