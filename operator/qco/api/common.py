"""Building blocks shared by every qco kind: the base model, conditions and the Qdrant connection.

These are data plus schema only (descriptions, bounds, enums, defaults); behaviour lives in
`qco.plan` and `qco.reconcile`. Field names are snake_case in Python and camelCase in YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

#: Group and version of every qco kind.
GROUP = "qco.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

#: Names Qdrant accepts for collections and aliases that are also safe in URLs and labels.
QDRANT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class QcoModel(BaseModel):
    """Base of every qco API model: camelCase aliases for YAML, snake_case names in Python.

    Unknown fields are refused so that a typo in a manifest is an error, not a silent no-op
    (the CRD schema prunes them in the cluster; here, e.g. in `qco plan -f`, we refuse them).
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=False,
        use_enum_values=True,
    )

    def to_manifest(self) -> dict[str, object]:
        """Dump as it appears in YAML: camelCase keys, unset (None) fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


#: The longest condition message the CRD (and so the API server) accepts; longer ones are cut.
MAX_MESSAGE_BYTES = 32768

ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(QcoModel):
    """One kstatus-compatible condition (`Ready`, `Reconciling`, `Stalled`, ...)."""

    type: str = Field(description="Condition type, e.g. Ready, Reconciling, Stalled.", max_length=64)
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        default="",
        description="One CamelCase word saying why, e.g. ImmutableFieldChanged.",
        max_length=128,
    )
    message: str = Field(default="", description="Human-readable details.", max_length=MAX_MESSAGE_BYTES)
    last_transition_time: datetime | None = Field(
        default=None, description="When the status last changed (RFC 3339)."
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation this condition was computed from."
    )


class SecretKeyRef(QcoModel):
    """A key of a Secret in the resource's own namespace."""

    name: str = Field(description="Name of the Secret (same namespace).", min_length=1, max_length=253)
    key: str = Field(default="api-key", description="Key inside the Secret.", min_length=1, max_length=253)


class CaSecretRef(QcoModel):
    """A PEM CA bundle in a Secret of the resource's own namespace."""

    name: str = Field(description="Name of the Secret (same namespace).", min_length=1, max_length=253)
    key: str = Field(
        default="ca.crt", description="Key holding the PEM bundle.", min_length=1, max_length=253
    )


class ConnectionSpec(QcoModel):
    """Where the Qdrant server is; when left out, the operator's default (QCO_QDRANT_URL) is used."""

    url: str | None = Field(
        default=None,
        description=(
            "Qdrant REST URL, e.g. http://qdrant.qdrant:6333. Default: the operator's default URL."
            " No user:password@ part: credentials come from apiKeySecretRef."
        ),
        pattern=r"^https?://[^\s/@?#]+([/?#][^\s]*)?$",
        max_length=2048,
    )
    api_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret holding the Qdrant API key. Default: the operator's default key."
    )
    timeout_seconds: int | None = Field(
        default=None, ge=1, le=3600, description="Timeout of each Qdrant request, in seconds."
    )
    ca_secret_ref: CaSecretRef | None = Field(
        default=None,
        description=(
            'Secret (labelled qco.dev/credentials: "true") holding the PEM bundle of the CA that signed'
            " an https Qdrant's certificate, trusted next to the system's CAs and the operator's bundle."
        ),
    )
    insecure_skip_verify: bool | None = Field(
        default=None,
        description=(
            "FOR TESTS ONLY: do not verify the https Qdrant's certificate (anyone on the path can read"
            " the API key). Use caSecretRef instead."
        ),
    )


@dataclass(frozen=True)
class PrinterColumn:
    """One `kubectl get` column (additionalPrinterColumns)."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class CrdKind:
    """Everything the CRD generator needs to know about one kind besides its models' schemas."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    spec_model: type[QcoModel]
    status_model: type[QcoModel]
    printer_columns: tuple[PrinterColumn, ...] = ()
    categories: tuple[str, ...] = ("qco",)
    description: str = ""

    @property
    def singular(self) -> str:
        """Lower-case kind, as Kubernetes expects."""
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        """`<plural>.<group>`, the CRD's metadata.name and file name stem."""
        return f"{self.plural}.{GROUP}"


def ready_condition_column(field: str) -> str:
    """JSONPath of one field of the Ready condition, for printer columns."""
    return f'.status.conditions[?(@.type=="Ready")].{field}'
