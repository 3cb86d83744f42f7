"""JSON merge patches (RFC 7386): the diff of two objects, and its application.

Lists and scalars are replaced whole, as merge patches require; a key missing
from the new object becomes ``null`` (delete).
"""

from __future__ import annotations

import copy
from typing import Any

JsonDict = dict[str, Any]


def merge_patch_diff(old: JsonDict, new: JsonDict) -> JsonDict:
    """The RFC 7386 merge patch that turns ``old`` into ``new``.

    Keys missing from ``new`` become ``null`` (delete); nested objects recurse;
    lists and scalars are replaced whole, as merge patches require.
    """
    patch: JsonDict = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            sub = merge_patch_diff(before, value)
            if sub:
                patch[key] = sub
        elif key not in old or before != value:
            patch[key] = copy.deepcopy(value)
    return patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch (returns a new object)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
