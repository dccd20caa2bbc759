"""What every reconcile needs, passed in explicitly (never module singletons)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import kopf

from qco.api.common import ConnectionSpec
from qco.clients.configmaps import ConfigMaps
from qco.clients.kube import KubeClient, SecretError
from qco.clients.kube_secrets import KubeSecrets
from qco.clients.qdrant import Endpoint, QdrantPool
from qco.clients.tls import TlsConfigError, TlsTrust
from qco.metrics import Metrics
from qco.settings import OperatorSettings


def _no_wake(uid: str) -> None:
    del uid


def kopf_event(ref: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    """Post a Kubernetes Event through kopf's poster (batched, retried, off the pass's path)."""
    kopf.event(cast(kopf.Body, ref), type=type_, reason=reason, message=message)


#: Posts one Event: (object reference, type, reason, message).
EventSink = Callable[[Mapping[str, Any], str, str, str], None]


@dataclass
class Context:
    """Settings and the shared clients of one operator process."""

    settings: OperatorSettings
    metrics: Metrics
    qdrant: QdrantPool
    kube: KubeClient
    #: Wake another object's loop now (by uid), e.g. the new owner of a handed-over collection.
    wake: Callable[[str], None] = field(default=_no_wake)
    #: Where Events go (kopf's poster in the operator; a recorder in tests).
    events: EventSink = field(default=kopf_event)
    #: Writes the Secrets of access keys (None: built from `kube`'s API client when first needed).
    secrets: KubeSecrets | None = None
    #: Routing ConfigMaps and fresh reads of rollouts (None: built from `kube`'s API client).
    configmaps: ConfigMaps | None = None


class ConnectionProblem(Exception):
    """The resource's Qdrant connection cannot be resolved; the message says what to fix."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def url_allowed(url: str, allowed: list[str]) -> bool:
    """Whether `url` is on the allow-list: a glob (`*`, `?`, `[`) matches the whole URL; any other
    entry is a prefix that must end where the URL's host, port or path segment ends."""
    if not allowed:
        return True
    for entry in allowed:
        if any(c in entry for c in "*?["):
            if fnmatch.fnmatchcase(url, entry):
                return True
            continue
        base = entry.rstrip("/")
        if url.rstrip("/") == base or url.startswith(base + "/"):
            return True
    return False


async def resolve_endpoint(ctx: Context, namespace: str, connection: ConnectionSpec | None) -> Endpoint:
    """The endpoint of a resource: its own connection, else the operator's default. Keys never logged.

    A connection URL off QCO_ALLOWED_QDRANT_URLS is refused before any Secret is read, and a
    Secret without the `qco.dev/credentials: "true"` label is never read into a request.
    """
    settings = ctx.settings
    url = connection.url if connection else None
    secret_ref = connection.api_key_secret_ref if connection else None
    target = url or settings.qdrant_url
    if not target:
        raise ConnectionProblem(
            "NoQdrantConnection",
            "spec.connection.url is not set and the operator has no QCO_QDRANT_URL default",
        )
    if url is not None and not url_allowed(url, settings.allowed_qdrant_urls):
        raise ConnectionProblem(
            "ConnectionNotAllowed",
            f"spec.connection.url {url} is not allowed by the operator (QCO_ALLOWED_QDRANT_URLS);"
            " use an allowed Qdrant URL or ask the operator's administrator to allow this one",
        )
    api_key: str | None
    if secret_ref is not None:
        try:
            api_key = await ctx.kube.secret_value(namespace, secret_ref.name, secret_ref.key)
        except SecretError as exc:
            raise ConnectionProblem(exc.reason, str(exc)) from None
    elif url is None or url.rstrip("/") == (settings.qdrant_url or "").rstrip("/"):
        try:
            api_key = settings.default_api_key()
        except OSError as exc:
            raise ConnectionProblem(
                "SecretNotFound", f"cannot read QCO_QDRANT_API_KEY_FILE: {exc.strerror}"
            ) from None
    else:
        api_key = None
    timeout = connection.timeout_seconds if connection else None
    tls = await resolve_tls(ctx, namespace, connection)
    return Endpoint(target, api_key, float(timeout or settings.request_timeout_seconds), tls)


async def resolve_tls(ctx: Context, namespace: str, connection: ConnectionSpec | None) -> TlsTrust:
    """The CAs an https Qdrant may be signed by: the operator's bundle (QCO_QDRANT_CA_FILE) and the
    resource's caSecretRef (a labelled Secret); checked here so a bad bundle is a clear Stalled."""
    ca_ref = connection.ca_secret_ref if connection else None
    ca_pem: str | None = None
    if ca_ref is not None:
        try:
            ca_pem = await ctx.kube.secret_value(namespace, ca_ref.name, ca_ref.key)
        except SecretError as exc:
            raise ConnectionProblem(exc.reason, str(exc).replace("apiKeySecretRef", "caSecretRef")) from None
    ca_file = str(ctx.settings.qdrant_ca_file) if ctx.settings.qdrant_ca_file else None
    tls = TlsTrust(ca_pem, ca_file, bool(connection and connection.insecure_skip_verify))
    try:
        tls.verify()
    except TlsConfigError as exc:
        raise ConnectionProblem("CaBundleInvalid", str(exc)) from None
    return tls
