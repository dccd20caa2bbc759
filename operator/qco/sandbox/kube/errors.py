"""Kubernetes-style API errors: every failure leaves the emulator as a `kind: Status` body."""

from __future__ import annotations

from typing import Any

from kmock import KubernetesError

from qco.sandbox.kube.resources import ResourceType


class ApiError(KubernetesError):
    """An API failure rendered exactly like the real API server's `Status` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        # kmock's KubernetesError is an attrs-frozen class; bypass its frozen setattr on purpose.
        object.__setattr__(self, "status", code)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "details", details)
        Exception.__init__(self, message)

    @property
    def code(self) -> int:
        """The HTTP status code."""
        return int(self.status)

    def to_status(self) -> dict[str, Any]:
        """The `Status` body a client (kubectl, client-go, kopf) expects."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(rt: ResourceType | None, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if rt is not None:
        details["group"] = rt.group
        details["kind"] = rt.plural
    return details


def not_found(rt: ResourceType, name: str) -> ApiError:
    """404 for a missing object, worded like the API server."""
    return ApiError(404, "NotFound", f'{rt.qualified_plural} "{name}" not found', _details(rt, name))


def namespace_not_found(namespace: str) -> ApiError:
    """404 when the object's namespace does not exist."""
    return ApiError(
        404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
    )


def unknown_path(path: str) -> ApiError:
    """404 for a URL that matches no resource (what the API server says for unknown paths)."""
    return ApiError(
        404,
        "NotFound",
        "the server could not find the requested resource",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": f"404 page not found: {path}"}]},
    )


def already_exists(rt: ResourceType, name: str) -> ApiError:
    """409 AlreadyExists on create."""
    return ApiError(
        409, "AlreadyExists", f'{rt.qualified_plural} "{name}" already exists', _details(rt, name)
    )


def conflict(rt: ResourceType, name: str) -> ApiError:
    """409 Conflict for a write based on a stale resourceVersion."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.qualified_plural} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        _details(rt, name),
    )


def invalid(rt: ResourceType, name: str, causes: list[dict[str, str]]) -> ApiError:
    """422 Invalid with one cause per field, and the message the API server composes from them."""
    texts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = _details(rt, name)
    details["kind"] = rt.kind
    details["causes"] = causes
    return ApiError(422, "Invalid", f'{rt.qualified_kind} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def unprocessable(message: str) -> ApiError:
    """422 for a patch that cannot be applied (e.g. a failed JSON-patch `test` operation)."""
    return ApiError(422, "Invalid", message)


def forbidden(message: str) -> ApiError:
    """403 Forbidden (e.g. creating in a terminating namespace)."""
    return ApiError(403, "Forbidden", message)


def method_not_allowed(method: str) -> ApiError:
    """405 for a verb the resource does not support."""
    return ApiError(
        405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({method})"
    )


def expired(requested: int, oldest: int) -> ApiError:
    """410 Gone/Expired for a watch from a resourceVersion older than the replay window."""
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def unsupported_media_type(content_type: str) -> ApiError:
    """415 for a patch type the emulator does not know."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - "
        f"accepted media types include: application/json-patch+json, application/merge-patch+json, "
        f"application/apply-patch+yaml (got {content_type})",
    )


def invalid_options(field: str, reason: str, message: str) -> ApiError:
    """422 for invalid PatchOptions (e.g. an apply without `fieldManager`), worded like the API server."""
    cause = {"reason": reason, "message": message, "field": field}
    return ApiError(
        422,
        "Invalid",
        f'PatchOptions.meta.k8s.io "" is invalid: {field}: {message}',
        {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [cause]},
    )
