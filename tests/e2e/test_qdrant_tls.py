"""A Qdrant behind https with a private CA (generated here): without the CA the object is Stalled
with a message saying what to do; with spec.connection.caSecretRef (a labelled Secret holding the
PEM) it becomes Ready; insecureSkipVerify (tests only) also connects."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

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
