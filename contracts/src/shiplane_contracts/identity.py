"""The model identity contract: how one model version is named from the MLflow
registry to a serving pod, defined once for every layer.

Aliases are for people, versions are for pods. ``@champion`` and
``@challenger`` point a person (or the next command) at a version; what a
predictor serves is always a pinned ``models:/NAME/VERSION``, so restarting or
scaling a pod never changes what it serves. The chart, the CLI, the alert rules,
the dashboards and the serving runtime all read the names below; the chart's
copies (``charts/shiplane/templates/_identity.tpl``) are checked against them by
``tests/chart/test_identity_contract.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANNOTATION_PREFIX = "serving.shiplane.io/"
MODEL_NAME_ANNOTATION = ANNOTATION_PREFIX + "model-name"
"""Registered MLflow model name the InferenceService serves."""
STABLE_VERSION_ANNOTATION = ANNOTATION_PREFIX + "stable-version"
"""Version of ``spec.predictor`` (Standard) or of the rolled-out revision
(Knative)."""
CANARY_VERSION_ANNOTATION = ANNOTATION_PREFIX + "canary-version"
"""Version of the canary while one runs; absent otherwise."""
HISTORY_ANNOTATION = ANNOTATION_PREFIX + "history"
"""JSON list of audit entries (canary, promote, rollback)."""

CHAMPION_ALIAS = "champion"
"""The version people call stable; promotion moves it."""
CHALLENGER_ALIAS = "challenger"
"""The newest version that passed training's quality gate."""
PREVIOUS_ALIAS = "previous"
"""The champion a promotion replaced."""

MODEL_URI_ENV = "SHIPLANE_SERVING_MODEL_URI"
"""Environment variable of a predictor's model container: what it serves."""
MODEL_NAME_ENV = "SHIPLANE_SERVING_MODEL_NAME"
"""Environment variable of a predictor's model container: its model name."""

_MODELS_URI = re.compile(
    r"^models:/(?P<name>[^/@\s]+)(?:/(?P<version>[1-9]\d*)|@(?P<alias>[\w-]+))/?$"
)


class ModelUriError(ValueError):
    """A ``models:/`` URI that cannot be used where it was given."""


@dataclass(frozen=True)
class ModelsUri:
    """A parsed ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``."""

    name: str
    version: str | None = None
    alias: str | None = None

    @property
    def pinned(self) -> bool:
        """True for ``models:/NAME/VERSION``: it never moves."""
        return self.version is not None

    def __str__(self) -> str:
        if self.version is not None:
            return pinned_uri(self.name, self.version)
        return f"models:/{self.name}@{self.alias}"


def parse_models_uri(uri: str) -> ModelsUri | None:
    """Split a registry URI; None when ``uri`` is not a ``models:/`` URI
    (``s3://``, a local path, ...).

    Raises:
        ModelUriError: it starts with ``models:/`` but is malformed.
    """
    if not uri.startswith("models:/"):
        return None
    match = _MODELS_URI.match(uri)
    if match is None:
        raise ModelUriError(
            f"{uri!r} is not a registry URI: use models:/NAME/VERSION (pinned) or "
            "models:/NAME@ALIAS"
        )
    return ModelsUri(match["name"], match["version"], match["alias"])


def pinned_uri(name: str, version: str | int) -> str:
    """``models:/NAME/VERSION``, the only URI a predictor is given."""
    return f"models:/{name}/{version}"
