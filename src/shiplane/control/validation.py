"""Checks of what a person types, made before any request is sent."""

from __future__ import annotations

import re

from shiplane.control.errors import InvalidRequestError

# RFC 1123 label: what Kubernetes accepts as an InferenceService name.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def validate_name(name: str) -> str:
    """Check an InferenceService name before any request is made.

    Raises:
        InvalidRequestError: not a valid Kubernetes object name.
    """
    if not _DNS_LABEL.match(name):
        raise InvalidRequestError(
            f"{name!r} is not a valid InferenceService name (lowercase letters, "
            "digits and '-', at most 63 characters)"
        )
    return name


def validate_percent(percent: int) -> int:
    """Check a traffic percent.

    Raises:
        InvalidRequestError: outside 0..100.
    """
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise InvalidRequestError(f"percent must be an integer, got {percent!r}")
    if not 0 <= percent <= 100:
        raise InvalidRequestError(f"percent must be within 0..100, got {percent}")
    return percent
