"""Operator settings, read from `QCO_`-prefixed environment variables and validated at startup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """Everything `qco run` can be told; one instance is built at startup and passed down."""

    model_config = SettingsConfigDict(env_prefix="QCO_", extra="ignore", frozen=True)

    qdrant_url: str | None = Field(
        default=None,
        description="Qdrant URL used by resources whose spec has no `connection.url` (e.g. http://qdrant:6333).",
    )
    qdrant_api_key_file: Path | None = Field(
        default=None,
        description="File holding the API key for the default Qdrant URL (a mounted Secret). Never logged.",
    )
    allowed_qdrant_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Comma-separated Qdrant URLs that resources may name in `spec.connection.url`: a glob"
            " (`https://*.qdrant.example.com:6333`) or a prefix ending at a host, port or path boundary"
            " (`http://qdrant.qdrant:6333`). Empty allows any URL. Others are refused (ConnectionNotAllowed)."
        ),
    )
    namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated namespaces to watch; empty watches the whole cluster.",
    )
    drift_interval_seconds: float = Field(
        default=60.0,
        ge=5,
        description="Default seconds between drift checks when a resource sets no `driftInterval`.",
    )
    max_concurrency_per_endpoint: int = Field(
        default=8,
        ge=1,
        le=256,
        description="At most this many Qdrant requests in flight per Qdrant URL.",
    )
    request_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Timeout of one Qdrant request unless the spec sets `connection.timeoutSeconds`.",
    )
    namespace_deletion_grace_seconds: float = Field(
        default=300.0,
        ge=0,
        description=(
            "When a namespace is being deleted and Qdrant stays unreachable this long after an object's"
            " deletion began, qco releases its finalizer without touching Qdrant (so namespaces never hang)."
        ),
    )
    log_format: Literal["json", "text"] = Field(default="text", description="Log line format.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    metrics_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of `/metrics` (0 picks a free port)."
    )
    metrics_host: str = Field(default="0.0.0.0", description="Address `/metrics` and `/healthz` listen on.")
    health_port: int = Field(
        default=8081,
        ge=0,
        le=65535,
        description="Port of the liveness endpoint `/healthz` (kopf's probes; 0 disables it).",
    )
    liveness_grace_seconds: float = Field(
        default=120.0,
        gt=0,
        description=(
            "`/healthz` fails when a change the API server shows has not arrived through the watch"
            " stream for this long (a dead watch), or when the API cannot be listed."
        ),
    )
    peering_name: str | None = Field(
        default=None,
        description="kopf peering name for running several replicas (one active); unset runs standalone.",
    )
    access_keys_enabled: bool = Field(
        default=False,
        description=(
            "Let qco mint spec.accessKeys tokens into Secrets it creates, rotates and deletes (needs"
            " Secret write permission: chart value accessKeys.enabled). Off: such objects are Stalled"
            " (AccessKeysDisabled)."
        ),
    )
    qdrant_ca_file: Path | None = Field(
        default=None,
        description=(
            "PEM bundle of extra CAs trusted for every https Qdrant (a mounted ConfigMap or Secret: chart"
            " value qdrant.caBundle), next to the system's CAs and each resource's caSecretRef."
        ),
    )
    allowed_embeddings_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Comma-separated embeddings endpoints that CollectionDeployments may name in"
            " `spec.transform.embeddings.url`, as globs or prefixes like QCO_ALLOWED_QDRANT_URLS. Empty"
            " allows any URL. Others are refused (ConnectionNotAllowed) before their Secret is read."
        ),
    )

    @field_validator("namespaces", "allowed_qdrant_urls", "allowed_embeddings_urls", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def default_api_key(self) -> str | None:
        """The API key for the default Qdrant URL, read from its file (stripped), if one is configured."""
        if self.qdrant_api_key_file is None:
            return None
        return self.qdrant_api_key_file.read_text().strip() or None
