"""The in-place part of the plan: one PATCH with only the blocks and fields that differ."""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel
from qdrant_client.http import models

from qco.api.collection_config import CollectionConfig, PayloadIndexSpec
from qco.plan import collection_request as req
from qco.plan.actions import UpdateCollection
from qco.plan.compare import changed_fields, live_value, only, plain, same, same_quantization


def collection_update(
    name: str, spec: CollectionConfig, info: models.CollectionInfo, new_vectors: set[str]
) -> UpdateCollection | None:
    """PATCH body covering every mutable difference, or None when the live collection matches.

    `new_vectors` are named vectors about to be added with PUT /vectors/{v}, which carries only
    their immutable part: their hnsw/quantization/on_disk are set here, right after.
    """
    config, params = info.config, info.config.params
    body: dict[str, Any] = {}
    fields: list[str] = []

    if spec.hnsw is not None:
        names = changed_fields(req.hnsw_diff(spec.hnsw), config.hnsw_config)
        if names:
            body["hnsw_config"] = only(req.hnsw_diff(spec.hnsw), names)
            fields += [f"hnsw.{to_camel(n)}" for n in names]
    if spec.optimizers is not None:
        names = changed_fields(req.optimizers_diff(spec.optimizers), config.optimizer_config)
        if names:
            body["optimizers_config"] = only(req.optimizers_diff(spec.optimizers), names)
            fields += [f"optimizers.{to_camel(n)}" for n in names]
    if spec.quantization is not None and not same_quantization(spec.quantization, config.quantization_config):
        body["quantization_config"] = req.quantization_diff(spec.quantization)
        fields.append("quantization")

    wanted_params = models.CollectionParamsDiff(
        replication_factor=spec.replication_factor,
        write_consistency_factor=spec.write_consistency_factor,
        on_disk_payload=spec.on_disk_payload,
    )
    names = changed_fields(wanted_params, params)
    if names:
        body["params"] = only(wanted_params, names)
        fields += [to_camel(n) for n in names]

    vectors, vector_fields = _vector_diffs(spec, info, new_vectors)
    if vectors:
        body["vectors"] = vectors
        fields += vector_fields
    sparse, sparse_fields = _sparse_diffs(spec, info, new_vectors)
    if sparse:
        body["sparse_vectors"] = sparse
        fields += sparse_fields

    if spec.metadata:
        live_meta = config.metadata or {}
        changed = {k: v for k, v in sorted(spec.metadata.items()) if k not in live_meta or live_meta[k] != v}
        if changed:
            body["metadata"] = changed
            fields += [f"metadata.{k}" for k in changed]

    if not body:
        return None
    return UpdateCollection(name, models.UpdateCollection(**body), tuple(fields))


def _vector_diffs(
    spec: CollectionConfig, info: models.CollectionInfo, new_vectors: set[str]
) -> tuple[dict[str, models.VectorParamsDiff], list[str]]:
    if not spec.vectors:
        return {}, []
    live_vectors = info.config.params.vectors
    live_by_name: dict[str, models.VectorParams] = (
        {"": live_vectors} if isinstance(live_vectors, models.VectorParams) else dict(live_vectors or {})
    )
    out: dict[str, models.VectorParamsDiff] = {}
    fields: list[str] = []
    for name, v in sorted(spec.vectors.items()):
        live = live_by_name.get(name)
        if live is None and name not in new_vectors:
            continue  # cannot be added (layout mismatch): reported as immutable
        wanted = req.vector_params_diff(v)
        diff: dict[str, Any] = {}
        path = f"vectors.{name}" if name else 'vectors.""'
        if v.on_disk is not None and not same(v.on_disk, live_value(live, "on_disk"), "on_disk"):
            diff["on_disk"] = v.on_disk
            fields.append(f"{path}.onDisk")
        if v.hnsw is not None and wanted.hnsw_config is not None:
            live_hnsw = live.hnsw_config if live is not None else None
            if changed_fields(wanted.hnsw_config, live_hnsw):
                # Send the whole per-vector override: it does not depend on merge vs replace.
                diff["hnsw_config"] = wanted.hnsw_config
                fields.append(f"{path}.hnsw")
        if v.quantization is not None:
            live_q = live.quantization_config if live is not None else None
            if not same_quantization(v.quantization, live_q):
                diff["quantization_config"] = wanted.quantization_config
                fields.append(f"{path}.quantization")
        if diff:
            out[name] = models.VectorParamsDiff(**diff)
    return out, fields


def _sparse_diffs(
    spec: CollectionConfig, info: models.CollectionInfo, new_vectors: set[str]
) -> tuple[dict[str, models.SparseVectorParams], list[str]]:
    if not spec.sparse_vectors:
        return {}, []
    live_sparse = info.config.params.sparse_vectors or {}
    out: dict[str, models.SparseVectorParams] = {}
    fields: list[str] = []
    for name, s in sorted(spec.sparse_vectors.items()):
        live = live_sparse.get(name)
        wanted = req.sparse_vector_params(s)
        if live is None:
            # New: PUT /vectors/{v} set modifier and datatype; the rest of the index comes here.
            if s.index is not None and (
                s.index.full_scan_threshold is not None or s.index.on_disk is not None
            ):
                out[name] = wanted
                fields.append(f"sparseVectors.{name}.index")
            continue
        differs = s.modifier is not None and not same(s.modifier, live.modifier, "modifier")
        if s.index is not None and wanted.index is not None:
            differs = differs or bool(changed_fields(wanted.index, live.index))
        if differs:
            # The whole sparse block: Qdrant replaces the index params it is given.
            out[name] = wanted
            fields.append(f"sparseVectors.{name}")
    return out, fields


def payload_index_differs(spec: PayloadIndexSpec, live: models.PayloadIndexInfo) -> bool:
    """Whether the live index has another type, or a parameter the spec sets has another value."""
    if plain(live.data_type) != spec.type:
        return True
    wanted = req.payload_field_schema(spec)
    if isinstance(wanted, models.PayloadSchemaType):
        return False  # no parameter managed
    return bool(changed_fields(wanted, live.params) if live.params is not None else _any_non_default(wanted))


def _any_non_default(wanted: Any) -> bool:
    # Qdrant may leave params out when they are all defaults: only a non-default spec value differs.
    return any(value is not None and name != "type" and not same(value, None, name) for name, value in wanted)
