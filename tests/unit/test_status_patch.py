"""The status is patched only when something changed, with the smallest merge patch."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qco.reconcile.status_patch import status_merge_patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 reference semantics, to check our patches against."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


@pytest.mark.parametrize(
    ("current", "desired", "expected"),
    [
        ({}, {}, None),
        ({"a": 1}, {"a": 1}, None),
        (None, {"a": 1}, {"a": 1}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"a": 1}, {"b": None}),
        ({"m": {"x": 1, "y": 2}}, {"m": {"x": 1, "y": 3}}, {"m": {"y": 3}}),
        ({"l": [1, 2]}, {"l": [1, 2]}, None),
        ({"l": [1, 2]}, {"l": [2]}, {"l": [2]}),
        ({"m": {"x": 1}}, {"m": 5}, {"m": 5}),
    ],
)
def test_status_merge_patch_table(current: Any, desired: Any, expected: Any) -> None:
    assert status_merge_patch(current, desired) == expected


# No None leaves: in a merge patch null means "remove", so it is never a desired value.
json_scalars = st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=10,
)
statuses = st.dictionaries(st.text(max_size=2), json_values, max_size=4)


@given(statuses, statuses)
def test_patch_takes_current_to_desired(current: dict[str, Any], desired: dict[str, Any]) -> None:
    patch = status_merge_patch(current, desired)
    if patch is None:
        assert current == desired
    else:
        assert apply_merge_patch(current, patch) == desired
