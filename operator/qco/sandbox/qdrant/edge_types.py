"""Translate qdrant-client request models into qdrant_edge objects, and results back.

One table per family (conditions, matches, payload index params); each entry says which
qdrant-client type maps to which Edge constructor. Anything not in a table is answered
with a 400 that names it, rather than silently ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models

from qco.sandbox.qdrant.errors import bad_request

# ---- point ids and vectors -------------------------------------------------------------


def point_id(value: models.ExtendedPointId) -> Any:
    """A point id as Edge takes it: int or UUID string."""
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise bad_request(f"Unable to parse UUID: {value}") from exc
    return value


def id_out(value: Any) -> models.ExtendedPointId:
    """A point id as Qdrant returns it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    result: models.ExtendedPointId = value
    return result


def _vector_in(value: Any) -> Any:
    if isinstance(value, models.SparseVector):
        return qe.SparseVector(list(value.indices), list(value.values))
    if isinstance(value, models.Document | models.Image | models.InferenceObject):
        raise bad_request("inference objects are not supported by the sandbox")
    return value


def vector_in(vector: Any) -> Any:
    """A point's vector(s): a list (the unnamed vector) or a dict name -> dense/sparse/multi."""
    if isinstance(vector, dict):
        return {name: _vector_in(value) for name, value in vector.items()}
    if isinstance(vector, list):
        return {"": vector}
    return _vector_in(vector)


def vector_out(vector: Any) -> Any:
    """An Edge vector back in REST shape (the unnamed vector is returned as a bare list)."""
    if vector is None:
        return None
    if isinstance(vector, dict):
        out = {name: vector_out(value) for name, value in vector.items()}
        return out[""] if list(out) == [""] else out
    if isinstance(vector, qe.SparseVector):
        return models.SparseVector(indices=list(vector.indices), values=list(vector.values))
    return vector


# ---- filters ---------------------------------------------------------------------------


def _match(match: Any) -> Any:
    table: dict[type, Callable[[Any], Any]] = {
        models.MatchValue: lambda m: qe.MatchValue(m.value),
        models.MatchText: lambda m: qe.MatchText(m.text),
        models.MatchTextAny: lambda m: qe.MatchTextAny(m.text_any),
        models.MatchPhrase: lambda m: qe.MatchPhrase(m.phrase),
        models.MatchAny: lambda m: qe.MatchAny(list(m.any)),
        models.MatchExcept: lambda m: qe.MatchExcept(list(m.except_)),
    }
    return _lookup(table, match, "match")


def _range(value: Any) -> Any:
    if isinstance(value, models.DatetimeRange):
        parts = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in _parts(value).items()}
        return qe.RangeDateTime(**parts)
    return qe.RangeFloat(**_parts(value))


def _parts(value: Any) -> dict[str, Any]:
    return {k: getattr(value, k) for k in ("gte", "gt", "lte", "lt") if getattr(value, k) is not None}


def _geo(point: models.GeoPoint) -> Any:
    return qe.GeoPoint(lon=point.lon, lat=point.lat)


def _field_condition(c: models.FieldCondition) -> Any:
    kwargs: dict[str, Any] = {}
    if c.match is not None:
        kwargs["match"] = _match(c.match)
    if c.range is not None:
        kwargs["range"] = _range(c.range)
    if c.geo_bounding_box is not None:
        box = c.geo_bounding_box
        kwargs["geo_bounding_box"] = qe.GeoBoundingBox(_geo(box.top_left), _geo(box.bottom_right))
    if c.geo_radius is not None:
        kwargs["geo_radius"] = qe.GeoRadius(_geo(c.geo_radius.center), c.geo_radius.radius)
    if c.values_count is not None:
        kwargs["values_count"] = qe.ValuesCount(**{k: v for k, v in _parts(c.values_count).items()})
    if c.is_empty is not None:
        kwargs["is_empty"] = c.is_empty
    if c.is_null is not None:
        kwargs["is_null"] = c.is_null
    return qe.FieldCondition(c.key, **kwargs)


_CONDITIONS: dict[type, Callable[[Any], Any]] = {
    models.FieldCondition: _field_condition,
    models.IsEmptyCondition: lambda c: qe.IsEmptyCondition(c.is_empty.key),
    models.IsNullCondition: lambda c: qe.IsNullCondition(c.is_null.key),
    models.HasIdCondition: lambda c: qe.HasIdCondition({point_id(i) for i in c.has_id}),
    models.HasVectorCondition: lambda c: qe.HasVectorCondition(c.has_vector),
    models.NestedCondition: lambda c: qe.NestedCondition(c.nested.key, filter_in(c.nested.filter)),
    models.Filter: lambda c: filter_in(c),
}


def _lookup(table: dict[type, Callable[[Any], Any]], value: Any, what: str) -> Any:
    convert = table.get(type(value))
    if convert is None:
        raise bad_request(f"{what} `{type(value).__name__}` is not supported by the sandbox")
    return convert(value)


def _conditions(value: Any) -> list[Any] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [_lookup(_CONDITIONS, item, "condition") for item in items]


def filter_in(flt: models.Filter | None) -> Any:
    """A qdrant-client Filter as an Edge Filter (None stays None)."""
    if flt is None:
        return None
    min_should = None
    if flt.min_should is not None:
        min_should = qe.MinShould(_conditions(flt.min_should.conditions) or [], flt.min_should.min_count)
    return qe.Filter(
        must=_conditions(flt.must),
        should=_conditions(flt.should),
        must_not=_conditions(flt.must_not),
        min_should=min_should,
    )


# ---- payload selectors, search params --------------------------------------------------


def with_payload_in(value: Any) -> Any:
    """`with_payload`: bool, list of keys, or include/exclude selector."""
    if isinstance(value, models.PayloadSelectorInclude):
        return qe.PayloadSelector.Include(list(value.include))
    if isinstance(value, models.PayloadSelectorExclude):
        return qe.PayloadSelector.Exclude(list(value.exclude))
    return value


def search_params_in(params: models.SearchParams | None) -> Any:
    """Search params (hnsw_ef, exact, quantization oversampling/rescore)."""
    if params is None:
        return None
    quantization = None
    if params.quantization is not None:
        q = params.quantization
        quantization = qe.QuantizationSearchParams(
            ignore=bool(q.ignore), rescore=q.rescore, oversampling=q.oversampling
        )
    return qe.SearchParams(
        hnsw_ef=params.hnsw_ef,
        exact=bool(params.exact),
        quantization=quantization,
        indexed_only=bool(params.indexed_only),
    )


# ---- payload index params --------------------------------------------------------------

_SCHEMA_TYPES: dict[str, Any] = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "geo": qe.PayloadSchemaType.Geo,
    "text": qe.PayloadSchemaType.Text,
    "bool": qe.PayloadSchemaType.Bool,
    "datetime": qe.PayloadSchemaType.Datetime,
    "uuid": qe.PayloadSchemaType.Uuid,
}
# qdrant-client params class -> (Edge params class, keyword arguments copied as they are)
_INDEX_PARAMS: dict[type, tuple[Any, tuple[str, ...]]] = {
    models.KeywordIndexParams: (qe.KeywordIndexParams, ("is_tenant", "on_disk", "enable_hnsw")),
    models.IntegerIndexParams: (
        qe.IntegerIndexParams,
        ("lookup", "range", "is_principal", "on_disk", "enable_hnsw"),
    ),
    models.FloatIndexParams: (qe.FloatIndexParams, ("is_principal", "on_disk", "enable_hnsw")),
    models.GeoIndexParams: (qe.GeoIndexParams, ("on_disk", "enable_hnsw")),
    models.BoolIndexParams: (qe.BoolIndexParams, ("on_disk", "enable_hnsw")),
    models.DatetimeIndexParams: (qe.DatetimeIndexParams, ("is_principal", "on_disk", "enable_hnsw")),
    models.UuidIndexParams: (qe.UuidIndexParams, ("is_tenant", "on_disk", "enable_hnsw")),
    models.TextIndexParams: (
        qe.TextIndexParams,
        (
            "min_token_len",
            "max_token_len",
            "lowercase",
            "ascii_folding",
            "phrase_matching",
            "on_disk",
            "enable_hnsw",
        ),
    ),
}
_TOKENIZERS: dict[str, Any] = {
    "prefix": qe.TokenizerType.Prefix,
    "whitespace": qe.TokenizerType.Whitespace,
    "word": qe.TokenizerType.Word,
    "multilingual": qe.TokenizerType.Multilingual,
}


def field_schema_in(schema: models.PayloadFieldSchema) -> Any:
    """A payload index schema (type name or params) as Edge's schema type or params object."""
    if isinstance(schema, models.PayloadSchemaType):
        return _SCHEMA_TYPES[schema.value]
    entry = _INDEX_PARAMS.get(type(schema))
    if entry is None:
        raise bad_request(f"payload index params `{type(schema).__name__}` are not supported")
    edge_cls, keys = entry
    kwargs = {key: getattr(schema, key) for key in keys if getattr(schema, key, None) is not None}
    if isinstance(schema, models.TextIndexParams):
        if schema.tokenizer is not None:
            kwargs["tokenizer"] = _TOKENIZERS[schema.tokenizer.value]
        if schema.stopwords is not None or schema.stemmer is not None:
            raise bad_request("text index stopwords/stemmer are not supported by the sandbox")
    return edge_cls(**kwargs)
