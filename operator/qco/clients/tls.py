"""Which certificates an https Qdrant may present: the system's CAs, plus the operator-wide bundle
(QCO_QDRANT_CA_FILE, the chart's qdrant.caBundle) and a resource's own (spec.connection.caSecretRef),
or no verification at all (spec.connection.insecureSkipVerify, for tests only)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import lru_cache


class TlsConfigError(Exception):
    """A CA bundle that cannot be loaded; the message says which and why."""


@dataclass(frozen=True)
class TlsTrust:
    """The trust settings of one endpoint (hashable: gateways are cached per endpoint)."""

    ca_pem: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    skip_verify: bool = False

    def verify(self) -> ssl.SSLContext | bool:
        """httpx's `verify=`: a context trusting the extra CAs, False when skipping, else True."""
        if self.skip_verify:
            return False
        if not self.ca_pem and not self.ca_file:
            return True
        return _context(self.ca_pem, self.ca_file)


@lru_cache(maxsize=64)
def _context(ca_pem: str | None, ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()  # the system's CAs, hostname checks on
    try:
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(f"cannot load the CA bundle {ca_file} (QCO_QDRANT_CA_FILE): {exc}") from None
    try:
        if ca_pem:
            context.load_verify_locations(cadata=ca_pem)
    except (ValueError, ssl.SSLError) as exc:
        raise TlsConfigError(
            f"the CA bundle in spec.connection.caSecretRef is not PEM certificates: {exc}"
        ) from None
    return context
