"""BackupSchedule metrics: last success per schedule and collection, expected interval, runs by
result, bytes and duration. Gauges are set from status on every pass (so they are right after an
operator restart) and removed when the schedule goes (so they never stay stale)."""

from __future__ import annotations

import contextlib

import prometheus_client
from prometheus_client import CollectorRegistry, Gauge, Histogram


class BackupMetrics:
    """The backup series, in the operator's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.last_success = Gauge(
            "qco_backup_last_success_timestamp_seconds",
            "When the last successful backup of a collection by a schedule ended (Unix time).",
            ["namespace", "schedule", "collection"],
            registry=registry,
        )
        self.expected_interval = Gauge(
            "qco_backup_expected_interval_seconds",
            "Seconds between a schedule's slots (alerts: no success within 2x this).",
            ["namespace", "schedule"],
            registry=registry,
        )
        self.suspended = Gauge(
            "qco_backup_suspended",
            "1 while a schedule is suspended or paused.",
            ["namespace", "schedule"],
            registry=registry,
        )
        self.runs = prometheus_client.Counter(
            "qco_backup_runs",
            "Backup runs by result (Succeeded, Failed, PartiallyFailed).",
            ["namespace", "schedule", "result"],
            registry=registry,
        )
        self.bytes = prometheus_client.Counter(
            "qco_backup_bytes",
            "Bytes stored by backup runs.",
            ["namespace", "schedule"],
            registry=registry,
        )
        self.duration = Histogram(
            "qco_backup_run_duration_seconds",
            "Duration of backup runs by result.",
            ["namespace", "schedule", "result"],
            buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600),
            registry=registry,
        )
        self._collections: dict[tuple[str, str], set[str]] = {}

    def set_last_success(self, namespace: str, schedule: str, by_collection: dict[str, float]) -> None:
        """The last success per collection; collections no longer backed up lose their series."""
        known = self._collections.setdefault((namespace, schedule), set())
        for gone in known - set(by_collection):
            self.last_success.remove(namespace, schedule, gone)
        for collection, when in by_collection.items():
            self.last_success.labels(namespace, schedule, collection).set(when)
        self._collections[(namespace, schedule)] = set(by_collection)

    def forget(self, namespace: str, schedule: str) -> None:
        """The schedule is gone: its gauges go too."""
        for collection in self._collections.pop((namespace, schedule), set()):
            self.last_success.remove(namespace, schedule, collection)
        for gauge in (self.expected_interval, self.suspended):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, schedule)
