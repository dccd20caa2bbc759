"""Pure helpers to turn a freshly computed status into the smallest merge patch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def status_merge_patch(
    current: Mapping[str, Any] | None, desired: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The RFC 7386 merge patch taking `current` to `desired`, or None when they are equal.

    Keys present now but absent from `desired` become null (removed); lists are replaced whole.
    """
    current = current or {}
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = status_merge_patch(old, value)
            if nested is not None:
                patch[key] = nested
        elif old != value or key not in current:
            patch[key] = value
    for key in current:
        if key not in desired and current[key] is not None:
            patch[key] = None
    return patch or None
