"""Decoding of the protobuf bodies kubectl sends for a few built-in kinds.

`kubectl create namespace|configmap|secret|serviceaccount` use typed clients that send
`application/vnd.kubernetes.protobuf` and do not fall back to JSON. Decoding every built-in
kind would mean shipping Kubernetes' .proto files; the handful kubectl's generators create is
enough for the sandbox (responses are JSON, which kubectl also accepts).
"""

from __future__ import annotations

import base64
from typing import Any

from qco.sandbox.kube import errors

_MAGIC = b"k8s\x00"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message: ints for varints, bytes for length-delimited."""
    result: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            result.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            result.append((number, data[pos : pos + length]))
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise errors.bad_request(f"unsupported protobuf wire type {wire}")
    return result


def _text(value: int | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _map_entry(value: int | bytes) -> tuple[str, bytes]:
    entry = dict(fields(value if isinstance(value, bytes) else b""))
    raw = entry.get(2, b"")
    return _text(entry.get(1, b"")), raw if isinstance(raw, bytes) else b""


def _object_meta(data: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    names = {1: "name", 2: "generateName", 3: "namespace"}
    for number, value in fields(data):
        if number in names:
            meta[names[number]] = _text(value)
        elif number in (11, 12):
            key, raw = _map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = raw.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def _string_map(target: dict[str, Any], key: str, value: int | bytes, encode: bool = False) -> None:
    entry_key, raw = _map_entry(value)
    target.setdefault(key, {})[entry_key] = base64.b64encode(raw).decode() if encode else raw.decode()


def decode(body: bytes) -> dict[str, Any]:
    """A JSON-like object from a protobuf body (Namespace, ConfigMap, Secret, ServiceAccount)."""
    if not body.startswith(_MAGIC):
        raise errors.bad_request("protobuf body without the k8s envelope")
    envelope = dict(fields(body[len(_MAGIC) :]))
    type_meta_raw = envelope.get(1, b"")
    type_meta = dict(fields(type_meta_raw if isinstance(type_meta_raw, bytes) else b""))
    api_version, kind = _text(type_meta.get(1, b"")), _text(type_meta.get(2, b""))
    raw = envelope.get(2, b"")
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    for number, value in fields(raw if isinstance(raw, bytes) else b""):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _object_meta(value)
        elif kind == "ConfigMap" and number == 2:
            _string_map(obj, "data", value)
        elif kind == "ConfigMap" and number == 3:
            _string_map(obj, "binaryData", value, encode=True)
        elif kind == "Secret" and number == 2:
            _string_map(obj, "data", value, encode=True)
        elif kind == "Secret" and number == 3:
            obj["type"] = _text(value)
        elif kind == "Secret" and number == 4:
            _string_map(obj, "stringData", value)
        elif kind in ("ConfigMap", "Secret") and number in (4, 5) and isinstance(value, int):
            obj["immutable"] = bool(value)
        elif kind not in ("Namespace", "ConfigMap", "Secret", "ServiceAccount"):
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                f"protobuf bodies of kind {kind} are not supported by the emulator: send JSON",
            )
    return obj


# --- encoding (OpenAPI v2) -------------------------------------------------------------------------

OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# What the API server answers with: the same type without the `@` Go's mime parser refuses.
OPENAPI_V2_PROTOBUF_RESPONSE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def openapi_v2_document(title: str, version: str) -> bytes:
    """A gnostic `openapi_v2.Document` (swagger and info only) for clients that ask for protobuf.

    kubectl falls back to `/openapi/v2` in protobuf when a kind is missing from the v3 documents;
    a valid document without definitions lets it skip client-side validation of that kind and
    report what an API server reports ("no matches for kind"), instead of a parse error.
    """
    info = _length_delimited(1, title.encode()) + _length_delimited(2, version.encode())
    return _length_delimited(1, b"2.0") + _length_delimited(2, info)
