"""Per-resource event buses that remember recent events, so a watch can resume from a resourceVersion."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable
from typing import Any

from qco.sandbox.kube.errors import expired


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    """One change of one object, as it goes out on a watch stream."""

    resource_version: int
    type: str  # ADDED, MODIFIED, DELETED
    object: dict[str, Any]
    #: The object before a MODIFIED change (not a copy: stored objects are replaced, never mutated).
    previous: dict[str, Any] | None = None

    def as_seen_by(self, matches: Callable[[dict[str, Any]], bool]) -> str | None:
        """The event type a watch with this filter gets, or None when it gets nothing.

        As in the API server's watch cache: an object that stops matching a selector is
        DELETED for that watch, and one that starts matching is ADDED.
        """
        now = matches(self.object)
        if self.type != "MODIFIED" or self.previous is None:
            return self.type if now else None
        before = matches(self.previous)
        if now:
            return "MODIFIED" if before else "ADDED"
        return "DELETED" if before else None


class EventBus:
    """Recent events of one resource plus live subscribers.

    Events older than the window are forgotten: a watch asking for a version from before
    the window gets 410 Expired, as from an API server whose etcd was compacted.
    """

    def __init__(self, window: int = 10_000) -> None:
        self._events: collections.deque[WatchEvent] = collections.deque(maxlen=window)
        self._subscribers: set[asyncio.Queue[WatchEvent | None]] = set()
        #: The newest version no longer replayable (0 = nothing forgotten yet).
        self.compacted = 0

    def publish(self, event: WatchEvent) -> None:
        """Record an event and hand it to every live watch (never blocks)."""
        if self._events.maxlen is not None and len(self._events) == self._events.maxlen:
            self.compacted = self._events[0].resource_version
        self._events.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)

    @property
    def watchers(self) -> int:
        """How many watches are open on this resource (tests wait for a client to start watching)."""
        return len(self._subscribers)

    def subscribe(self) -> asyncio.Queue[WatchEvent | None]:
        """A queue that receives every event published from now on (None means: stop)."""
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WatchEvent | None]) -> None:
        """Stop delivering events to a queue."""
        self._subscribers.discard(queue)

    def replay_since(self, resource_version: int) -> list[WatchEvent]:
        """Events newer than `resource_version`; 410 Expired if some of them were forgotten."""
        if resource_version < self.compacted:
            raise expired(resource_version, self.compacted + 1)
        # Events are ordered by version: walk back from the newest (usually only a few are newer).
        newer: list[WatchEvent] = []
        for event in reversed(self._events):
            if event.resource_version <= resource_version:
                break
            newer.append(event)
        newer.reverse()
        return newer

    def close_all(self) -> None:
        """End every live watch (server shutdown)."""
        for queue in self._subscribers:
            queue.put_nowait(None)


class EventBuses:
    """One bus per resource key, created on first use."""

    def __init__(self, window: int = 10_000) -> None:
        self._window = window
        self._buses: dict[tuple[str, str], EventBus] = {}

    def __getitem__(self, key: tuple[str, str]) -> EventBus:
        bus = self._buses.get(key)
        if bus is None:
            bus = self._buses[key] = EventBus(self._window)
        return bus

    def close_all(self) -> None:
        """End every live watch of every resource."""
        for bus in self._buses.values():
            bus.close_all()
