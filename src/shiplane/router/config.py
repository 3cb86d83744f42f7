"""The router's routing configuration: variants, weights, fallback, shadow and
sticky keys, validated by pydantic.

The same models validate the YAML file at start and every ``PUT
/admin/weights``, so a bad value is refused the same way in both places and
never half-applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

TOTAL_WEIGHT = 100
VARIANT_NAME_PATTERN = r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$"

Weight = Annotated[int, Field(ge=0, le=TOTAL_WEIGHT)]
VariantName = Annotated[str, Field(pattern=VARIANT_NAME_PATTERN)]


class ConfigError(ValueError):
    """The configuration file or an admin update is invalid; the message says
    which field and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_Strict):
    """One model endpoint behind the router."""

    url: AnyHttpUrl
    """Base URL of the serving runtime, e.g. ``http://127.0.0.1:9001``; request
    paths are appended to it unchanged."""
    weight: Weight = 0
    """Percent of sticky users routed here (0..100; all weights sum to 100)."""

    @property
    def base_url(self) -> str:
        """The URL without a trailing slash, ready to prefix a request path."""
        return str(self.url).rstrip("/")


class Shadow(_Strict):
    """Mirror a share of requests to a variant and discard its answers."""

    variant: VariantName
    """The variant that receives the copies."""
    percent: Annotated[float, Field(ge=0, le=100)] = 0.0
    """Percent of requests (0..100) mirrored."""


class Sticky(_Strict):
    """Where the router finds the user key that makes assignment sticky.

    The header wins over the cookie. With a cookie configured, a request that
    carries neither gets a fresh random key in a ``Set-Cookie`` so that its next
    requests stick.
    """

    header: str | None = "x-user-id"
    """Request header holding the user key (``None`` disables it)."""
    cookie: str | None = "shiplane-user"
    """Cookie holding the user key (``None`` disables it and ``Set-Cookie``)."""

    @field_validator("header")
    @classmethod
    def _lower_header(cls, value: str | None) -> str | None:
        return value.lower() if value else None


def _check_weights(weights: Mapping[str, int]) -> None:
    if not weights:
        raise ValueError("at least one variant is required")
    total = sum(weights.values())
    if total != TOTAL_WEIGHT:
        listed = ", ".join(f"{n}={w}" for n, w in weights.items())
        raise ValueError(f"weights must sum to {TOTAL_WEIGHT}, got {total} ({listed})")


def _check_shadow(shadow: Shadow | None, variants: Mapping[str, object]) -> None:
    if shadow is not None and shadow.variant not in variants:
        raise ValueError(
            f"shadow variant {shadow.variant!r} is not a configured variant "
            f"(known: {', '.join(variants)})"
        )


def _check_fallback(fallback: str | None, variants: Mapping[str, object]) -> None:
    if fallback is not None and fallback not in variants:
        raise ValueError(
            f"fallback {fallback!r} is not a configured variant "
            f"(known: {', '.join(variants)})"
        )


class RouterConfig(_Strict):
    """The whole routing configuration (the YAML file)."""

    variants: dict[VariantName, Variant]
    """Variants in a fixed order; the order decides the sticky layout."""
    fallback: VariantName | None = None
    """Variant that answers when the chosen one fails (connection error, timeout
    or 5xx); ``None`` means failures are returned as 502."""
    shadow: Shadow | None = None
    """Optional mirror of a share of traffic."""
    sticky: Sticky = Sticky()
    """Where the sticky user key comes from."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # Collect every problem so that one start-up error lists them all.
        problems = []
        checks: list[Callable[[], None]] = [
            lambda: _check_weights({n: v.weight for n, v in self.variants.items()}),
            lambda: _check_fallback(self.fallback, self.variants),
            lambda: _check_shadow(self.shadow, self.variants),
        ]
        for check in checks:
            try:
                check()
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def weights(self) -> dict[str, int]:
        """Variant name -> weight, in configuration order."""
        return {name: v.weight for name, v in self.variants.items()}


class WeightsUpdate(_Strict):
    """Body of ``PUT /admin/weights`` (and answer of ``GET``).

    ``weights`` must name every configured variant exactly once. ``shadow`` is
    optional: absent keeps the current mirror, ``null`` switches it off.
    """

    weights: dict[VariantName, Weight]
    shadow: Shadow | None = None

    @model_validator(mode="after")
    def _sum(self) -> Self:
        _check_weights(self.weights)
        return self


def apply_update(
    config: RouterConfig, update: WeightsUpdate, shadow_given: bool
) -> RouterConfig:
    """A new configuration with the update applied; ``config`` is left as is.

    Args:
        config: the current configuration.
        update: the validated request body.
        shadow_given: whether the body had a ``shadow`` key at all (absent keeps
            the current shadow, ``null`` removes it).

    Raises:
        ConfigError: the update names unknown variants, misses some, or points
            the shadow at an unknown variant.
    """
    known, given = set(config.variants), set(update.weights)
    if known != given:
        problems = []
        if given - known:
            problems.append(f"unknown variants: {', '.join(sorted(given - known))}")
        if known - given:
            problems.append(f"missing variants: {', '.join(sorted(known - given))}")
        raise ConfigError(
            "weights must name every configured variant exactly once ("
            + "; ".join(problems)
            + ")"
        )
    shadow = update.shadow if shadow_given else config.shadow
    try:
        _check_shadow(shadow, config.variants)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    variants = {
        name: variant.model_copy(update={"weight": update.weights[name]})
        for name, variant in config.variants.items()
    }
    return config.model_copy(update={"variants": variants, "shadow": shadow})


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem: ``field.path: message``."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


def parse_config(data: Any, source: str = "config") -> RouterConfig:
    """Validate an already-parsed mapping.

    Raises:
        ConfigError: with every problem listed.
    """
    try:
        return RouterConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid router {source}: {format_validation_error(exc)}"
        ) from None


def load_config(path: Path) -> RouterConfig:
    """Read and validate the YAML configuration file.

    Raises:
        ConfigError: the file is missing, is not YAML, or does not validate.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read router config {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"router config {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"router config {path} must be a mapping, got {data!r}")
    return parse_config(data, source=f"config {path}")
