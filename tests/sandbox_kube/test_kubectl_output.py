"""What kubectl prints against the emulator matches what it prints against an API server."""

from __future__ import annotations

import json

import pytest

from qco.sandbox.kube import tables
from tests.plugins.kube_emulator import KubeEmulatorHandle

EVENT = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "docs.1", "namespace": "default"},
    "involvedObject": {"kind": "QdrantCollection", "name": "docs", "namespace": "default"},
    "reason": "Created",
    "message": "collection docs created ",
    "type": "Normal",
    "firstTimestamp": "2020-01-01T00:00:00Z",
    "lastTimestamp": "2020-01-01T00:00:00Z",
    "count": 1,
    "source": {"component": "qco"},
}


def test_apply_of_an_unknown_kind_says_no_matches_for_kind(kube_emulator: KubeEmulatorHandle) -> None:
    manifest = "apiVersion: nope.dev/v1\nkind: Gadget\nmetadata: {name: g}\n"
    result = kube_emulator.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert result.returncode == 1
    assert 'no matches for kind "Gadget" in version "nope.dev/v1"' in result.stderr
    assert "openapi" not in result.stderr
    core = kube_emulator.kubectl("apply", "-f", "-", input=manifest.replace("nope.dev/v1", "v1"), check=False)
    assert 'no matches for kind "Gadget" in version "v1"' in core.stderr


def test_events_table_has_the_api_servers_columns(kube_emulator: KubeEmulatorHandle) -> None:
    kube_emulator.kubectl("create", "-f", "-", input=json.dumps(EVENT))
    repeated = {
        **EVENT,
        "metadata": {"name": "docs.2"},
        "count": 3,
        "type": "Warning",
        "reason": "Retry",
        "message": "qdrant unreachable",
        "firstTimestamp": "2020-01-01T00:00:00Z",
    }
    kube_emulator.kubectl("create", "-f", "-", input=json.dumps(repeated))
    lines = kube_emulator.kubectl("get", "events").stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert lines[1].split()[1:] == [
        "Normal",
        "Created",
        "qdrantcollection/docs",
        "collection",
        "docs",
        "created",
    ]
    assert lines[2].split()[1:] == [
        "(x3",
        "over",
        lines[2].split()[3],
        "Warning",
        "Retry",
        "qdrantcollection/docs",
        "qdrant",
        "unreachable",
    ]
    wide = kube_emulator.kubectl("get", "events", "-o", "wide").stdout.splitlines()[0].split()
    assert wide == [
        "LAST",
        "SEEN",
        "TYPE",
        "REASON",
        "OBJECT",
        "SUBOBJECT",
        "SOURCE",
        "MESSAGE",
        "FIRST",
        "SEEN",
        "COUNT",
        "NAME",
    ]


def test_namespaces_secrets_and_configmaps_tables(kube_emulator: KubeEmulatorHandle) -> None:
    kube_emulator.kubectl("create", "secret", "generic", "key", "--from-literal=a=1", "--from-literal=b=2")
    kube_emulator.kubectl("create", "configmap", "settings", "--from-literal=a=1")
    namespaces = kube_emulator.kubectl("get", "namespaces").stdout.splitlines()
    assert namespaces[0].split() == ["NAME", "STATUS", "AGE"]
    assert namespaces[1].split()[:2] == ["default", "Active"]
    secrets = kube_emulator.kubectl("get", "secrets").stdout.splitlines()
    assert secrets[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert secrets[1].split()[:3] == ["key", "Opaque", "2"]
    configmaps = kube_emulator.kubectl("get", "configmaps").stdout.splitlines()
    assert configmaps[0].split() == ["NAME", "DATA", "AGE"]
    assert configmaps[1].split()[:2] == ["settings", "1"]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (119, "119s"),
        (200, "3m20s"),
        (300, "5m"),
        (25 * 60, "25m"),
        (5 * 3600 + 600, "5h10m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (400 * 86400, "400d"),
        (3 * 365 * 86400 + 20 * 86400, "3y20d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_ages_are_printed_like_apimachinery(seconds: int, shown: str) -> None:
    assert tables.human_duration(seconds) == shown
