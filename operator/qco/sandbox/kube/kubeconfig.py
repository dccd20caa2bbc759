"""Kubeconfig files pointing kubectl, kopf and client libraries at the emulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "qco-sandbox"


def kubeconfig(url: str, namespace: str = "default") -> dict[str, Any]:
    """A kubeconfig for a plain-HTTP server without authentication, context `qco-sandbox`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: str | os.PathLike[str], url: str, namespace: str = "default") -> Path:
    """Write the kubeconfig atomically (readers never see half a file) and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(yaml.safe_dump(kubeconfig(url, namespace), sort_keys=False))
    temporary.replace(target)
    return target
