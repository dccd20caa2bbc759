"""`qco status`, `qco reconcile`, `qco pause`, `qco resume`, `qco orphan`: day-2 commands on qco
objects, with the user's kubeconfig, context and namespace (also run as `kubectl qco ...`).

The steering commands only set the documented annotations (DESIGN.md); the operator acts on them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from qco.api.common import GROUP, VERSION, CrdKind
from qco.api.kinds import KINDS

#: command -> annotations it sets (None removes one) and what it prints.
STEERING: dict[str, tuple[dict[str, str | None], str]] = {
    "pause": ({f"{GROUP}/paused": "true"}, "paused: qco writes nothing until `qco resume`"),
    "resume": ({f"{GROUP}/paused": None}, "resumed"),
    "orphan": ({f"{GROUP}/orphan": "true"}, "orphaned: deleting it now leaves Qdrant untouched"),
    "reconcile": ({}, "reconcile requested"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The target and kubectl's connection flags."""
    parser.add_argument("target", nargs="?", help="KIND/NAME (kinds: qc, qcd, qbs, qcr or their names).")
    parser.add_argument("-n", "--namespace", default=None, help="Namespace (default: the context's).")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="Every namespace (status).")
    parser.add_argument(
        "--kubeconfig", default=None, help="Kubeconfig file (default: KUBECONFIG, ~/.kube/config)."
    )
    parser.add_argument("--context", default=None, help="Kubeconfig context (default: the current one).")


def run(args: argparse.Namespace) -> int:
    """Print the status table, or set a steering annotation; 1 on an error."""
    try:
        api, namespace = connect(args.kubeconfig, args.context, args.namespace)
        if args.command == "status":
            rows = [row(kind, obj) for kind, obj in objects(api, args.target, namespace, args.all_namespaces)]
            print("\n".join(table([HEADER, *rows])) if rows else "No qco objects found.")
            return 0
        if not args.target:
            raise UsageError(f"qco {args.command} needs KIND/NAME")
        kind, name = parse_target(args.target)
        annotations, done = STEERING[args.command]
        if args.command == "reconcile":
            annotations = {f"{GROUP}/reconcile-requested-at": f"{time.time():.6f}"}
        patch = {"metadata": {"annotations": annotations}}
        api.patch_namespaced_custom_object(GROUP, VERSION, namespace, kind.plural, name, patch)
        print(f"{kind.singular}/{name} {done}")
        return 0
    except UsageError as exc:
        print(f"qco {args.command}: {exc}", file=sys.stderr)
        return 1
    except ApiException as exc:
        print(f"qco {args.command}: {exc.status} {exc.reason}", file=sys.stderr)
        return 1


class UsageError(Exception):
    """A target or flag the command cannot use; the message says which."""


def connect(
    kubeconfig: str | None, context: str | None, namespace: str | None
) -> tuple[k8s.CustomObjectsApi, str]:
    """The custom-objects API and the namespace to use (the flag, else the context's, else default)."""
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError) as exc:
        raise UsageError(f"cannot read the kubeconfig: {exc}") from None
    chosen = next((c for c in contexts if c["name"] == context), None) if context else current
    if chosen is None:
        raise UsageError(f"no context {context!r} in the kubeconfig")
    api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=chosen["name"])  # type: ignore[no-untyped-call]
    default = (chosen.get("context") or {}).get("namespace") or "default"
    return k8s.CustomObjectsApi(api_client), namespace or default


def parse_target(target: str) -> tuple[CrdKind, str]:
    """`qc/docs`, `qdrantcollection/docs`, `QdrantCollection/docs` -> (kind, name)."""
    kind_name, _, name = target.partition("/")
    kind = find_kind(kind_name)
    if not name:
        raise UsageError(f"{target!r}: expected KIND/NAME, e.g. qc/docs")
    return kind, name


def find_kind(name: str) -> CrdKind:
    """A kind by kind name, plural, singular or short name (case-insensitive)."""
    wanted = name.lower().split(".")[0]
    for kind in KINDS:
        if wanted in {kind.kind.lower(), kind.plural, kind.singular, *kind.short_names}:
            return kind
    raise UsageError(f"unknown kind {name!r} (one of: {', '.join(k.short_names[0] for k in KINDS)})")


def objects(
    api: k8s.CustomObjectsApi, target: str | None, namespace: str, everywhere: bool
) -> list[tuple[CrdKind, Mapping[str, Any]]]:
    """The object named by `target`, or every object of `target`'s kind (or of all kinds)."""
    if target and "/" in target:
        kind, name = parse_target(target)
        obj = cast(
            Mapping[str, Any], api.get_namespaced_custom_object(GROUP, VERSION, namespace, kind.plural, name)
        )
        return [(kind, obj)]
    kinds = [find_kind(target)] if target else list(KINDS)
    found: list[tuple[CrdKind, Mapping[str, Any]]] = []
    for kind in kinds:
        if everywhere:
            listed = cast(Mapping[str, Any], api.list_cluster_custom_object(GROUP, VERSION, kind.plural))
        else:
            listed = cast(
                Mapping[str, Any], api.list_namespaced_custom_object(GROUP, VERSION, namespace, kind.plural)
            )
        found += [(kind, item) for item in listed.get("items", [])]
    return found


HEADER = ("KIND", "NAMESPACE", "NAME", "READY", "REASON", "LAST CHANGE", "DRIFT", "QDRANT", "MESSAGE")


def row(kind: CrdKind, obj: Mapping[str, Any]) -> tuple[str, ...]:
    """One object as a table row: Ready and its reason, when it last changed, drift, Qdrant status."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or ()}
    ready = conditions.get("Ready") or {}
    stalled = conditions.get("Stalled") or {}
    state = (
        "Paused"
        if (meta.get("annotations") or {}).get(f"{GROUP}/paused") == "true"
        else ready.get("status", "-")
    )
    message = stalled.get("message") if stalled.get("status") == "True" else ready.get("message")
    drift = status.get("driftCorrections")
    collection = status.get("collection") or {}
    qdrant = (
        f"{collection['status']} ({collection.get('pointsCount', 0)} pts)"
        if collection.get("status")
        else "-"
    )
    return (
        kind.kind,
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
        str(state),
        str(ready.get("reason", "-")),
        str(ready.get("lastTransitionTime", "-")),
        str(drift) if drift else "0",
        qdrant,
        _short(str(message or "")),
    )


def table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns, two spaces apart (kubectl's look)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
