"""Errors of canary control, one type per thing that can go wrong.

The CLI maps each to an exit code and a one-line message; none of them is raised
after anything was applied, except :class:`RegistryError`, whose message says
what was applied and how to finish.
"""

from __future__ import annotations


class ControlError(Exception):
    """Base class: a canary operation could not be done as asked."""

    exit_code = 1


class InvalidRequestError(ControlError):
    """The request itself is wrong (percent outside 0..100, bad name, ...)."""

    exit_code = 2


class UnsupportedShapeError(ControlError):
    """The InferenceService is shaped in a way Shiplane refuses to guess about
    (both canary styles at once, several canaries, no predictor)."""


class NoCanaryError(ControlError):
    """The operation needs a canary and the InferenceService has none."""


class NotFoundError(ControlError):
    """No InferenceService of that name in that namespace."""


class ConflictError(ControlError):
    """The object changed between read and patch; nothing was applied."""


class ApiError(ControlError):
    """The Kubernetes API refused or failed the request; nothing was applied."""


class RegistryError(ControlError):
    """The Kubernetes side was applied but the MLflow side failed."""

    exit_code = 4
