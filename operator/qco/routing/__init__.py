"""qco's client helper: route requests between a CanaryRollout's collections.

`pip install 'qdrant-collection-operator[routing]'`; imports nothing from the operator.

    router = Router("docs-routing", "search", fallback="docs").start()
    collection = router.pick(user_id)
    with router.measure(collection):
        hits = qdrant.query_points(collection, ...)
"""

from qco.routing.router import Router
from qco.routing.table import APPLIED_PREFIX, ROUTING_KEY, RoutingError, RoutingTable, bucket, confirmations

__all__ = [
    "APPLIED_PREFIX",
    "ROUTING_KEY",
    "Router",
    "RoutingError",
    "RoutingTable",
    "bucket",
    "confirmations",
]
