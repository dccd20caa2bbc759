"""Liveness that means something: fail when the watch stream no longer delivers changes.

kopf serves the probe (`liveness_endpoint`, `@kopf.on.probe`). The probe lists every watched
kind (cheaply, from the API server's cache) and compares each object's resourceVersion with the
last one the watch delivered. An object whose newer version the watch has not delivered within
the grace period means the stream is dead (or the API is unreachable): the probe fails and the
kubelet restarts the pod. kopf's own timeouts reconnect hung streams; this catches the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import kopf

from qco.api.common import GROUP, VERSION, CrdKind

if TYPE_CHECKING:
    from qco.handlers.runtime import Runtime


@dataclass
class WatchHealth:
    """What the watch delivered, per object, and since when the API has shown something newer."""

    delivered: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, uid) -> resourceVersion
    behind_since: dict[tuple[str, str], float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def saw(self, kind: str, body: Mapping[str, Any], event_type: str | None = None) -> None:
        """Record one watch event."""
        meta = body.get("metadata") or {}
        key = (kind, str(meta.get("uid")))
        if event_type == "DELETED":
            self.delivered.pop(key, None)
            self.behind_since.pop(key, None)
            return
        version = meta.get("resourceVersion")
        if version is not None:
            self.delivered[key] = str(version)

    def lagging(self, kind: str, listed: Sequence[Mapping[str, Any]], grace_seconds: float) -> list[str]:
        """Objects of `kind` whose listed version the watch has not delivered for `grace_seconds`."""
        now = self.clock()
        problems: list[str] = []
        current: set[tuple[str, str]] = set()
        for item in listed:
            meta = item.get("metadata") or {}
            key = (kind, str(meta.get("uid")))
            current.add(key)
            if self.delivered.get(key) == str(meta.get("resourceVersion")):
                self.behind_since.pop(key, None)
                continue
            since = self.behind_since.setdefault(key, now)
            if now - since >= grace_seconds:
                problems.append(
                    f"{kind} {meta.get('namespace')}/{meta.get('name')}: version"
                    f" {meta.get('resourceVersion')} not delivered by the watch for {now - since:.0f}s"
                )
        for key in [k for k in self.behind_since if k[0] == kind and k not in current]:
            del self.behind_since[key]
        return problems


def register_probe(registry: kopf.OperatorRegistry, kinds: tuple[CrdKind, ...]) -> None:
    """Register the watch probe that kopf's liveness endpoint runs."""

    @kopf.on.probe(id="watch", registry=registry)
    async def watch_probe(memo: kopf.Memo, **_: Any) -> str:
        runtime: Runtime = memo.runtime
        settings = runtime.ctx.settings
        problems: list[str] = []
        for kind in kinds:
            try:
                listed = await runtime.ctx.kube.list_custom_objects(
                    GROUP, VERSION, kind.plural, settings.namespaces
                )
            except Exception as exc:
                raise kopf.PermanentError(f"cannot list {kind.plural}: {exc}") from None
            problems += runtime.watch_health.lagging(kind.kind, listed, settings.liveness_grace_seconds)
        if problems:
            # PermanentError: the probe answers 500 at once instead of kopf retrying the handler.
            raise kopf.PermanentError("watch stream is dead: " + "; ".join(problems[:5]))
        return "watching"
