"""Which CAs an https Qdrant may be signed by (clients/tls.py) and how a refused certificate is
classified (clients/errors.py): a Stalled reason that says what to do, not a retry storm."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from qco.clients.errors import FailureKind, classify
from qco.clients.tls import TlsConfigError, TlsTrust
from tests.e2e.tls_proxy import make_pki


def ca_names(context: ssl.SSLContext) -> set[str]:
    names: set[str] = set()
    for cert in context.get_ca_certs():
        subject: Any = cert["subject"]  # ((("commonName", "..."),), ...)
        names |= {value for rdn in subject for key, value in rdn if key == "commonName"}
    return names


def test_operator_bundle_and_resource_ca_are_trusted_next_to_the_system(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(pki.ca_pem)
    assert TlsTrust().verify() is True
    assert TlsTrust(ca_pem=pki.ca_pem, skip_verify=True).verify() is False
    for trust in (TlsTrust(ca_pem=pki.ca_pem), TlsTrust(ca_file=str(bundle))):
        context = trust.verify()
        assert isinstance(context, ssl.SSLContext)
        assert "qco test CA" in ca_names(context)
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert "pem" not in repr(TlsTrust(ca_pem=pki.ca_pem)).lower()


def test_bad_bundles_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(TlsConfigError, match=r"caSecretRef is not PEM certificates"):
        TlsTrust(ca_pem="not a certificate").verify()
    with pytest.raises(TlsConfigError, match=r"QCO_QDRANT_CA_FILE"):
        TlsTrust(ca_file=str(tmp_path / "missing.pem")).verify()


def test_untrusted_certificate_is_invalid_not_transient() -> None:
    request = httpx.Request("GET", "https://qdrant.example:6333/collections/x")
    verify = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    error = httpx.ConnectError("certificate verify failed", request=request)
    error.__cause__ = verify
    failure = classify(error)
    assert (failure.kind, failure.reason) == (FailureKind.INVALID, "QdrantCertificateUntrusted")
    assert failure.message.startswith(
        "Qdrant at https://qdrant.example:6333 presented a certificate qco does not trust"
        " (unable to get local issuer certificate): put the CA's PEM in a Secret labelled"
    )
    refused = classify(httpx.ConnectError("connection refused", request=request))
    assert (refused.kind, refused.reason) == (FailureKind.TRANSIENT, "QdrantUnreachable")
