"""Admission of custom resources: prune unknown fields, apply defaults, validate schema and CEL rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qco.sandbox.kube import cel, errors, listtypes, schema
from qco.sandbox.kube.resources import ResourceType

if TYPE_CHECKING:
    from qco.sandbox.kube.options import WriteOptions


def admit(rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None, opts: WriteOptions) -> None:
    """Make `obj` what the API server would store, or raise 400/422 like it does.

    Order as in the API server: pruning (with strict field validation reporting what was
    dropped), defaulting, OpenAPI validation with list-type duplicates, then CEL rules (only
    on a schema-valid object, because rules assume the declared types).
    """
    if rt.schema is None:
        return
    dropped = schema.prune(obj, rt.schema, root=True)
    if dropped:
        if opts.field_validation == "Strict":
            unknown = ", ".join(f'unknown field "{path}"' for path in dropped)
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                f"{rt.kind}: strict decoding error: {unknown}"
            )
        if opts.field_validation == "Warn":
            opts.warnings += [f'unknown field "{path}"' for path in dropped]
    schema.apply_defaults(obj, rt.schema)
    name = obj.get("metadata", {}).get("name", "")
    causes = schema.validate(obj, rt.schema, root=True) + listtypes.validate(obj, rt.schema)
    if not causes:
        causes = cel.validate(obj, old if old is not None else cel.MISSING, rt.schema)
    if causes:
        raise errors.invalid(rt, name, causes)
