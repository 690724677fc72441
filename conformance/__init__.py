"""The YZT Operator Interface as data, and the checks that judge an operator against it.

``schema/`` holds one JSON Schema per protocol message, ``requirements.yaml`` every requirement id
(``OIF-…``, ``SLA-…``) and ``examples/`` golden good and bad messages; the whole interface, as
OpenAPI embedding those schemas, is the core's ``yzt/openapi.yaml``. :mod:`yzt.conformance.schemas`
and :mod:`yzt.conformance.requirements` load them, so the conformance checks and the load tests
judge messages by one definition.
"""
