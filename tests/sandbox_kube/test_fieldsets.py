"""Field sets of server-side apply: the fieldsV1 format round-trips, paths print as the API server's."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from qco.sandbox.kube import fieldsets

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "atomic": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
names = st.text("abc", min_size=1, max_size=3)
scalars = st.one_of(st.integers(-5, 5), st.booleans(), names)
specs = st.fixed_dictionaries(
    {},
    optional={
        "items": st.lists(
            st.fixed_dictionaries({"name": names}, optional={"port": st.integers(0, 9)}),
            unique_by=lambda i: i["name"],
            max_size=3,
        ),
        "tags": st.lists(names, unique=True, max_size=3),
        "atomic": st.lists(names, max_size=3),
        "labels": st.dictionaries(names, names, max_size=3),
        "other": st.dictionaries(names, scalars, max_size=3),
    },
)


@given(specs)
def test_fields_v1_round_trips(spec: dict[str, Any]) -> None:
    paths = fieldsets.field_set({"spec": spec}, SCHEMA)
    assert fieldsets.from_fields_v1(fieldsets.to_fields_v1(paths)) == paths
    for path in paths:  # every member exists in the object it came from
        assert fieldsets.value_at({"spec": spec}, path) is not fieldsets.MISSING


@given(specs, specs)
def test_applying_a_configuration_sets_every_field_it_names(
    live: dict[str, Any], config: dict[str, Any]
) -> None:
    merged = fieldsets.merge_applied({"spec": live}, {"spec": config}, SCHEMA)
    result = fieldsets.field_set(merged, SCHEMA)
    for path in fieldsets.field_set({"spec": config}, SCHEMA):
        wanted = fieldsets.value_at({"spec": config}, path)
        if wanted == {}:
            continue  # applying an empty map merges nothing into the live map
        assert path in result
        if not path[-1].startswith("k:"):  # list items are compared field by field
            assert fieldsets.value_at(merged, path) == wanted


def test_fields_v1_shape_for_lists_maps_and_sets() -> None:
    obj = {
        "metadata": {"finalizers": ["x/y"], "labels": {"a": "1"}},
        "spec": {"items": [{"name": "n", "port": 1}], "tags": ["t"], "atomic": ["z"], "labels": {}},
    }
    assert fieldsets.to_fields_v1(fieldsets.field_set(obj, SCHEMA)) == {
        "f:metadata": {"f:finalizers": {'v:"x/y"': {}}, "f:labels": {"f:a": {}}},
        "f:spec": {
            "f:atomic": {},
            "f:items": {'k:{"name":"n"}': {".": {}, "f:name": {}, "f:port": {}}},
            "f:labels": {},
            "f:tags": {'v:"t"': {}},
        },
    }


def test_paths_print_like_structured_merge_diff() -> None:
    assert fieldsets.describe(("f:spec", "f:hnsw", "f:m")) == ".spec.hnsw.m"
    assert fieldsets.describe(("f:spec", "f:items", 'k:{"name":"a","port":80}', "f:port")) == (
        '.spec.items[name="a",port=80].port'
    )
    assert fieldsets.describe(("f:metadata", "f:finalizers", 'v:"qco.dev/finalizer"')) == (
        '.metadata.finalizers[="qco.dev/finalizer"]'
    )
