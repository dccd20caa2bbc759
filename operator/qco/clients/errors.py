"""The one error classifier: what a failure from Qdrant or Kubernetes means for a reconcile."""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from enum import Enum

import httpx
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse


class FailureKind(Enum):
    """How the caller should react."""

    TRANSIENT = "transient"  # retry soon with backoff: the world may fix itself
    INVALID = "invalid"  # a human must act (bad spec, bad key); report it and retry slowly
    UNKNOWN = "unknown"  # leave it to kopf's backoff


@dataclass(frozen=True)
class Failure:
    """A classified failure: a CamelCase reason and a message fit for status and events."""

    kind: FailureKind
    reason: str
    message: str
    retry_after: float


TRANSIENT_DELAY = 10.0
INVALID_DELAY = 120.0


def classify(exc: BaseException) -> Failure:
    """Classify an exception raised while talking to Qdrant."""
    if isinstance(exc, UnexpectedResponse):
        return _classify_status(exc.status_code or 0, _qdrant_error_text(exc))
    if isinstance(
        exc, ResponseHandlingException | httpx.TransportError | TimeoutError | asyncio.TimeoutError
    ):
        cause = exc.source if isinstance(exc, ResponseHandlingException) else exc
        untrusted = _certificate_error(cause)
        if untrusted is not None:
            # Not transient: the certificate stays untrusted until a human adds its CA.
            return Failure(
                FailureKind.INVALID,
                "QdrantCertificateUntrusted",
                f"Qdrant{_at(cause)} presented a certificate qco does not trust ({untrusted}): put the"
                " CA's PEM in a Secret labelled qco.dev/credentials and name it in"
                " spec.connection.caSecretRef, or give the operator the CA (chart qdrant.caBundle)",
                INVALID_DELAY,
            )
        return Failure(
            FailureKind.TRANSIENT,
            "QdrantUnreachable",
            f"Qdrant{_at(cause)} is unreachable: {_short(cause)}",
            TRANSIENT_DELAY,
        )
    return Failure(
        FailureKind.UNKNOWN, "InternalError", f"{type(exc).__name__}: {_short(exc)}", TRANSIENT_DELAY
    )


def _certificate_error(exc: BaseException) -> str | None:
    """The verification failure behind a connection error, if the TLS handshake refused the
    server's certificate (httpx wraps httpcore's error, which wraps ssl's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return str(current.verify_message or current.reason or current)
        if "CERTIFICATE_VERIFY_FAILED" in str(current):
            return "certificate verify failed"
        current = current.__cause__ or current.__context__
    return None


def _at(cause: BaseException) -> str:
    """` at <url>` for an httpx error that knows its request (path and query left out)."""
    if not isinstance(cause, httpx.RequestError):
        return ""
    try:
        url = cause.request.url
    except RuntimeError:  # raised outside a client: no request attached
        return ""
    return f" at {url.scheme}://{url.netloc.decode()}"


def _classify_status(status: int, text: str) -> Failure:
    if status in (401, 403):
        fix = "check connection.apiKeySecretRef or QCO_QDRANT_API_KEY_FILE"
        message = f"Qdrant refused the API key ({status}): {fix}"
        return Failure(FailureKind.INVALID, "QdrantUnauthorized", message, INVALID_DELAY)
    if status == 409:
        return Failure(
            FailureKind.TRANSIENT, "QdrantConflict", f"Qdrant reported a conflict: {text}", TRANSIENT_DELAY
        )
    if status == 429 or status >= 500:
        return Failure(
            FailureKind.TRANSIENT, "QdrantUnavailable", f"Qdrant answered {status}: {text}", TRANSIENT_DELAY
        )
    if status in (400, 422):
        return Failure(
            FailureKind.INVALID, "QdrantRejected", f"Qdrant rejected the request: {text}", INVALID_DELAY
        )
    return Failure(FailureKind.UNKNOWN, "QdrantError", f"Qdrant answered {status}: {text}", TRANSIENT_DELAY)


def _qdrant_error_text(exc: UnexpectedResponse) -> str:
    # Qdrant's error envelope is {"status": {"error": "..."}}; fall back to the raw body.
    try:
        body = json.loads(exc.content)
        error = body.get("status", {}).get("error") if isinstance(body, dict) else None
        if isinstance(error, str):
            return _short(error, ERROR_TEXT_LIMIT)
    except (ValueError, AttributeError):
        pass
    return _short(exc.content.decode(errors="replace") or exc.reason_phrase)


#: Qdrant's own error text is kept up to this many characters: enough to act on, and a status, an
#: Event or a log line never carries a 50 KB error.
ERROR_TEXT_LIMIT = 2000


def _short(value: object, limit: int = 300) -> str:
    text = str(value).strip() or type(value).__name__
    return text if len(text) <= limit else text[: limit - 14] + " … [truncated]"
