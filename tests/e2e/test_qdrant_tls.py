"""A Qdrant behind https with a private CA (generated here): without the CA the object is Stalled
with a message saying what to do; with spec.connection.caSecretRef (a labelled Secret holding the
PEM) it becomes Ready; insecureSkipVerify (tests only) also connects; the health probe trusts the
same CA as the rest of the pass (its queries answer rather than fail verification)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, message_of, reason_of
from tests.e2e.tls_proxy import https_proxy, make_pki

V4 = {"size": 4, "distance": "Cosine"}


def test_private_ca(sandbox: Sandbox, unique: str, tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    upstream = urlsplit(sandbox.qdrant_url)
    assert upstream.hostname is not None and upstream.port is not None
    with https_proxy(pki, upstream.hostname, upstream.port) as url:
        name = f"tls-{unique}"
        sandbox.apply(collection_manifest(name, {"vectors": {"": V4}, "connection": {"url": url}}))
        stalled = sandbox.wait_for(name, lambda o: reason_of(o, "Stalled") == "QdrantCertificateUntrusted")
        message = message_of(stalled, "Stalled")
        assert message.startswith(f"Qdrant at {url} presented a certificate qco does not trust (")
        assert "spec.connection.caSecretRef" in message
        assert sandbox.qdrant().collection_exists(name) is False

        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"qdrant-ca-{unique}", "labels": {"qco.dev/credentials": "true"}},
            "stringData": {"ca.crt": pki.ca_pem},
        }
        sandbox.apply(secret)
        trusted = {"url": url, "caSecretRef": {"name": f"qdrant-ca-{unique}"}}
        sandbox.apply(collection_manifest(name, {"vectors": {"": V4}, "connection": trusted}))
        ready = sandbox.wait_ready(name)
        assert reason_of(ready, "Ready") == "Synced"
        assert sandbox.qdrant().get_collection(name).config.params.vectors.size == 4  # type: ignore[union-attr]

        skipping = f"tls-skip-{unique}"
        insecure = {"url": url, "insecureSkipVerify": True}
        sandbox.apply(collection_manifest(skipping, {"vectors": {"": V4}, "connection": insecure}))
        sandbox.wait_ready(skipping)
        assert sandbox.qdrant().collection_exists(skipping) is True

        # A bundle that is not PEM is a clear Stalled too, before any request.
        broken = {**secret, "metadata": {**secret["metadata"], "name": f"bad-ca-{unique}"}}  # type: ignore[dict-item]
        broken["stringData"] = {"ca.crt": "not a certificate"}
        sandbox.apply(broken)
        bad = f"tls-bad-{unique}"
        wrong = {"url": url, "caSecretRef": {"name": f"bad-ca-{unique}"}}
        sandbox.apply(collection_manifest(bad, {"vectors": {"": V4}, "connection": wrong}))
        obj = sandbox.wait_for(bad, lambda o: reason_of(o, "Stalled") == "CaBundleInvalid")
        assert "spec.connection.caSecretRef is not PEM certificates" in message_of(obj, "Stalled")


def test_health_probe_trusts_the_private_ca(sandbox: Sandbox, unique: str, tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    upstream = urlsplit(sandbox.qdrant_url)
    assert upstream.hostname is not None and upstream.port is not None
    with https_proxy(pki, upstream.hostname, upstream.port) as url:
        name, ca = f"probe-{unique}", f"probe-ca-{unique}"
        sandbox.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": ca, "labels": {"qco.dev/credentials": "true"}},
                "stringData": {"ca.crt": pki.ca_pem},
            }
        )
        spec = {"vectors": {"": V4}, "connection": {"url": url, "caSecretRef": {"name": ca}}}
        sandbox.apply(collection_manifest(name, spec))
        sandbox.wait_ready(name)
        # points first: an empty collection gives the probe nothing to query (and nothing to fail)
        vectors = [[1.0, float(i), 0.5, 0.25] for i in range(6)]
        sandbox.qdrant().upsert(name, models.Batch(ids=list(range(6)), vectors=vectors), wait=True)
        probe = {"queries": 3, "limit": 5, "maxLatencyMs": 60000}
        sandbox.apply(collection_manifest(name, {**spec, "health": {"probe": probe}}))
        obj = sandbox.wait_for(name, lambda o: "lastProbeTime" in (o.get("status", {}).get("health") or {}))
        health = obj["status"]["health"]
        assert health["probeErrors"] == 0, health
        assert health["probeP95Ms"] is not None and health["probeP95Ms"] >= 0
        assert reason_of(obj, "Healthy") == "WithinThresholds"
