"""Every way a training run can fail, as a type, with the exit code it maps to.

``__main__`` turns each into one clear line on stderr and its exit code; the
codes are part of the CLI contract (documented in docs/training.md) so a
Kubernetes Job, CI or a script can tell bad data from an MLflow outage.
"""

from __future__ import annotations

from typing import ClassVar


class TrainingError(Exception):
    """Base of every expected training failure."""

    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "training failed"


class ConfigError(TrainingError):
    """The YAML config is missing, malformed or invalid."""

    exit_code = 2
    kind = "invalid config"


class DataError(TrainingError):
    """The dataset cannot be trained on (missing target, wrong types, empty...)."""

    exit_code = 3
    kind = "bad data"


class DataSourceError(DataError):
    """The dataset cannot be read where the config says it is: no such file or
    object, access denied, storage unreachable. Same exit code as bad data
    (nothing was registered); the kind tells the two apart in a log."""

    kind = "cannot read dataset"


class TrackingUnavailableError(TrainingError):
    """MLflow is unreachable or failed before anything was registered."""

    exit_code = 4
    kind = "MLflow unavailable"


class PartialRegistrationError(TrainingError):
    """MLflow failed after a model version had been created: the registry holds a
    version whose tags or aliases may be incomplete."""

    exit_code = 5
    kind = "MLflow failed after registering"


class GateRejectedError(TrainingError):
    """The new version failed the quality gate and the caller asked to treat that
    as a failure (``--fail-on-gate-reject``)."""

    exit_code = 6
    kind = "quality gate rejected the model"


class ModelFormatError(TrainingError):
    """The fitted model cannot be saved in the Shiplane model format (it needs
    skops types serving does not trust)."""

    exit_code = 7
    kind = "model not servable"
