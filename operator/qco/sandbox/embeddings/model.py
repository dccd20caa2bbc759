"""The model behind the server: `tokenlearn-static-model`'s bundled 10k-token, 64-dimension
static embeddings (unit length), loaded from files inside the installed package."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

#: The model name the server answers to (any requested name is served by the same model).
MODEL_NAME = "tokenlearn-static-64"
DIMENSIONS = 64


def embed(texts: Sequence[str]) -> list[list[float]]:
    """One 64-dimension unit vector per text, in order."""
    if not texts:
        return []
    # The sandbox extra's package (untyped), imported on first use.
    vectors: Any = importlib.import_module("static_model").get_embeddings(list(texts))
    return [[float(x) for x in vector] for vector in vectors]
