"""Custom sharding by key: one Edge shard per shard key next to the collection's own shard.

- `PUT /collections/{c}/shards` (CreateShardingKey) creates `<root>/keys/<n>/` with the
  collection's edge config and opens an Edge shard there; `POST /collections/{c}/shards/delete`
  (DropShardingKey) closes and removes it (its points are gone, as in Qdrant).
- Upserts, queries, scrolls and counts that name a `shard_key` go to that key's shard only; a
  query or count without one covers every shard (results merged by score).
- `GET /collections/{c}/cluster` lists the shards with their keys and point counts.

Limits: key shards are not rebuilt by the background optimizer (their HNSW follows the engine's
own indexing on load) and not part of snapshots. The keys are kept in the collection's meta.json.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from aiohttp import web
from qdrant_client.http import models

from qco.sandbox.qdrant import shard_files
from qco.sandbox.qdrant.collection import Collection
from qco.sandbox.qdrant.errors import bad_request, ok
from qco.sandbox.qdrant.http_util import parse_body, registry
from qco.sandbox.qdrant.routes_collections import C

KEYS_DIR = "keys"
_OPEN: dict[int, dict[str, Any]] = {}  # id(collection) -> key -> open Edge shard


def _entries(collection: Collection) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = collection.meta.setdefault("shard_keys", [])
    return entries


def _key_dir(collection: Collection, index: int) -> Path:
    return collection.root / KEYS_DIR / str(index)


def key_shards(collection: Collection) -> dict[str, Any]:
    """The open Edge shard of every shard key of `collection` (opened on first use)."""
    shards = _OPEN.get(id(collection))
    if shards is None:
        shards = {}
        for entry in _entries(collection):
            shards[str(entry["key"])] = qe.EdgeShard.load(str(_key_dir(collection, int(entry["dir"]))))
        _OPEN[id(collection)] = shards
    return shards


def shard_for(collection: Collection, shard_key: Any) -> Any:
    """The shard a request with `shard_key` goes to (the collection's own without one)."""
    if shard_key is None:
        return collection.shard
    keys = shard_key if isinstance(shard_key, list) else [shard_key]
    if len(keys) != 1:
        raise bad_request("the sandbox routes to exactly one shard key per request")
    shards = key_shards(collection)
    key = str(keys[0])
    if key not in shards:
        raise bad_request(f"Shard key {key} not found")
    return shards[key]


def all_shards(collection: Collection) -> list[Any]:
    """The collection's own shard and every key shard."""
    return [collection.shard, *key_shards(collection).values()]


def points_in_keys(collection: Collection) -> int:
    """Points held by the key shards (added to the collection's count)."""
    return sum(shard.info().points_count for shard in key_shards(collection).values())


def close_keys(collection: Collection) -> None:
    """Flush and close the key shards (collection closed or deleted)."""
    for shard in _OPEN.pop(id(collection), {}).values():
        shard.flush()
        shard.close()


async def create_shard_key(request: web.Request) -> web.Response:
    """`PUT /collections/{c}/shards`."""
    started = time.perf_counter()
    body = await parse_body(request, models.CreateShardingKey)
    collection = registry(request).resolve(request.match_info["collection_name"])
    if collection.meta.get("sharding_method") != "custom":
        raise bad_request("Shard key can only be created for collections with custom sharding method")
    key = str(body.shard_key)
    async with collection.lock:
        shards = key_shards(collection)
        if key in shards:
            raise bad_request(f"Shard key {key} already exists")
        index = max((int(e["dir"]) for e in _entries(collection)), default=-1) + 1
        target = _key_dir(collection, index)
        target.mkdir(parents=True)
        shard_files.write_json(target / shard_files.EDGE_CONFIG, collection.edge_config())
        shards[key] = qe.EdgeShard.load(str(target))
        _entries(collection).append(
            {
                "key": key,
                "dir": index,
                "shards": body.shards_number or 1,
                "replicas": body.replication_factor or 1,
            }
        )
        collection.save_meta()
    return ok(True, started)


async def delete_shard_key(request: web.Request) -> web.Response:
    """`POST /collections/{c}/shards/delete`: the key's shard and its points go."""
    started = time.perf_counter()
    body = await parse_body(request, models.DropShardingKey)
    collection = registry(request).resolve(request.match_info["collection_name"])
    key = str(body.shard_key)
    async with collection.lock:
        shards = key_shards(collection)
        entry = next((e for e in _entries(collection) if str(e["key"]) == key), None)
        if entry is None:
            raise bad_request(f"Shard key {key} not found")
        shard = shards.pop(key)
        shard.close()
        shutil.rmtree(_key_dir(collection, int(entry["dir"])), ignore_errors=True)
        _entries(collection).remove(entry)
        collection.save_meta()
    return ok(True, started)


async def cluster_info(request: web.Request) -> web.Response:
    """`GET /collections/{c}/cluster`: one local shard per key (plus the collection's own)."""
    started = time.perf_counter()
    collection = registry(request).resolve(request.match_info["collection_name"])
    shards = key_shards(collection)
    local = [
        models.LocalShardInfo(
            shard_id=0,
            shard_key=None,
            points_count=collection.shard.info().points_count,
            state=models.ReplicaState.ACTIVE,
        )
    ]
    for i, (key, shard) in enumerate(shards.items(), start=1):
        local.append(
            models.LocalShardInfo(
                shard_id=i,
                shard_key=key,
                points_count=shard.info().points_count,
                state=models.ReplicaState.ACTIVE,
            )
        )
    info = models.CollectionClusterInfo(
        peer_id=1, shard_count=len(local), local_shards=local, remote_shards=[], shard_transfers=[]
    )
    return ok(info, started)


def add_routes(app: web.Application) -> None:
    """Register the shard-key routes."""
    app.router.add_put(C + "/shards", create_shard_key)
    app.router.add_post(C + "/shards/delete", delete_shard_key)
    app.router.add_get(C + "/cluster", cluster_info)
