"""`metadata.managedFields`: which field manager owns which fields, and conflicts between managers.

As in the API server (structured-merge-diff's Updater):
- an ordinary write (create, update, patch) by manager M records an `Update` entry for M owning
  every field the write added or changed, and takes those fields away from other managers;
- an apply by M records an `Apply` entry owning exactly the applied fields; changing a field
  another manager owns is a 409 conflict unless forced, and forcing takes the field over;
- a manager is identified by (name, operation, subresource): the operator's status writes
  (`subresource: status`) are another manager than its writes to the main resource;
- the status subresource only tracks `status`; writes to a resource that has one never own `status`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from qco.sandbox.kube import errors
from qco.sandbox.kube.fieldsets import (
    FieldSet,
    Path,
    describe,
    field_set,
    from_fields_v1,
    to_fields_v1,
    value_at,
)
from qco.sandbox.kube.resources import ResourceType

# Set by the server, or identity: never owned by a manager (the API server strips them too).
_UNOWNED_META = {
    "f:name",
    "f:namespace",
    "f:uid",
    "f:resourceVersion",
    "f:generation",
    "f:creationTimestamp",
    "f:managedFields",
    "f:selfLink",
    "f:deletionTimestamp",
    "f:deletionGracePeriodSeconds",
}


@dataclasses.dataclass(frozen=True, order=True)
class Manager:
    """Who wrote: the field manager's name, the operation, and the subresource written."""

    name: str
    operation: str  # Apply | Update
    subresource: str = ""


@dataclasses.dataclass(frozen=True)
class Owned:
    """What a manager owns, in which apiVersion, since when."""

    fields: FieldSet
    api_version: str
    time: str


Managers = dict[Manager, Owned]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """How a write changes the tracked fields of an object."""

    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    @property
    def changed(self) -> FieldSet:
        """Fields the write sets to a new value (added or modified)."""
        return self.added | self.modified

    def empty(self) -> bool:
        """Whether the write changes no tracked field."""
        return not (self.added or self.modified or self.removed)


def resets_status(rt: ResourceType) -> bool:
    """Whether writes to the main resource leave `status` alone (as the emulator's strategy does)."""
    return rt.status_subresource and rt.schema is not None


def tracked(paths: FieldSet, rt: ResourceType, subresource: str) -> FieldSet:
    """The paths a write through this endpoint may own (identity and reset fields removed)."""

    def keep(path: Path) -> bool:
        if path[0] in ("f:apiVersion", "f:kind"):
            return False
        if path[0] == "f:metadata" and (len(path) == 1 or path[1] in _UNOWNED_META):
            return False
        if subresource == "status":
            return path[0] == "f:status"
        return not (path[0] == "f:status" and resets_status(rt))

    return frozenset(p for p in paths if keep(p))


def compare(old: Any, new: Any, rt: ResourceType, subresource: str) -> Comparison:
    """Added, modified (leaves with another value) and removed fields between two objects."""
    before = tracked(field_set(old, rt.schema), rt, subresource)
    after = tracked(field_set(new, rt.schema), rt, subresource)
    inner = {p[:i] for p in before | after for i in range(1, len(p))}
    modified = frozenset(p for p in before & after if p not in inner and value_at(old, p) != value_at(new, p))
    return Comparison(after - before, modified, before - after)


def decode(entries: Any) -> Managers:
    """`metadata.managedFields` as managers and their field sets (malformed entries are skipped)."""
    managers: Managers = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("operation") not in ("Apply", "Update"):
            continue
        key = Manager(str(entry.get("manager", "")), entry["operation"], str(entry.get("subresource", "")))
        fields = from_fields_v1(entry.get("fieldsV1"))
        previous = managers.get(key)
        if previous is not None:
            fields |= previous.fields
        managers[key] = Owned(fields, str(entry.get("apiVersion", "")), str(entry.get("time", "")))
    return managers


def encode(managers: Managers) -> list[dict[str, Any]]:
    """Entries sorted as the API server sorts them: operation, time, manager, apiVersion, subresource."""
    order = sorted(
        managers.items(),
        key=lambda m: (m[0].operation, m[1].time, m[0].name, m[1].api_version, m[0].subresource),
    )
    entries = []
    for manager, owned in order:
        entry: dict[str, Any] = {
            "manager": manager.name,
            "operation": manager.operation,
            "apiVersion": owned.api_version,
            "time": owned.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(owned.fields),
        }
        if manager.subresource:
            entry["subresource"] = manager.subresource
        entries.append(entry)
    return entries


def _label(manager: Manager, owned: Owned) -> str:
    # The API server's printManager: quoted name, subresource, and for updates the version and time.
    text = json.dumps(manager.name)
    if manager.subresource:
        text += f" with subresource {json.dumps(manager.subresource)}"
    if manager.operation == "Update":
        text += f" using {owned.api_version}" + (f" at {owned.time}" if owned.time else "")
    return text


def conflict_error(
    rt: ResourceType, name: str, conflicts: dict[Manager, FieldSet], managers: Managers
) -> errors.ApiError:
    """409 Conflict with the API server's message and one `FieldManagerConflict` cause per field."""
    labelled = sorted((_label(m, managers[m]), sorted(paths)) for m, paths in conflicts.items())
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {label}", "field": describe(path)}
        for label, paths in labelled
        for path in paths
    ]
    if len(causes) == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        lines = [
            line
            for label, paths in labelled
            for line in [f"conflicts with {label}:", *(f"- {describe(p)}" for p in paths)]
        ]
        message = f"Apply failed with {len(causes)} conflicts: " + "\n".join(lines)
    details = {"name": name, "group": rt.group, "kind": rt.plural, "causes": causes}
    return errors.ApiError(409, "Conflict", message, details)


def take_over(
    managers: Managers, writer: Manager, comparison: Comparison, *, force: bool, rt: ResourceType, name: str
) -> Managers:
    """Other managers lose the fields this write changes or removes; without force, changing
    a field another manager owns is a conflict (what an apply gets; updates always force)."""
    conflicts = {
        m: owned.fields & comparison.changed
        for m, owned in managers.items()
        if m != writer and owned.fields & comparison.changed
    }
    if conflicts and not force:
        raise conflict_error(rt, name, conflicts, managers)
    result: Managers = {}
    for m, owned in managers.items():
        fields = owned.fields if m == writer else owned.fields - comparison.changed - comparison.removed
        if fields:
            result[m] = dataclasses.replace(owned, fields=fields)
    return result


def record_update(
    managers: Managers,
    old: Any,
    new: Any,
    writer: Manager,
    rt: ResourceType,
    now: str,
) -> Managers:
    """The managers after an ordinary write: the writer owns what it added or changed."""
    comparison = compare(old, new, rt, writer.subresource)
    if comparison.empty():
        return managers
    name = str((new.get("metadata") or {}).get("name", ""))
    result = take_over(managers, writer, comparison, force=True, rt=rt, name=name)
    previous = result.get(writer)
    fields = (previous.fields if previous else frozenset()) - comparison.removed | comparison.changed
    result.pop(writer, None)
    if fields:
        result[writer] = Owned(fields, rt.api_version, now)
    return result
