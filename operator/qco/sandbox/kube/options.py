"""Per-request options of a write, taken from the request's query parameters and headers."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class WriteOptions:
    """Per-request options of a write (query parameters of the request)."""

    dry_run: bool = False
    field_validation: str = "Ignore"  # Strict | Warn | Ignore (kubectl sends Strict by default)
    field_manager: str = ""
    force: bool = False
    user_agent: str = ""
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def manager(self) -> str:
        """`fieldManager`, or what precedes the first `/` of the User-Agent (as the API server does)."""
        return (self.field_manager or self.user_agent.split("/")[0])[:128]
