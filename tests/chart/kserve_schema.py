"""Check InferenceService dicts against the field schema of the ``kserve`` SDK.

The SDK's generated models (``kserve.models.V1beta1*``) and the Kubernetes
client's (``kubernetes.client.V1*``) describe every field by ``openapi_types``
(Python name -> type) and ``attribute_map`` (Python name -> JSON key). Walking an
object with them catches an unknown or misspelt field and a value of the wrong
type before anything reaches the API server.

The chart tests walk every rendered InferenceService with it; the CLI does not
need it (the API server, with KServe's CRD schema, refuses what it refuses), so
it lives with the tests and the router image ships no kserve SDK.

Types the SDK names but does not ship (the Knative ``KnativeCondition``,
``KnativeURL``, traffic targets, ...) are accepted as opaque objects; they only
occur in ``status``, which Shiplane never writes.
"""

from __future__ import annotations

import re
from typing import Any


class SchemaError(Exception):
    """An object has a field the KServe schema does not know, or a value of the
    wrong type."""


ROOT_MODEL = "V1beta1InferenceService"

_LIST = re.compile(r"^(?:list|List)\[(?P<item>.+)\]$")
_DICT = re.compile(
    r"^(?:dict|Dict)\((?:str|StrictStr), (?P<value>.+)\)$|"
    r"^(?:dict|Dict)\[(?:str|StrictStr), (?P<value2>.+)\]$"
)
# Resource quantities are int-or-string in Kubernetes, plain str in the SDK models.
_QUANTITY = re.compile(r"\.(limits|requests)\.[^.]+$")
_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
}


def _model_class(name: str) -> Any | None:
    import kserve.models
    import kubernetes.client

    for module in (kserve.models, kubernetes.client):
        cls = getattr(module, name, None)
        if cls is not None and hasattr(cls, "openapi_types"):
            return cls
    return None


def validate(obj: Any, model: str = ROOT_MODEL, path: str = "") -> list[str]:
    """Every schema problem in ``obj`` as ``path: problem`` lines (empty = valid).

    Args:
        obj: the object as JSON-like dicts and lists.
        model: the SDK model it must match (e.g. ``V1alpha1ServingRuntime``).
        path: prefix for the reported paths (e.g. ``InferenceService/NAME``).
    """
    problems: list[str] = []
    _check(obj, model, path, problems)
    return problems


def ensure_valid(obj: Any, model: str = ROOT_MODEL) -> None:
    """Like :func:`validate` but raises.

    Raises:
        SchemaError: listing every problem found.
    """
    problems = validate(obj, model)
    if problems:
        raise SchemaError(
            "the result does not match the KServe InferenceService schema:\n  "
            + "\n  ".join(problems)
        )


def _check(value: Any, type_name: str, path: str, problems: list[str]) -> None:
    type_name = type_name.strip()
    where = path or "."
    if value is None:
        return  # the API server drops nulls; optional fields may be absent
    if type_name == "object":
        return
    if type_name in _SCALARS:
        expected = _SCALARS[type_name]
        if type_name == "str" and _QUANTITY.search(path):
            expected = (str, int, float)
        # bool is an int in Python; a schema int must not accept True.
        bad_bool = isinstance(value, bool) and type_name in {"int", "float"}
        if bad_bool or not isinstance(value, expected):
            problems.append(
                f"{where}: expected {type_name}, got {type(value).__name__}"
            )
        return
    if (match := _LIST.match(type_name)) is not None:
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check(item, match["item"], f"{path}[{i}]", problems)
        return
    if (match := _DICT.match(type_name)) is not None:
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a map, got {type(value).__name__}")
            return
        inner = match["value"] or match["value2"]
        for key, item in value.items():
            _check(item, inner, f"{path}.{key}", problems)
        return
    cls = _model_class(type_name)
    if cls is None:
        # Named by the SDK but not shipped with it (Knative status types,
        # ResourceQuantity): accepted as opaque.
        return
    if not isinstance(value, dict):
        problems.append(
            f"{where}: expected {type_name} (an object), got {type(value).__name__}"
        )
        return
    json_to_python = {json_key: py for py, json_key in cls.attribute_map.items()}
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key not in json_to_python:
            problems.append(f"{child}: unknown field of {type_name}")
            continue
        _check(item, cls.openapi_types[json_to_python[key]], child, problems)
