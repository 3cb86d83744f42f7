"""Shiplane: ship scikit-learn models on Kubernetes with KServe, MLflow and canaries.

The root package holds the CLI and the contracts every component shares: the
drift reference profile (:mod:`shiplane.profile`), the model directory layout
(:mod:`shiplane.modelformat`) and the Prometheus metrics contract
(:mod:`shiplane.metrics`).
"""

__version__ = "0.1.0"
