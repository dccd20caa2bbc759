"""One collection: an Edge shard in `<root>/shard`, its side file, and its background rebuilds."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models

from qco.sandbox.qdrant import shard_files
from qco.sandbox.qdrant.config_translation import (
    Json,
    apply_update,
    collection_config,
    create_request_to_edge,
)
from qco.sandbox.qdrant.errors import bad_request
from qco.sandbox.qdrant.optimizations import OptimizationLog, segment_infos
from qco.sandbox.qdrant.rebuild import optimize_in_worker

META_FILE = "meta.json"
SHARD_DIR = "shard"
# A small pause before an automatic rebuild, so a bulk upload is not rebuilt after every batch.
AUTO_REBUILD_DELAY = 1.0


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


class Collection:
    """A live collection. Reads are synchronous; writes and config changes take `lock`."""

    def __init__(self, name: str, root: Path, paused: Callable[[], bool]) -> None:
        self.name = name
        self.root = root
        self.shard_dir = root / SHARD_DIR
        self.meta: Json = shard_files.read_json(root / META_FILE) if (root / META_FILE).exists() else {}
        self.shard: Any = None
        self.lock = asyncio.Lock()
        self.optimizer_error: str | None = None
        self._paused = paused
        self._rebuild_task: asyncio.Task[None] | None = None
        self._rebuild_again = False
        self._recorded: list[Any] | None = None
        self.optimizations = OptimizationLog()

    # ---- lifecycle -----------------------------------------------------------------

    @classmethod
    def create(
        cls, name: str, root: Path, request: models.CreateCollection, paused: Callable[[], bool]
    ) -> Collection:
        """Create the shard directory from a create request and open it."""
        edge, meta = create_request_to_edge(request)
        meta["created_at"] = datetime.now(UTC).isoformat()
        root.mkdir(parents=True)
        try:
            (root / SHARD_DIR).mkdir()
            shard_files.write_json(root / SHARD_DIR / shard_files.EDGE_CONFIG, edge)
            shard_files.write_json(root / META_FILE, meta)
            collection = cls(name, root, paused)
            collection.open()
        except Exception as exc:
            _remove(root)
            raise bad_request(str(exc)) from exc
        return collection

    def _load(self) -> Any:
        # No EdgeConfig: the shard's own edge_config.json is the desired config.
        return qe.EdgeShard.load(str(self.shard_dir))

    def open(self) -> None:
        """Open (load) the shard from disk, cleaning up a rebuild that a crash interrupted."""
        _remove(self.root / "rebuild")
        old = self.root / "old"
        if old.exists() and not self.shard_dir.exists():
            old.rename(self.shard_dir)
        _remove(old)
        self.shard = self._load()

    async def close(self) -> None:
        """Stop a running rebuild and close the shard."""
        task, self._rebuild_task = self._rebuild_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        from qco.sandbox.qdrant.shard_keys import close_keys

        close_keys(self)
        if self.shard is not None:
            self.shard.flush()
            self.shard.close()
            self.shard = None

    def save_meta(self) -> None:
        """Persist the side file."""
        shard_files.write_json(self.root / META_FILE, self.meta)

    # ---- reads ---------------------------------------------------------------------

    def live_segments(self) -> list[str]:
        """Ids of the live segments (keys of the shard's snapshot manifest)."""
        return list(self.shard.snapshot_manifest())

    def edge_config(self) -> Json:
        """The shard's persisted desired config."""
        return shard_files.read_edge_config(self.shard_dir)

    @property
    def rebuilding(self) -> bool:
        """True while a rebuild is scheduled or running."""
        return self._rebuild_task is not None and not self._rebuild_task.done()

    def outdated_segments(self) -> list[str]:
        """Live segments built with other HNSW/quantization settings than desired."""
        live = self.live_segments()
        return shard_files.outdated_segments(
            self.edge_config(), shard_files.segment_configs(self.shard_dir, live)
        )

    def status(self) -> models.CollectionStatus:
        """red (optimizer failed), yellow (rebuilding), grey (outdated, not rebuilding), green."""
        if self.optimizer_error is not None:
            return models.CollectionStatus.RED
        if self.rebuilding:
            return models.CollectionStatus.YELLOW
        if self.outdated_segments():
            return models.CollectionStatus.GREY
        return models.CollectionStatus.GREEN

    def payload_schema(self) -> dict[str, models.PayloadIndexInfo]:
        """Indexed payload fields with type, params and indexed point counts."""
        counts = {name: info.points for name, info in self.shard.info().payload_schema.items()}
        schema = {}
        for name, field in shard_files.payload_field_schemas(self.shard_dir, self.live_segments()).items():
            if isinstance(field, models.PayloadSchemaType):
                data_type, params = field, None
            else:
                data_type = models.PayloadSchemaType(field.type.value)
                set_fields = field.model_dump(exclude_none=True, exclude={"type"})
                params = field if set_fields else None
            schema[name] = models.PayloadIndexInfo(
                data_type=data_type, params=params, points=counts.get(name, 0)
            )
        return schema

    def info(self) -> models.CollectionInfo:
        """Qdrant's CollectionInfo, read back from the shard's files and counters."""
        from qco.sandbox.qdrant.shard_keys import points_in_keys  # custom sharding: key shards count too

        info = self.shard.info()
        optimizer_status: Any = (
            models.OptimizersStatusOneOf.OK
            if self.optimizer_error is None
            else models.OptimizersStatusOneOf1(error=self.optimizer_error)
        )
        return models.CollectionInfo(
            status=self.status(),
            optimizer_status=optimizer_status,
            warnings=[],
            indexed_vectors_count=info.indexed_vectors_count,
            points_count=info.points_count + points_in_keys(self),
            segments_count=info.segments_count,
            config=collection_config(self.edge_config(), self.meta),
            payload_schema=self.payload_schema(),
        )

    def vector_of(self, point: Any, name: str) -> Any:
        """The stored vector `name` of a point (for queries that name a point id)."""
        records = self.shard.retrieve([point], with_payload=False, with_vector=[name] if name else True)
        if not records:
            raise bad_request(f"No point with id {point} found")
        vector = records[0].vector
        return vector.get(name) if isinstance(vector, dict) else vector

    # ---- writes --------------------------------------------------------------------

    async def write(self, operation: Any) -> None:
        """Apply an update; while a rebuild copy is out, also record it for replay on the copy."""
        async with self.lock:
            self._apply(operation)
            if self._recorded is not None:
                self._recorded.append(operation)

    def _apply(self, operation: Any) -> None:
        try:
            self.shard.update(operation)
        except Exception as exc:
            raise bad_request(str(exc)) from exc

    def maybe_schedule_indexing(self) -> None:
        """After writes: like Qdrant's optimizer, index once unindexed vectors pass the threshold.

        During a rebuild this asks for one more pass: points written after the rebuild copied the
        shard would otherwise stay unindexed while the collection reports green."""
        if self._paused():
            return
        edge = self.edge_config()
        threshold = edge.get("optimizers", {}).get("indexing_threshold") or 0
        if threshold <= 0:
            return
        info = self.shard.info()
        segments = shard_files.segment_configs(self.shard_dir, self.live_segments())
        if (
            shard_files.unindexed_kb(edge, segments, info.points_count, info.indexed_vectors_count)
            > threshold
        ):
            self.schedule_rebuild(AUTO_REBUILD_DELAY)

    async def patch(self, request: models.UpdateCollection) -> None:
        """Apply a PATCH: rewrite `edge_config.json`, reload, and rebuild what became outdated."""
        async with self.lock:
            edge = self.edge_config()
            new_edge, new_meta = apply_update(edge, self.meta, request)
            if new_edge != edge:
                self._reload_with(new_edge, edge)
            self.meta = new_meta
            self.save_meta()
        nudge = request.optimizers_config is not None and self.shard.info().points_count > 0
        if new_edge != edge and self.rebuilding:
            self._rebuild_again = True
        elif (nudge or self.outdated_segments()) and not self._paused():
            self.schedule_rebuild(0.0)

    def _reload_with(self, new_edge: Json, old_edge: Json) -> None:
        path = self.shard_dir / shard_files.EDGE_CONFIG
        self.shard.flush()
        self.shard.close()
        shard_files.write_json(path, new_edge)
        try:
            self.shard = self._load()
        except Exception as exc:
            # The engine refused the change (e.g. an immutable field): put the old config back.
            shard_files.write_json(path, old_edge)
            self.shard = self._load()
            raise bad_request(str(exc)) from exc

    async def add_vector(self, name: str, config: Any) -> None:
        """`PUT /collections/{c}/vectors/{v}`: a new named dense or sparse vector."""
        edge = self.edge_config()
        if name in edge.get("vectors", {}) or name in edge.get("sparse_vectors", {}):
            raise bad_request(f"Vector name `{name}` already exists")
        if isinstance(config, models.DenseVectorNameConfig):
            dense = config.dense
            op = qe.UpdateOperation.create_dense_vector(
                name,
                dense.size,
                getattr(qe.Distance, dense.distance.value),
                multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim)
                if dense.multivector_config is not None
                else None,
                datatype=_datatype(dense.datatype),
            )
        else:
            modifier = qe.Modifier.Idf if config.sparse.modifier == models.Modifier.IDF else None
            op = qe.UpdateOperation.create_sparse_vector(
                name, modifier=modifier, datatype=_datatype(config.sparse.datatype)
            )
        await self.write(op)
        self.meta["single_vector"] = False
        self.save_meta()

    async def delete_vector(self, name: str) -> None:
        """`DELETE /collections/{c}/vectors/{v}`."""
        edge = self.edge_config()
        if name not in edge.get("vectors", {}) and name not in edge.get("sparse_vectors", {}):
            raise bad_request(f"Not existing vector name error: {name}")
        await self.write(qe.UpdateOperation.delete_vector_name(name))
        self.meta["vector_hnsw"].pop(name, None)
        self.save_meta()

    # ---- background rebuild --------------------------------------------------------

    def schedule_rebuild(self, delay: float) -> None:
        """Start a rebuild (after `delay` seconds) unless one is already scheduled or running."""
        self.optimizer_error = None
        if self.rebuilding:
            self._rebuild_again = True
            return
        self._rebuild_task = asyncio.get_running_loop().create_task(self._rebuild_loop(delay))

    async def _rebuild_loop(self, delay: float) -> None:
        await asyncio.sleep(delay)
        while True:
            self._rebuild_again = False
            work = self.root / "rebuild"
            try:
                await self._copy_shard(work)
                self._log_start()
                error = await optimize_in_worker(work)
                self.optimizations.finish(error)
                if error is not None:
                    self.optimizer_error = error
                    return
                async with self.lock:
                    self._swap_in(work)
            finally:
                self._recorded = None
                _remove(work)
            if not self._rebuild_again:
                return

    def _log_start(self) -> None:
        live, outdated = self.live_segments(), self.outdated_segments()
        optimizer = "config_mismatch" if outdated else "indexing"
        points = self.shard.info().points_count
        self.optimizations.start(optimizer, segment_infos(outdated or live, points, len(live)))

    async def _copy_shard(self, work: Path) -> None:
        async with self.lock:  # no writes while the files are copied
            _remove(work)
            self.shard.flush()
            process = await asyncio.create_subprocess_exec(
                "cp", "-a", "--sparse=always", str(self.shard_dir), str(work)
            )
            if await process.wait() != 0:
                raise RuntimeError("copying the shard for a rebuild failed")
            self._recorded = []

    def _swap_in(self, work: Path) -> None:
        """Replace the live shard by the optimized copy and replay writes made meanwhile."""
        old = self.root / "old"
        self.shard.flush()
        self.shard.close()
        # The live config may have been PATCHed during the rebuild: it wins.
        shutil.copy2(self.shard_dir / shard_files.EDGE_CONFIG, work / shard_files.EDGE_CONFIG)
        _remove(old)
        self.shard_dir.rename(old)
        work.rename(self.shard_dir)
        self.shard = self._load()
        for operation in self._recorded or []:
            self.shard.update(operation)
        self._recorded = None
        _remove(old)


def _datatype(value: models.Datatype | models.VectorStorageDatatype | None) -> Any:
    if value is None:
        return None
    return {
        "float32": qe.VectorStorageDatatype.Float32,
        "float16": qe.VectorStorageDatatype.Float16,
        "uint8": qe.VectorStorageDatatype.Uint8,
    }[value.value]
