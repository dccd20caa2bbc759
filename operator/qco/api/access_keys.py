"""Scoped access keys of a QdrantCollection: JWTs for Qdrant's RBAC (read or read-write on this
collection and, by default, its aliases) that qco mints into Secrets and rotates before expiry.

Data and schema only; planning is `qco.plan.access_keys`, minting and Secrets `qco.reconcile.access_keys`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, JsonValue, model_validator

from qco.api.common import QcoModel
from qco.api.durations import DURATION_PATTERN, parse_duration

#: Tokens live at least this long (a shorter life would rotate in a hot loop).
MIN_TTL = 60.0
#: And at most a year: a leaked token must expire some day.
MAX_TTL = 8760 * 3600.0
#: A token is used for at least this long before its successor is minted.
MIN_USE_BEFORE_ROTATION = 30.0

#: Names of Secrets (and keys): DNS-1123 subdomains, as Kubernetes requires for Secret names.
SECRET_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KEY_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def _within(low: float, high: float) -> AfterValidator:
    def check(text: str) -> str:
        value = parse_duration(text)
        if value is not None and not low <= value <= high:
            raise ValueError(f"must be between {low:g}s and {high / 3600:g}h (got {text})")
        return text

    return AfterValidator(check)


def _duration(low: float, high: float) -> object:
    hours = f"'{high / 3600:g}h'"  # the CEL literal
    return Field(
        pattern=DURATION_PATTERN,
        max_length=32,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"duration(self) >= duration('{low:g}s') && duration(self) <= duration({hours})",
                    "message": f"must be between {low:g}s and {high / 3600:g}h",
                }
            ]
        },
    )


TokenTtl = Annotated[str, _duration(MIN_TTL, MAX_TTL), _within(MIN_TTL, MAX_TTL)]
RotateBefore = Annotated[str, _duration(1.0, MAX_TTL), _within(1.0, MAX_TTL)]

_KEY_RULES: list[JsonValue] = [
    {
        "rule": (
            f"duration(self.ttl) - duration(self.rotateBefore) >= duration('{MIN_USE_BEFORE_ROTATION:g}s')"
        ),
        "message": (
            f"rotateBefore must be shorter than ttl by at least {MIN_USE_BEFORE_ROTATION:g}s"
            " (a token is used for ttl - rotateBefore before its successor is minted)"
        ),
        "fieldPath": ".rotateBefore",
    }
]


class AccessKeySpec(QcoModel):
    """One token qco mints for this collection and keeps fresh in a Secret of the same namespace."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": _KEY_RULES})

    name: str = Field(
        min_length=1,
        max_length=63,
        pattern=KEY_NAME_PATTERN,
        description="Unique name of the key in this list.",
    )
    access: Literal["r", "rw"] = Field(
        description="r: search, scroll, count and read points; rw: also upsert and delete points."
    )
    secret_name: str = Field(
        min_length=1,
        max_length=253,
        pattern=SECRET_NAME_PATTERN,
        description=(
            "Secret qco creates and owns in this namespace (keys token, url, collection, expiresAt);"
            " an existing Secret qco did not create is never touched (Stalled, SecretConflict)."
        ),
    )
    ttl: TokenTtl = Field(default="720h", description="Lifetime of each token, e.g. 720h (1m to 8760h).")
    rotate_before: RotateBefore = Field(
        default="168h",
        description=(
            "Mint the next token this long before the current one expires, e.g. 168h; the old token"
            " stays valid until its own expiry. At least 30s shorter than ttl."
        ),
    )
    aliases_too: bool = Field(
        default=True, description="Also grant the collection's aliases (spec.aliases) by their names."
    )

    @model_validator(mode="after")
    def _rotation_before_expiry(self) -> AccessKeySpec:
        ttl, before = parse_duration(self.ttl), parse_duration(self.rotate_before)
        if ttl is not None and before is not None and ttl - before < MIN_USE_BEFORE_ROTATION:
            raise ValueError(
                f"accessKeys[{self.name}]: rotateBefore ({self.rotate_before}) must be shorter than"
                f" ttl ({self.ttl}) by at least {MIN_USE_BEFORE_ROTATION:g}s"
            )
        return self


def check_access_keys(keys: list[AccessKeySpec] | None) -> None:
    """Names and Secret names are unique in the list (the CRD refuses duplicates too)."""
    if not keys:
        return
    for field in ("name", "secret_name"):
        values = [getattr(k, field) for k in keys]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            camel = "secretName" if field == "secret_name" else "name"
            raise ValueError(f"accessKeys[].{camel} must be unique; repeated: {', '.join(duplicates)}")


ACCESS_KEYS_FIELD = Field(
    default=None,
    max_length=16,
    description=(
        "Scoped JWTs (Qdrant RBAC) qco mints into Secrets and rotates. Needs the operator setting"
        " QCO_ACCESS_KEYS_ENABLED (chart value accessKeys.enabled) and a Qdrant with service.jwt_rbac."
    ),
    json_schema_extra={
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "x-kubernetes-validations": [
            {
                "rule": "self.all(k, self.exists_one(o, o.secretName == k.secretName))",
                "message": "accessKeys[].secretName must be unique",
            }
        ],
    },
)


class AccessKeyStatus(QcoModel):
    """One key as qco last issued it (never the token itself)."""

    name: str = Field(description="The key's name in spec.accessKeys.")
    secret_name: str = Field(description="Secret holding the current token.")
    access: Literal["r", "rw"] | None = Field(default=None, description="Access of the current token.")
    expires_at: datetime | None = Field(default=None, description="When the current token expires.")
    last_rotation: datetime | None = Field(default=None, description="When the current token was minted.")


ACCESS_KEYS_STATUS_FIELD = Field(
    default=None,
    description="Each access key's Secret, expiry and last rotation (never a token).",
    json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
)
