"""`qco sandbox --embeddings`: an OpenAI-compatible /v1/embeddings whose vectors are the bundled
model's (tokenlearn-static-model, 64 dimensions, unit length), as the re-embedding example uses."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.slow


def test_sandbox_serves_the_models_embeddings(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "qco", "sandbox", "--data", str(tmp_path), "--qdrant-port", "0"]
    process = subprocess.Popen(
        [*argv, "--no-operator", "--embeddings", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(3))
        url = lines["embeddings"]
        texts = ["refund policy", "Rückerstattung", ""]
        answer = httpx.post(f"{url}/embeddings", json={"model": "any", "input": texts}, timeout=30)
        assert answer.status_code == 200
        body = answer.json()
        assert [item["index"] for item in body["data"]] == [0, 1, 2]
        expected = importlib.import_module("static_model").get_embeddings(texts)
        for item, vector in zip(body["data"], expected, strict=True):
            assert len(item["embedding"]) == 64
            assert math.dist(item["embedding"], vector) < 1e-6
        assert math.isclose(math.hypot(*body["data"][0]["embedding"]), 1.0, rel_tol=1e-4)
        single = httpx.post(f"{url}/embeddings", json={"model": "m", "input": "refund policy"}, timeout=30)
        assert single.json()["data"][0]["embedding"] == body["data"][0]["embedding"]
        refused = httpx.post(f"{url}/embeddings", json={"input": [1, 2]}, timeout=30)
        assert refused.status_code == 400 and "input must be" in refused.json()["error"]["message"]
        assert httpx.get(f"{url}/models", timeout=30).json()["data"][0]["id"] == "tokenlearn-static-64"
    finally:
        process.send_signal(2)
        assert process.wait(60) == 0
