"""Conformance checks, one module per protocol area; importing a module registers its checks."""
