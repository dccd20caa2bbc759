"""Validation of a filled revision before the switch: the point ratio against its source, and
queries whose top results must overlap the current revision's (vectors, point ids, texts
embedded through the transform, and Query API requests with prefetch and fusion)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.api.deployment import ValidationQuery, ValidationSpec
from qco.clients.embeddings import EmbeddingsClient
from qco.clients.qdrant_points import PointsClient
from qco.plan.deployment_copy import overlap, query_request

#: Answers that mean "this query does not fit this collection", not "Qdrant is unwell".
REFUSED = (400, 404, 422)


@dataclass(frozen=True)
class Side:
    """A collection queried during validation."""

    points: PointsClient
    collection: str


async def validate_revision(
    number: int,
    spec: ValidationSpec,
    new: Side,
    current: Side | None,
    source: Side | None,
    embedder: EmbeddingsClient | None,
) -> dict[str, Any]:
    """The validation report (status.validation): what was measured and whether it passed."""
    report: dict[str, Any] = {"revision": number, "passed": True}
    if spec.min_point_ratio is not None and source is not None:
        source_points = await source.points.count(source.collection)
        new_points = await new.points.count(new.collection)
        ratio = 1.0 if source_points == 0 else new_points / source_points
        report.update(sourcePoints=source_points, newPoints=new_points, pointRatio=round(ratio, 6))
        if ratio < spec.min_point_ratio:
            report["passed"] = False
    checks = []
    for index, query in enumerate(spec.queries or ()):
        check: dict[str, Any] = {"index": index, "minOverlap": query.min_overlap}
        if current is None:
            check["note"] = "no current revision to compare with"
        else:
            measured, note = await _overlap(query, new, current, embedder)
            check.update({k: v for k, v in (("overlap", measured), ("note", note)) if v is not None})
            if measured is not None and measured < query.min_overlap:
                report["passed"] = False
        checks.append(check)
    if checks:
        report["queries"] = checks
    return report


def failure_message(report: dict[str, Any], spec: ValidationSpec) -> str:
    """What failed, with the measured numbers."""
    parts = []
    ratio = report.get("pointRatio")
    if ratio is not None and spec.min_point_ratio is not None and ratio < spec.min_point_ratio:
        parts.append(
            f"point ratio {ratio:.4f} ({report.get('newPoints')}/{report.get('sourcePoints')})"
            f" is below minPointRatio {spec.min_point_ratio}"
        )
    for check in report.get("queries") or ():
        measured = check.get("overlap")
        if measured is not None and measured < check["minOverlap"]:
            parts.append(
                f"query {check['index']}: overlap {measured:.2f} is below minOverlap {check['minOverlap']}"
            )
    return "; ".join(parts) or "validation failed"


async def _overlap(
    query: ValidationQuery, new: Side, current: Side, embedder: EmbeddingsClient | None
) -> tuple[float | None, str | None]:
    request = await _request(query, embedder)
    if request is None:
        return None, "text queries need transform.embeddings"
    try:
        current_ids = await current.points.query_ids(current.collection, request)
    except UnexpectedResponse as exc:
        if exc.status_code in REFUSED:
            # e.g. a re-embedded revision's vectors no longer fit the current collection
            return None, f"not comparable with the current revision ({exc.status_code})"
        raise
    try:
        new_ids = await new.points.query_ids(new.collection, request)
    except UnexpectedResponse as exc:
        if exc.status_code in REFUSED:
            return 0.0, f"the new revision refused the query ({exc.status_code})"
        raise
    return round(overlap(current_ids, new_ids), 4), None


async def _request(query: ValidationQuery, embedder: EmbeddingsClient | None) -> models.QueryRequest | None:
    if query.query is not None:
        return query_request(query.query, query.limit)
    target: Any
    if query.point_id is not None:
        target = query.point_id
    elif query.vector is not None:
        target = query.vector
    else:
        if embedder is None or query.text is None:
            return None
        target = (await embedder.embed([query.text]))[0]
    return models.QueryRequest(query=target, using=query.using, limit=query.limit, with_payload=False)
