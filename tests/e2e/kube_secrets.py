"""Secret manifests the e2e tests apply (named kube_secrets so it never shadows the stdlib `secrets`)."""

from __future__ import annotations

import json

#: The label by which a Secret's owner lets qco read it (see clients/kube.py `secret_value`).
CREDENTIALS_LABEL = {"qco.dev/credentials": "true"}


def secret_manifest(name: str, string_data: dict[str, str], labelled: bool = True) -> str:
    """A Secret in `default` as JSON for `kubectl apply`, labelled for qco unless told otherwise."""
    labels = dict(CREDENTIALS_LABEL) if labelled else {}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "stringData": string_data,
        }
    )


def api_key_secret(name: str, value: str, labelled: bool = True) -> str:
    """A Secret holding `value` under `api-key`, the key `apiKeySecretRef` reads by default."""
    return secret_manifest(name, {"api-key": value}, labelled)
