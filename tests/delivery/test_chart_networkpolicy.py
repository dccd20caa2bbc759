"""networkPolicy.egress.s3: the NetworkPolicy lets the operator reach S3-compatible storage for
backups only when asked, with exactly the CIDRs, peers and ports the values give."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.delivery.chart import only, render

KUBE_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
DNS = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
API_SERVER = {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}
QDRANT = {"ports": [{"port": 6333, "protocol": "TCP"}, {"port": 6334, "protocol": "TCP"}]}
MINIO = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "minio"}}}


def egress(s3: dict[str, Any] | None) -> list[dict[str, Any]]:
    values: dict[str, Any] = {"networkPolicy": {"enabled": True}}
    if s3 is not None:
        values["networkPolicy"]["egress"] = {"s3": s3}
    (policy,) = only(render(values), "NetworkPolicy")
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(policy, version, strict=True)
    rules: list[dict[str, Any]] = policy["spec"]["egress"]
    return rules


def test_no_s3_rule_by_default() -> None:
    assert egress(None) == [DNS, API_SERVER, QDRANT]
    assert egress({"cidrs": ["52.219.0.0/16"]}) == [DNS, API_SERVER, QDRANT]  # not enabled


def test_enabled_s3_rule_carries_exactly_the_cidrs_peers_and_ports() -> None:
    s3 = {"enabled": True, "cidrs": ["52.219.0.0/16", "3.5.0.0/19"], "peers": [MINIO], "ports": [443, 9000]}
    assert egress(s3) == [
        DNS,
        API_SERVER,
        QDRANT,
        {
            "ports": [{"port": 443, "protocol": "TCP"}, {"port": 9000, "protocol": "TCP"}],
            "to": [{"ipBlock": {"cidr": "52.219.0.0/16"}}, {"ipBlock": {"cidr": "3.5.0.0/19"}}, MINIO],
        },
    ]


def test_enabled_without_cidrs_or_peers_allows_port_443_to_any_address() -> None:
    assert egress({"enabled": True})[-1] == {"ports": [{"port": 443, "protocol": "TCP"}]}


@pytest.mark.parametrize(
    ("s3", "error"),
    [
        (
            {"enabled": True, "cidrs": ["s3.amazonaws.com"]},
            r"/networkPolicy/egress/s3/cidrs/0'.*does not match",
        ),
        ({"enabled": True, "ports": []}, r"/networkPolicy/egress/s3/ports'.*minItems"),
        ({"endpoint": "x"}, r"/networkPolicy/egress/s3'.*'endpoint' not allowed"),
    ],
    ids=["hostname-not-cidr", "no-ports", "unknown-key"],
)
def test_values_schema_refuses_bad_s3_egress(s3: dict[str, Any], error: str) -> None:
    with pytest.raises(Exception, match=error):
        render({"networkPolicy": {"enabled": True, "egress": {"s3": s3}}})


def test_extra_egress_rules_are_appended_as_given() -> None:
    prometheus = {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
        "ports": [{"port": 9090, "protocol": "TCP"}],
    }
    embeddings = {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 8080, "protocol": "TCP"}]}
    values = {"networkPolicy": {"enabled": True, "egress": {"extra": [prometheus, embeddings]}}}
    (policy,) = only(render(values), "NetworkPolicy")
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(policy, version, strict=True)
    assert policy["spec"]["egress"] == [DNS, API_SERVER, QDRANT, prometheus, embeddings]
