"""Development tools kept out of the platform: the demo, its data generators, the benchmark and fault injection.

The runtime (``totalplace``, ``connectors``, ``expectations``, ``dags``) never imports this package
(``tests/test_layout.py`` checks); these tools import the platform and drive it as a user would.
"""
