"""Act: perform one planned action through the Qdrant gateway."""

from __future__ import annotations

from qdrant_client.http import models

from qco.clients.qdrant import QdrantGateway
from qco.plan.actions import (
    Action,
    CreateCollection,
    CreatePayloadIndex,
    CreateVector,
    DeletePayloadIndex,
    DeleteVector,
    NudgeOptimizers,
    StampOwner,
    UpdateAliases,
    UpdateCollection,
)


async def perform(gateway: QdrantGateway, action: Action) -> None:
    """Send the request an action stands for."""
    name = action.collection_name
    match action:
        case CreateCollection(request=request):
            await gateway.create_collection(name, request)
        case StampOwner(metadata=metadata):
            await gateway.update_collection(name, models.UpdateCollection(metadata=dict(metadata)))
        case UpdateCollection(request=request):
            await gateway.update_collection(name, request)
        case CreateVector(vector_name=vector, config=config):
            await gateway.create_vector(name, vector, config)
        case DeleteVector(vector_name=vector):
            await gateway.delete_vector(name, vector)
        case CreatePayloadIndex(field_name=field_name, field_schema=schema):
            await gateway.create_payload_index(
                name, models.CreateFieldIndex(field_name=field_name, field_schema=schema)
            )
        case DeletePayloadIndex(field_name=field_name):
            await gateway.delete_payload_index(name, field_name)
        case UpdateAliases(operations=operations):
            await gateway.update_aliases(list(operations))
        case NudgeOptimizers():
            # An empty optimizers diff is Qdrant's documented way to restart stopped optimizers.
            await gateway.update_collection(
                name, models.UpdateCollection(optimizers_config=models.OptimizersConfigDiff())
            )
