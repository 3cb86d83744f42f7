"""Shiplane's training job: a YAML config in, a registered MLflow model version
out (with its reference profile), behind a quality gate. See docs/training.md.

Modules: ``config`` (the YAML schema), ``settings`` (environment), ``data``
(loading and validation), ``pipeline`` (estimators and search), ``evaluate``
(metrics and plots), ``gate`` (the decision), ``registry`` (MLflow), ``train``
(one run, in order), ``__main__`` (the CLI and its exit codes).
"""
