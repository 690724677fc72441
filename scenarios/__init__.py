"""Scenario files (YAML) for the model and the load tests, and the schemas that validate them.

Data only: :mod:`yzt.domain.topology` and ``yzt.sim`` load these files.
"""
