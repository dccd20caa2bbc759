"""Check recorded stand-in responses against Qdrant's OpenAPI document (`qdrant_openapi.json`).

The document is OpenAPI 3.0 (`nullable`), converted here to JSON Schema 2020-12 with two
tightenings, so drift shows up as a failure rather than passing silently:
- an object with `properties` and no `additionalProperties` accepts no other keys;
- a nullable *property* may be `null` only where Qdrant sends `null` (required, `"default":
  null`, or listed in `SENDS_NULL`); elsewhere Qdrant leaves the key out instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT: Final = Path(__file__).with_name("qdrant_openapi.json")
BASE: Final = "urn:qdrant-openapi"
_NULL: Final = {"nullable": True}
# Properties Qdrant serializes as `null` when unset although the document does not say so.
SENDS_NULL: Final = frozenset(
    {
        ("ScrollResult", "next_page_offset"),
        ("Record", "payload"),
        ("Record", "vector"),
        ("ScoredPoint", "payload"),
        ("ScoredPoint", "vector"),
        ("CollectionInfo", "indexed_vectors_count"),
        ("CollectionInfo", "points_count"),
        ("SnapshotDescription", "creation_time"),
    }
)


def _convert(node: Any, schema_name: str | None = None, allow_null: bool = True) -> Any:
    if isinstance(node, list):
        return [_convert(item, schema_name) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    nullable = bool(node.pop("nullable", False))
    if node.get("$ref", "").startswith("#"):
        node["$ref"] = BASE + node["$ref"]
    for key in ("anyOf", "oneOf"):
        if key in node:
            nullable = nullable or _NULL in node[key]
            node[key] = [_convert(v, schema_name) for v in node[key] if v != _NULL]
    required = set(node.get("required", []))
    if "properties" in node:
        node["properties"] = {
            name: _convert(
                prop,
                schema_name,
                allow_null=name in required
                or (isinstance(prop, dict) and "default" in prop and prop["default"] is None)
                or (schema_name, name) in SENDS_NULL,
            )
            for name, prop in node["properties"].items()
        }
        if node.get("type") == "object":
            node.setdefault("additionalProperties", False)
    for key in ("items", "additionalProperties", "allOf", "not"):
        if isinstance(node.get(key), dict | list):
            node[key] = _convert(node[key], schema_name)
    if not nullable:
        return node
    if not allow_null:
        return node if node else {"not": {"type": "null"}}
    return {"anyOf": [node, {"type": "null"}]} if node else {"type": "null"}


def _convert_schemas_in(node: Any) -> Any:
    """Convert every `schema` found in the paths section (operations, responses, contents)."""
    if isinstance(node, list):
        return [_convert_schemas_in(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _convert(v) if k == "schema" else _convert_schemas_in(v) for k, v in node.items()}


def _document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DOCUMENT.read_text())
    schemas = doc["components"]["schemas"]
    doc["components"]["schemas"] = {name: _convert(schema, name) for name, schema in schemas.items()}
    doc["paths"] = _convert_schemas_in(doc["paths"])
    return doc


@dataclass
class Contract:
    """Qdrant's REST contract: finds the response schema of a recorded answer and validates it."""

    doc: dict[str, Any] = field(default_factory=_document)

    def __post_init__(self) -> None:
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(BASE, resource)

    def _response_spec(self, route: str, method: str, status: int) -> tuple[dict[str, Any] | None, str]:
        operation = self.doc["paths"].get(route, {}).get(method.lower())
        if operation is None:
            return None, f"{method} {route} is not in Qdrant's API"
        responses = operation["responses"]
        family = f"{status // 100}XX"
        spec = responses.get(str(status)) or responses.get(family)
        if spec is None and status >= 400:
            spec = responses.get("default")
        if spec is None:
            return None, f"{method} {route} answered {status}, which Qdrant does not document"
        return spec, ""

    def problems(self, entry: dict[str, Any]) -> list[str]:
        """Why a recorded answer differs from the contract (empty when it matches)."""
        where = f"{entry['method']} {entry['path']}?{entry['query']} -> {entry['status']}"
        if entry["route"] == "<unmatched>":
            return []  # aiohttp's own 404/405 for paths Qdrant does not serve either
        spec, problem = self._response_spec(entry["route"], entry["method"], entry["status"])
        if spec is None:
            return [f"{where}: {problem}"]
        content = spec.get("content", {})
        if not content:
            return []
        if entry["content_type"] not in content:
            return [f"{where}: content type {entry['content_type']} is not one of {sorted(content)}"]
        schema = content[entry["content_type"]].get("schema")
        if schema is None or entry["body"] is None:
            return []
        validator = Draft202012Validator(schema, registry=self.registry)
        problems = []
        for error in validator.iter_errors(entry["body"]):
            # Inside anyOf/oneOf, name what each variant found wrong: the closest one is not
            # always the one meant (a dense vector also "almost" matches the named-vector map).
            leaves = "; ".join(
                f"{'/'.join(map(str, leaf.absolute_path)) or '<root>'}: {leaf.message[:200]}"
                for leaf in _leaves(error)
            )
            problems.append(f"{where}: {leaves}")
        return problems


def _leaves(error: ValidationError) -> list[ValidationError]:
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def recorded(path: Path) -> list[dict[str, Any]]:
    """The entries a server recorded with `--record-responses`."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
