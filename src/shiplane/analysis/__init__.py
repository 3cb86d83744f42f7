"""Canary analysis: canary vs stable from Prometheus, with explicit statistics.

``queries`` builds the PromQL from the metrics contract, ``prometheus`` runs it,
``stats`` holds the tests, ``checks`` turns numbers into per-metric results,
``verdict`` combines them, ``report`` prints them.
"""
