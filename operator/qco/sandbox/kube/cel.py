"""`x-kubernetes-validations` CEL rules, evaluated with cel-python (`celpy`).

Transition rules (those that mention `oldSelf`) run only on updates where the old value
exists, unless the rule sets `optionalOldSelf`, as in the API server.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from qco.sandbox.kube.schema import Cause, Path, child, item, json_type, render

MISSING: Any = object()


@functools.lru_cache(maxsize=512)
def _program(expression: str) -> Any:
    # Compiling parses with lark (milliseconds): compile each distinct rule once per process.
    env = celpy.Environment()
    return env.program(env.compile(expression))


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """Evaluate one CEL expression with JSON-like variables; raises on evaluation errors."""
    activation = {name: json_to_cel(value) for name, value in variables.items()}
    result = _program(expression).evaluate(activation)
    if isinstance(result, CELEvalError):
        raise ValueError(str(result.args[0]) if result.args else str(result))
    return result


def validate(value: Any, old: Any, schema: dict[str, Any], path: Path = ()) -> list[Cause]:
    """Causes for every failed rule in `schema` applied to `value` (and `old` for transition rules)."""
    causes: list[Cause] = []
    if value is None:
        return causes
    for rule in schema.get("x-kubernetes-validations") or []:
        cause = _check_rule(rule, value, old, path)
        if cause is not None:
            causes.append(cause)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for key, sub_value in value.items():
            sub_old = old_map.get(key, MISSING)
            if key in props:
                causes += validate(sub_value, sub_old, props[key], child(path, key))
            elif isinstance(additional, dict):
                causes += validate(sub_value, sub_old, additional, item(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        old_items = _correlate_list(value, old, schema)
        for index, element in enumerate(value):
            causes += validate(element, old_items[index], schema["items"], item(path, index))
    return causes


def _correlate_list(value: list[Any], old: Any, schema: dict[str, Any]) -> list[Any]:
    # Only `listType: map` items have an identity across updates; other lists have no oldSelf.
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if schema.get("x-kubernetes-list-type") != "map" or not keys or not isinstance(old, list):
        return [MISSING] * len(value)
    index = {tuple(o.get(k) for k in keys): o for o in old if isinstance(o, dict)}
    return [
        index.get(tuple(v.get(k) for k in keys), MISSING) if isinstance(v, dict) else MISSING for v in value
    ]


def _check_rule(rule: dict[str, Any], value: Any, old: Any, path: Path) -> Cause | None:
    expression = rule.get("rule", "")
    is_transition = "oldSelf" in expression
    if is_transition and old is MISSING and not rule.get("optionalOldSelf"):
        return None
    variables = {"self": value}
    if is_transition:
        variables["oldSelf"] = None if old is MISSING else old
    field = render(path)
    if rule.get("fieldPath"):
        field = field + rule["fieldPath"] if field else rule["fieldPath"].lstrip(".")
    try:
        passed = bool(evaluate(expression, variables))
    except Exception as exc:  # a rule that cannot be evaluated is an invalid object, as on a cluster
        return {
            "reason": "FieldValueInvalid",
            "field": field,
            "message": f'Invalid value: "{json_type(value)}": rule evaluation error: {exc}',
        }
    if passed:
        return None
    message = rule.get("message") or f"failed rule: {expression}"
    if rule.get("messageExpression"):
        # When the expression fails, the API server falls back to the static message.
        with contextlib.suppress(Exception):
            message = str(evaluate(rule["messageExpression"], variables))
    reason = rule.get("reason") or "FieldValueInvalid"
    return {"reason": reason, "field": field, "message": f'Invalid value: "{json_type(value)}": {message}'}
