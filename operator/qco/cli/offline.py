"""`qco plan` and `qco apply`: QdrantCollection manifests against a Qdrant, without Kubernetes.

`qco plan` exits like `terraform plan -detailed-exitcode`: 0 = no changes, 2 = changes, 1 = an
error (unreadable file, invalid spec, unreachable Qdrant, or a blocker such as a conflict).
A collection a cluster object already owns is previewed as that object: with `--kubeconfig` the
object's uid is read from the cluster; without, an owner stamp naming the manifest's
namespace/name counts as the manifest's own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from qco.api.common import GROUP, VERSION
from qco.cli.day2 import UsageError, connect
from qco.cli.manifests import Manifest, ManifestError, read_collections
from qco.cli.offline_render import Outcome, exit_code, render_json, render_text
from qco.clients.errors import classify
from qco.clients.qdrant import Endpoint, QdrantGateway, QdrantPool
from qco.clients.qdrant_shard_keys import ShardKeyClient
from qco.metrics import Metrics
from qco.reconcile.collection_offline import LiveShardKeys, desired_from_manifest, plan_offline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `qco plan` and `qco apply`."""
    parser.add_argument(
        "-f",
        "--filename",
        required=True,
        action="append",
        type=Path,
        help="YAML/JSON file, directory or - (stdin) with QdrantCollection(s); repeatable.",
    )
    parser.add_argument(
        "-R", "--recursive", action="store_true", help="Also read the directories' subdirectories."
    )
    parser.add_argument("--qdrant-url", required=True, help="Qdrant REST URL, e.g. http://localhost:6333.")
    parser.add_argument(
        "--api-key-env",
        default="QDRANT_API_KEY",
        help="Environment variable with the API key (default QDRANT_API_KEY); keys never go in flags.",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="Seconds per Qdrant request.")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text", help="Output format.")
    parser.add_argument(
        "-n", "--namespace", default=None, help="Namespace of manifests that name none (default: default)."
    )
    parser.add_argument(
        "--kubeconfig",
        default=None,
        help="Read each object's uid from this cluster, to preview the collection it owns.",
    )
    parser.add_argument("--context", default=None, help="Kubeconfig context (with --kubeconfig).")


def run_plan(args: argparse.Namespace) -> int:
    """Print the changes qco would make; write nothing. 0 no changes, 2 changes, 1 error."""
    return asyncio.run(_run(args, apply=False))


def run_apply(args: argparse.Namespace) -> int:
    """Make the changes and print what was done. 0 done, 1 error."""
    return asyncio.run(_run(args, apply=True))


async def _run(args: argparse.Namespace, apply: bool) -> int:
    try:
        manifests = read_collections(args.filename, args.recursive)
        if not manifests:
            raise ManifestError(f"no QdrantCollection in {', '.join(map(str, args.filename))}")
        cluster = _Cluster(args) if args.kubeconfig else None
    except (ManifestError, _ClusterError) as exc:
        print(f"qco: {exc}", file=sys.stderr)
        return 1
    default_namespace = args.namespace or (cluster.namespace if cluster else "default")
    pool = QdrantPool(Metrics(), max_concurrency_per_endpoint=4)
    endpoint = Endpoint(args.qdrant_url, os.environ.get(args.api_key_env) or None, args.timeout)
    gateway = pool.gateway(endpoint)
    shard_keys = ShardKeyClient(endpoint)
    outcomes: list[Outcome] = []
    try:
        for manifest in manifests:
            outcome = await _one(gateway, manifest, default_namespace, cluster, apply, shard_keys.live_keys)
            outcomes.append(outcome)
            if args.output == "text":
                print(render_text(outcome, apply), flush=True)
    finally:
        await shard_keys.close()
        await pool.close()
    if args.output == "json":
        print(render_json(outcomes, apply))
    return exit_code(outcomes, apply)


async def _one(
    gateway: QdrantGateway,
    manifest: Manifest,
    default_namespace: str,
    cluster: _Cluster | None,
    apply: bool,
    live_shard_keys: LiveShardKeys | None = None,
) -> Outcome:
    namespace = manifest.namespace or default_namespace
    body: dict[str, Any] = dict(manifest.body)
    try:
        if cluster is not None:
            live = await asyncio.to_thread(cluster.metadata, namespace, manifest.name)
            body["metadata"] = {**(body.get("metadata") or {}), **live}
        desired = desired_from_manifest(body, default_namespace=namespace)
    except ValidationError as exc:
        return Outcome(manifest, namespace, error_reason="InvalidSpec", error_message=str(exc))
    except _ClusterError as exc:
        return Outcome(manifest, namespace, error_reason="KubernetesError", error_message=str(exc))
    try:
        # Without a cluster, a stamp naming this object is the object's own (preview, not apply:
        # an offline apply must not write over a collection a running operator manages).
        by_name = cluster is None and not apply
        result = await plan_offline(gateway, desired, apply, by_name, live_shard_keys)
    except Exception as exc:
        failure = classify(exc)
        return Outcome(manifest, namespace, error_reason=failure.reason, error_message=failure.message)
    return Outcome(manifest, namespace, result)


class _ClusterError(Exception):
    """The cluster cannot say who an object is."""


class _Cluster:
    """The user's cluster (kubeconfig/context), asked only for the objects' uid and creation time."""

    def __init__(self, args: argparse.Namespace) -> None:
        try:
            self.api, self.namespace = connect(args.kubeconfig, args.context, None)
        except UsageError as exc:
            raise _ClusterError(str(exc)) from None

    def metadata(self, namespace: str, name: str) -> dict[str, str]:
        """uid and creationTimestamp of the QdrantCollection; {} when it does not exist yet."""
        try:
            obj = cast(
                Mapping[str, Any],
                self.api.get_namespaced_custom_object(GROUP, VERSION, namespace, "qdrantcollections", name),
            )
        except ApiException as exc:
            if exc.status == 404:
                return {}
            raise _ClusterError(
                f"reading qdrantcollection {namespace}/{name}: {exc.status} {exc.reason}"
            ) from None
        meta = obj.get("metadata") or {}
        return {
            "uid": str(meta.get("uid") or ""),
            "creationTimestamp": str(meta.get("creationTimestamp") or ""),
        }
