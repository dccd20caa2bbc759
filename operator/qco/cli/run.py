"""`qco run`: the operator itself, configured from `QCO_` environment variables."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

import kopf
from pydantic import ValidationError

from qco.api.kinds import KINDS
from qco.cli.settings_errors import describe_settings_errors
from qco.clients.kube import KubeClient, load_api_client
from qco.clients.qdrant import QdrantPool
from qco.handlers import backup, canary, collection, deployment
from qco.handlers.liveness import register_probe
from qco.handlers.runtime import Runtime, configure_kopf, configure_logging, start_metrics_server
from qco.metrics import Metrics
from qco.reconcile.context import Context
from qco.settings import OperatorSettings

logger = logging.getLogger("qco")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`qco run` takes no options: `--help` lists the `QCO_` environment variables that configure
    it; it finds the cluster in-cluster or through KUBECONFIG."""
    lines = [
        f"  QCO_{name.upper()}: {field.description}" for name, field in OperatorSettings.model_fields.items()
    ]
    parser.epilog = "environment (the cluster: in-cluster config, else KUBECONFIG):\n" + "\n".join(lines)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def build_registry() -> kopf.OperatorRegistry:
    """A registry with every kind's handlers; not kopf's global one, so tests can build several."""
    registry = kopf.OperatorRegistry()
    collection.register(registry)
    deployment.register(registry)
    canary.register(registry)
    backup.register(registry)
    register_probe(registry, KINDS)
    return registry


def run(args: argparse.Namespace) -> int:
    """Validate settings, then run kopf until interrupted."""
    try:
        settings = OperatorSettings()
    except ValidationError as exc:
        errors = describe_settings_errors(exc)
        print(f"qco run: invalid settings from QCO_ environment variables:\n{errors}", file=sys.stderr)
        return 2
    configure_logging(settings)
    asyncio.run(run_operator(settings))
    return 0


async def run_operator(settings: OperatorSettings, stop_flag: asyncio.Event | None = None) -> None:
    """Run the operator in the current event loop (tests call this in a thread of their own)."""
    metrics = Metrics(kinds=tuple(kind.kind for kind in KINDS))
    runtime = Runtime(
        Context(
            settings=settings,
            metrics=metrics,
            qdrant=QdrantPool(metrics, settings.max_concurrency_per_endpoint),
            kube=KubeClient(load_api_client()),
        )
    )
    registry = build_registry()

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure_kopf(settings, runtime.ctx.settings)
        await start_metrics_server(runtime)
        logger.info("metrics on %s/metrics", runtime.metrics_url)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # A private registry has none of kopf's default login handlers: in-cluster or KUBECONFIG.
        info: kopf.ConnectionInfo | None = kopf.login_via_client(**kwargs)
        return info

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await runtime.ctx.qdrant.close()
        runtime.ctx.kube.close()
        if runtime.metrics_server is not None:
            await runtime.metrics_server.cleanup()

    await kopf.operator(
        registry=registry,
        memo=kopf.Memo(runtime=runtime),
        clusterwide=not settings.namespaces,
        namespaces=settings.namespaces,
        standalone=settings.peering_name is None,
        peering_name=settings.peering_name,
        stop_flag=stop_flag,
        liveness_endpoint=(
            f"http://{settings.metrics_host}:{settings.health_port}/healthz" if settings.health_port else None
        ),
    )
