"""`x-kubernetes-validations` CEL rules, evaluated with cel-python (`celpy`).

Transition rules (those that mention `oldSelf`) run only on updates where the old value
exists, unless the rule sets `optionalOldSelf`, as in the API server.

celpy interprets a rule by walking its parse tree: 0.4-2 ms per evaluation, where the API
server runs compiled cel-go programs. Every write re-evaluates the rules of the whole object
(a status or finalizer patch included, as on a cluster), so a CRD with a dozen whole-spec
transition rules cost ~10 ms of emulator CPU per write. A rule's result depends only on its
expression and variables (Kubernetes CEL has no clock or randomness), so results are memoized
by (expression, digest of the variables' JSON): an unchanged spec is not evaluated again.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import json
import threading
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


#: Memoized results: (expression, SHA-256 of the variables' JSON) -> (True, value) | (False, error).
_RESULTS: collections.OrderedDict[tuple[str, bytes], tuple[bool, Any]] = collections.OrderedDict()
_RESULTS_SIZE = 16_384  # small keys (a digest): a few MB at most
_RESULTS_LOCK = threading.Lock()  # tests run emulators on several threads' loops


def evaluate(expression: str, variables: dict[str, Any]) -> Any:
    """Evaluate one CEL expression with JSON-like variables; raises on evaluation errors."""
    try:
        # Insertion order is kept (no sort_keys): equal keys mean identical inputs to celpy.
        encoded = json.dumps(variables, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError):
        return _evaluate(expression, variables)  # not JSON: evaluate without memo
    key = (expression, hashlib.sha256(encoded).digest())
    with _RESULTS_LOCK:
        cached = _RESULTS.get(key)
        if cached is not None:
            _RESULTS.move_to_end(key)
    if cached is None:
        try:
            cached = (True, _evaluate(expression, variables))
        except (ValueError, CELEvalError) as exc:  # an evaluation error is a result too
            cached = (False, (type(exc), exc.args))
        with _RESULTS_LOCK:
            _RESULTS[key] = cached
            if len(_RESULTS) > _RESULTS_SIZE:
                _RESULTS.popitem(last=False)
    ok, value = cached
    if not ok:
        error_type, args = value
        raise error_type(*args)  # a fresh exception of the same type and arguments each time
    return value


def _evaluate(expression: str, variables: dict[str, Any]) -> Any:
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
