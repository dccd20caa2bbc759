"""What every reconcile needs, passed in explicitly (never module singletons)."""

from __future__ import annotations

from dataclasses import dataclass

from qco.clients.kube import KubeClient, SecretError
from qco.clients.qdrant import Endpoint, QdrantPool
from qco.metrics import Metrics
from qco.settings import OperatorSettings


@dataclass
class Context:
    """Settings and the shared clients of one operator process."""

    settings: OperatorSettings
    metrics: Metrics
    qdrant: QdrantPool
    kube: KubeClient


class ConnectionProblem(Exception):
    """The resource's Qdrant connection cannot be resolved; the message says what to fix."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def resolve_endpoint(
    ctx: Context, namespace: str, url: str | None, secret: tuple[str, str] | None, timeout_seconds: int | None
) -> Endpoint:
    """The endpoint of a resource: its own connection, else the operator's default. Keys never logged."""
    settings = ctx.settings
    target = url or settings.qdrant_url
    if not target:
        raise ConnectionProblem(
            "NoQdrantConnection",
            "spec.connection.url is not set and the operator has no QCO_QDRANT_URL default",
        )
    api_key: str | None
    if secret is not None:
        try:
            api_key = await ctx.kube.secret_value(namespace, secret[0], secret[1])
        except SecretError as exc:
            raise ConnectionProblem("SecretNotFound", str(exc)) from None
    elif url is None or url.rstrip("/") == (settings.qdrant_url or "").rstrip("/"):
        try:
            api_key = settings.default_api_key()
        except OSError as exc:
            raise ConnectionProblem(
                "SecretNotFound", f"cannot read QCO_QDRANT_API_KEY_FILE: {exc.strerror}"
            ) from None
    else:
        api_key = None
    return Endpoint(target, api_key, float(timeout_seconds or settings.request_timeout_seconds))
