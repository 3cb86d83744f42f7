"""The Shiplane A/B router: weighted, sticky routing of KServe V1/V2 traffic to
model variants, with shadow traffic, fallback, per-variant metrics and an
authenticated admin API to read and set weights.

Run it with ``python -m shiplane.router --config router.yaml``; see
docs/router.md.
"""
