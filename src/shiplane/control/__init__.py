"""Canary control of KServe InferenceServices.

``isvc`` holds the pure transformations (an InferenceService dict in, a merge
patch out) for both KServe canary styles; ``schema`` checks objects against the
field schema of the ``kserve`` SDK's generated models; ``kube`` is the thin
Kubernetes API layer; ``audit`` keeps the promotion history and moves MLflow
aliases.
"""
