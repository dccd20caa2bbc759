"""CollectionDeployment metrics: rollout phases entered, points copied (so copy throughput is a
`rate()`), and alias switches."""

from __future__ import annotations

import prometheus_client
from prometheus_client import CollectorRegistry


class DeploymentMetrics:
    """Counters a deployment's passes update."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.phases = prometheus_client.Counter(
            "qco_deployment_phases",
            "Rollout phases entered by CollectionDeployments, by phase.",
            ["phase"],
            registry=registry,
        )
        self.points_copied = prometheus_client.Counter(
            "qco_deployment_points_copied",
            "Points copied into new revisions, by phase (Filling, CatchingUp); rate() is the throughput.",
            ["phase"],
            registry=registry,
        )
        self.switches = prometheus_client.Counter(
            "qco_deployment_alias_switches",
            "Alias switches made by CollectionDeployments (rollouts and rollbacks).",
            registry=registry,
        )
