"""Readings the e2e tests wait on: the operator's Prometheus samples (parsed with prometheus_client's
own text parser, so tests compare numbers, not substrings) and a generic poll."""
# Shared by the e2e and delivery tests; kept out of conftest.py, which the harness owner edits.

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def metrics_base(operator_log: str) -> str:
    """The operator's metrics base URL, as it logged it at startup."""
    match = re.search(r"metrics on (http://\S+)/metrics", operator_log)
    assert match is not None, operator_log[-3000:]
    return match.group(1)


def scrape(base: str) -> Samples:
    """Every sample on `/metrics`, keyed by (sample name, labels); waits for the endpoint to open."""
    text = wait_until(lambda: _get_text(f"{base}/metrics"), lambda t: t is not None, what=base)
    assert text is not None
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _get_text(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=10).raise_for_status().text
    except httpx.TransportError:
        return None


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; a missing series fails the test."""
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no sample {name}{labels}; have {sorted({n for n, _ in samples})}"
    return samples[key]


def count(samples: Samples, name: str, **labels: str) -> float:
    """A labelled counter's value: 0 until its label set is first used (none is emitted before)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float = 60,
    what: str = "",
    *,
    describe: Callable[[T], str] = repr,
    interval: float = 0.2,
) -> T:
    """Poll `read()` every `interval` seconds until `done` holds for its result; fail with the last
    reading otherwise, shown by `describe` (e.g. only an object's status, not all its metadata)."""
    deadline = time.monotonic() + timeout
    while True:
        reading = read()
        if done(reading):
            return reading
        if time.monotonic() > deadline:
            shown = describe(reading)
            raise AssertionError(f"timed out waiting for {what or 'a condition'}; last reading: {shown}")
        time.sleep(interval)


def status_json(obj: dict[str, Any]) -> str:
    """An object's status, indented: what a timeout message shows of a polled object."""
    return json.dumps(obj.get("status"), indent=1)
