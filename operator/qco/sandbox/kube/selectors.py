"""Label and field selectors, parsed once per request and matched per object."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from qco.sandbox.kube.errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?[\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)([\w./-]+)\s*$")


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside `in (...)` value sets."""
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _set_check(key: str, values: set[str], inside: bool) -> Callable[[dict[str, str]], bool]:
    # `notin` and `!=` also match objects without the label, as in the API server.
    return lambda labels: (labels.get(key) in values) == inside


def _exists_check(key: str, present: bool) -> Callable[[dict[str, str]], bool]:
    return lambda labels: (key in labels) == present


def parse_label_selector(selector: str | None) -> Matcher:
    """A predicate on objects for `labelSelector` (equality, set-based, existence)."""
    if not selector:
        return lambda obj: True
    checks: list[Callable[[dict[str, str]], bool]] = []
    for requirement in _split_requirements(selector):
        if m := _SET_RE.match(requirement):
            key, op = m.group(1), m.group(2)
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            checks.append(_set_check(key, values, op == "in"))
        elif m := _EQ_RE.match(requirement):
            key, op, value = m.group(1), m.group(2), m.group(3)
            checks.append(_set_check(key, {value}, op != "!="))
        elif m := _EXISTS_RE.match(requirement):
            negate, key = m.group(1) == "!", m.group(2)
            checks.append(_exists_check(key, not negate))
        else:
            raise bad_request(f"unable to parse requirement: {requirement!r}")

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return match


def _field_value(obj: dict[str, Any], path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_field_selector(selector: str | None) -> Matcher:
    """A predicate for `fieldSelector`: `=`, `==`, `!=` on dotted paths (metadata.name, status.phase, ...)."""
    if not selector:
        return lambda obj: True
    checks: list[tuple[str, bool, str]] = []
    for requirement in _split_requirements(selector):
        m = _EQ_RE.match(requirement)
        if not m:
            raise bad_request(f"invalid field selector: {requirement!r}")
        checks.append((m.group(1), m.group(2) != "!=", m.group(3)))

    def match(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, path) == value) == equal for path, equal, value in checks)

    return match
