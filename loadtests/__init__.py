"""Load tests of an operator endpoint (``yzt load``): Locust generates, yzt judges.

Only ``locustfile.py`` imports Locust, and it runs in Locust's own processes; every other module here
is importable in yzt's process.
"""
