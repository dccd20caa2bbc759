"""Turn what the operator's `/metrics` exposes, scrape after scrape, into `promtool test rules`
input series, and run promtool on the chart's rules (Prometheus's own rule engine)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

#: One scrape's exposition text and for how many consecutive minutes it stays the same.
Scrape = tuple[str, int]


def series_from_scrapes(scrapes: Sequence[Scrape], names: Iterable[str]) -> list[dict[str, str]]:
    """promtool `input_series` (1 m apart) for the samples named `names` in the scrapes."""
    wanted = set(names)
    timeline: list[dict[str, float]] = []
    for text, repeat in scrapes:
        samples = {
            _series(s.name, s.labels): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name in wanted
        }
        timeline += [samples] * repeat
    every = sorted({key for samples in timeline for key in samples})
    return [{"series": key, "values": _values([samples.get(key) for samples in timeline])} for key in every]


def run_promtool(tmp: Path, groups: list[dict[str, Any]], tests: list[dict[str, Any]]) -> str:
    """`promtool test rules` on `groups` (annotations dropped: they are text, not conditions)."""
    rules = [
        {k: v for k, v in rule.items() if k != "annotations"} for group in groups for rule in group["rules"]
    ]
    (tmp / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "qco", "rules": rules}]}))
    (tmp / "tests.yaml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests})
    )
    done = subprocess.run(
        ["promtool", "test", "rules", "tests.yaml"], cwd=tmp, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _series(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _values(values: list[float | None]) -> str:
    """promtool's expanding notation: runs of one value as `v+0xN`, missing samples as `_xN`."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        run = j - i + 1
        value = values[i]
        if value is None:
            parts.append(f"_x{run}")
        else:
            parts.append(f"{value:g}+0x{run - 1}" if run > 1 else f"{value:g}")
        i = j + 1
    return " ".join(parts)
