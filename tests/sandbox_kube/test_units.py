"""Unit tests of the emulator's pure parts: patches, selectors, schema handling, CEL, JSONPath."""

from __future__ import annotations

from typing import Any

import pytest
from celpy.evaluation import CELEvalError

from qco.sandbox.kube import cel, patches, schema, selectors, tables
from qco.sandbox.kube.errors import ApiError


def test_merge_patch_follows_rfc7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "list": [3]}
    assert patches.merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "list": [3]}


def test_json_patch_operations_and_failed_test_is_422() -> None:
    doc = {"metadata": {"resourceVersion": "5", "finalizers": ["a"]}}
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "5"},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "b"},
        {"op": "replace", "path": "/metadata/finalizers/0", "value": "c"},
    ]
    assert patches.json_patch(doc, ops)["metadata"]["finalizers"] == ["c", "b"]
    assert doc["metadata"]["finalizers"] == ["a"]  # the input is not mutated
    with pytest.raises(ApiError) as failed:
        patches.json_patch(doc, [{"op": "test", "path": "/metadata/resourceVersion", "value": "4"}])
    assert failed.value.code == 422
    with pytest.raises(ApiError):
        patches.json_patch(doc, [{"op": "remove", "path": "/metadata/missing"}])


def test_strategic_merge_patch_merges_keyed_lists_and_honours_directives() -> None:
    live = {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}, "keep": 1}
    patch = {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "spec": {"containers": [{"name": "a", "image": "x2"}, {"name": "b", "$patch": "delete"}]},
        "keep": None,
    }
    assert patches.strategic_merge_patch(live, patch) == {
        "spec": {"containers": [{"name": "a", "image": "x2"}]}
    }
    finalizers = patches.strategic_merge_patch(
        {"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": ["b"]}}
    )
    assert finalizers == {"metadata": {"finalizers": ["a", "b"]}}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=gold", ["a"]),
        ("tier==gold,env=prod", ["a"]),
        ("tier!=gold", ["b", "c"]),
        ("tier in (gold, silver)", ["a", "b"]),
        ("tier notin (gold)", ["b", "c"]),
        ("env", ["a"]),
        ("!env", ["b", "c"]),
    ],
)
def test_label_selectors(selector: str, expected: list[str]) -> None:
    objects = [
        {"metadata": {"name": "a", "labels": {"tier": "gold", "env": "prod"}}},
        {"metadata": {"name": "b", "labels": {"tier": "silver"}}},
        {"metadata": {"name": "c"}},
    ]
    match = selectors.parse_label_selector(selector)
    assert [o["metadata"]["name"] for o in objects if match(o)] == expected


def test_field_selectors() -> None:
    obj = {"metadata": {"name": "a", "namespace": "ns"}, "involvedObject": {"name": "w"}}
    assert selectors.parse_field_selector("metadata.name=a,metadata.namespace==ns")(obj)
    assert not selectors.parse_field_selector("metadata.namespace!=ns")(obj)
    assert selectors.parse_field_selector("involvedObject.name=w")(obj)


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "maxLength": 3},
                "size": {"type": "integer", "default": 4, "minimum": 1},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "maps": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"size": {"type": "integer"}}},
                },
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    },
}


def test_pruning_keeps_declared_maps_and_preserved_fields() -> None:
    obj = {
        "apiVersion": "v",
        "kind": "K",
        "metadata": {"name": "x"},
        "spec": {
            "name": "a",
            "junk": 1,
            "maps": {"m": {"size": 1, "junk": 2}},
            "free": {"any": {"thing": 1}},
        },
    }
    dropped = schema.prune(obj, SCHEMA, root=True)
    assert sorted(dropped) == ["spec.junk", "spec.maps[m].junk"]
    assert obj["spec"] == {"name": "a", "maps": {"m": {"size": 1}}, "free": {"any": {"thing": 1}}}
    assert obj["metadata"] == {"name": "x"}


def test_defaults_and_validation_messages() -> None:
    obj: dict[str, Any] = {
        "spec": {"name": "abcd", "port": "http", "note": None, "maps": {"m": {"size": "x"}}}
    }
    schema.apply_defaults(obj, SCHEMA)
    assert obj["spec"]["size"] == 4
    causes = {c["field"]: c for c in schema.validate(obj, SCHEMA, root=True)}
    assert causes["spec.name"]["message"] == "Too long: may not be more than 3 bytes"
    assert causes["spec.maps[m].size"]["reason"] == "FieldValueTypeInvalid"
    assert set(causes) == {"spec.name", "spec.maps[m].size"}  # int-or-string and nullable are fine
    missing = schema.validate({"spec": {}}, SCHEMA, root=True)
    assert missing == [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.name"}]


def test_cel_rules_with_transition_and_message_expression() -> None:
    rule_schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [
                    {
                        "rule": "self.size >= 2",
                        "messageExpression": "'size ' + string(self.size) + ' too small'",
                    }
                ],
                "properties": {
                    "size": {"type": "integer"},
                    "name": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]},
                },
            }
        },
    }
    assert (
        cel.validate({"spec": {"size": 3, "name": "a"}}, cel.MISSING, rule_schema) == []
    )  # create: no oldSelf
    causes = cel.validate({"spec": {"size": 1, "name": "b"}}, {"spec": {"size": 3, "name": "a"}}, rule_schema)
    assert {c["field"]: c["message"] for c in causes} == {
        "spec": 'Invalid value: "object": size 1 too small',
        "spec.name": 'Invalid value: "string": failed rule: self == oldSelf',
    }


def test_cel_library_seam() -> None:
    # The emulator depends on cel-python's evaluation of maps, has() and macros.
    assert cel.evaluate("has(self.a) && self.a.all(x, x > 0)", {"self": {"a": [1, 2]}})
    assert not cel.evaluate("self.name.startsWith('x')", {"self": {"name": "abc"}})


def test_cel_results_are_memoized_by_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # A rule is a pure function of its variables: equal inputs are evaluated once, other inputs
    # (a changed oldSelf, another key order) run again, and errors come back as errors each time.
    runs: list[str] = []
    real = cel._evaluate

    def counted(expression: str, variables: dict[str, Any]) -> Any:
        runs.append(expression)
        return real(expression, variables)

    monkeypatch.setattr(cel, "_evaluate", counted)
    rule = "self.size == oldSelf.size && self.name != 'memo-test'"
    same = {"self": {"size": 3, "name": "a"}, "oldSelf": {"size": 3, "name": "a"}}
    assert cel.evaluate(rule, same)
    assert cel.evaluate(rule, {"self": {"size": 3, "name": "a"}, "oldSelf": {"size": 3, "name": "a"}})
    assert runs == [rule]
    assert not cel.evaluate(rule, {"self": {"size": 3, "name": "a"}, "oldSelf": {"size": 4, "name": "a"}})
    assert cel.evaluate(rule, {"self": {"name": "a", "size": 3}, "oldSelf": {"size": 3, "name": "a"}})
    assert len(runs) == 3
    failing = "self.missing == 1 || self.memo == 'error-test'"
    for _ in range(2):
        with pytest.raises(CELEvalError, match="no such member in mapping: 'missing'"):
            cel.evaluate(failing, {"self": {"memo": "x"}})
    assert len(runs) == 4
    rule_schema: dict[str, Any] = {"type": "object", "x-kubernetes-validations": [{"rule": failing}]}
    [cause] = cel.validate({"memo": "x"}, cel.MISSING, rule_schema)
    assert cause["message"].startswith('Invalid value: "object": rule evaluation error:')
    assert "no such member in mapping: 'missing'" in cause["message"]


def test_jsonpath_for_printer_columns() -> None:
    obj = {
        "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}
    }
    assert tables.jsonpath(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert tables.jsonpath(obj, ".status.conditions[0].type") == ["Synced"]
    assert tables.jsonpath(obj, ".status.conditions[*].type") == ["Synced", "Ready"]
    assert tables.jsonpath(obj, ".status.missing") == []
