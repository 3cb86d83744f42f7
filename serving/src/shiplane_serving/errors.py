"""Error types of the serving runtime, each with its HTTP status and the metric
reason it is counted under: the one place that maps failures to responses."""

from __future__ import annotations

from typing import ClassVar


class ServingError(Exception):
    """Base class: a request failed in a way the client should hear about."""

    status: ClassVar[int] = 500
    reason: ClassVar[str] = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadJSON(ServingError):
    """The body is not valid JSON, or not the JSON object the protocol expects."""

    status = 400
    reason = "bad_json"


class BadRequestShape(ServingError):
    """The JSON is valid but does not follow the protocol (missing keys, ...)."""

    status = 400
    reason = "bad_request"


class FeatureCountError(ServingError):
    """Rows carry the wrong number of features."""

    status = 422
    reason = "feature_count"


class FeatureTypeError(ServingError):
    """Values are not numbers (strings, objects, ragged rows, ...)."""

    status = 422
    reason = "type"


class NonFiniteError(ServingError):
    """NaN or infinity where the model cannot take it."""

    status = 422
    reason = "non_finite"


class ValueRefused(ServingError):
    """Well-typed input the model itself refuses, such as a category it never
    saw when its encoder takes no unknown ones."""

    status = 422
    reason = "value"


class BatchTooLarge(ServingError):
    """More rows, or more bytes, than the server accepts in one request."""

    status = 413
    reason = "batch_too_large"


class UnknownModel(ServingError):
    """The path names a model (or version) this server does not serve."""

    status = 404
    reason = "unknown_model"


class UnknownOutput(ServingError):
    """The request asks for an output the model cannot give."""

    status = 422
    reason = "unknown_output"


class NotFound(ServingError):
    """No such endpoint."""

    status = 404
    reason = "not_found"


class MethodNotAllowed(ServingError):
    """The endpoint exists but not for this HTTP method."""

    status = 405
    reason = "method"


class ModelNotReady(ServingError):
    """The model is still loading, or failed to load."""

    status = 503
    reason = "not_ready"


class BadFeedback(ServingError):
    """A feedback body that cannot be scored (shape, truth count, types)."""

    status = 422
    reason = "bad_feedback"


class ModelLoadError(RuntimeError):
    """The model cannot be loaded; the server never serves it."""


class RegistryUnavailable(ModelLoadError):
    """MLflow could not be reached (worth retrying)."""
