"""Shiplane's developer tooling: the demo, the local stack and control plane,
and the generators of manifests, dashboards and chart docs.

Never shipped in an image. Every tool works on a checkout of the repository,
which :func:`shiplane_tools.repo.root` finds explicitly.
"""
