"""Reading manifests for `qco plan`, `qco apply` and `qco estimate`: `-f FILE|DIR|-` like kubectl.

A directory contributes its `.yaml`, `.yml` and `.json` files in name order (subdirectories too
with `-R/--recursive`, as `kubectl apply -f DIR -R`); `List` documents are unwrapped; only
`qco.dev` QdrantCollections are kept. Other documents (a Namespace, a Secret, another qco kind
living next to the collections) are skipped, as `kubectl` users expect of a mixed directory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EXTENSIONS = (".yaml", ".yml", ".json")


class ManifestError(Exception):
    """A path that cannot be read or parsed; the message names it."""


@dataclass(frozen=True)
class Manifest:
    """One QdrantCollection document and the file it came from."""

    source: str
    body: dict[str, Any]

    @property
    def name(self) -> str:
        """metadata.name ('?' when missing)."""
        return str((self.body.get("metadata") or {}).get("name") or "?")

    @property
    def namespace(self) -> str | None:
        """metadata.namespace, None when the manifest leaves it to the caller."""
        value = (self.body.get("metadata") or {}).get("namespace")
        return str(value) if value else None


def files_in(paths: Iterable[Path], recursive: bool) -> Iterator[Path]:
    """The files `paths` name: files as given, directories expanded (sorted, like kubectl)."""
    for path in paths:
        if str(path) == "-" or not path.is_dir():
            yield path
            continue
        pattern = "**/*" if recursive else "*"
        found = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix in EXTENSIONS)
        yield from found


def read_collections(paths: Iterable[Path], recursive: bool = False) -> list[Manifest]:
    """Every QdrantCollection in `paths` (raises ManifestError naming the unreadable file)."""
    found: list[Manifest] = []
    for path in files_in(paths, recursive):
        try:
            text = sys.stdin.read() if str(path) == "-" else path.read_text()
            docs = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ManifestError(f"cannot read {path}: {exc}") from None
        for doc in docs:
            for item in doc.get("items", []) if doc.get("kind") == "List" else [doc]:
                if _is_collection(item):
                    found.append(Manifest(str(path), item))
    return found


def _is_collection(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("kind") == "QdrantCollection"
        and str(doc.get("apiVersion", "")).startswith("qco.dev/")
    )
