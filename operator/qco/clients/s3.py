"""Backups in an S3-compatible bucket (boto3, off the event loop): streamed multipart uploads,
JSON manifests, listings, deletes, presigned downloads and cleanup of unfinished uploads.

A stream is uploaded part by part, one part uploading while the next fills, so at most two parts
are ever held in memory; the SHA-256 is computed on the bytes as they pass. An upload that fails
is aborted, so no partial object is ever visible under its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

#: Part size of multipart uploads (S3's minimum for all but the last part is 5 MiB).
PART_BYTES = 8 << 20


class S3Error(Exception):
    """An S3 call failed; the message names the call and the key, never a credential."""


@dataclass(frozen=True)
class S3Location:
    """A bucket and how to reach it. Credentials never appear in repr."""

    bucket: str
    endpoint: str | None = None
    region: str = "us-east-1"
    force_path_style: bool = False
    access_key_id: str = field(default="", repr=False)
    secret_access_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class Uploaded:
    """What a streamed upload wrote."""

    key: str
    size: int
    sha256: str


class S3Store:
    """One bucket."""

    def __init__(self, location: S3Location) -> None:
        self.bucket = location.bucket
        config = Config(
            s3={"addressing_style": "path" if location.force_path_style else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            signature_version="s3v4",
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=location.endpoint,
            region_name=location.region,
            aws_access_key_id=location.access_key_id,
            aws_secret_access_key=location.secret_access_key,
            config=config,
        )

    async def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self._client, method), Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise S3Error(f"S3 {what}: {error.get('Code', '?')} {error.get('Message', '')}".strip()) from None
        except BotoCoreError as exc:
            raise S3Error(f"S3 {what}: {exc}") from None

    async def upload_stream(
        self, key: str, chunks: AsyncIterator[bytes], part_bytes: int = PART_BYTES
    ) -> Uploaded:
        """Multipart-upload a stream under `key`; aborted (nothing left behind) on any failure.

        One part uploads (in a thread) while the next is read and hashed, so the download and the
        upload overlap; memory holds at most two parts."""
        started = await self._call(f"upload of {key}", "create_multipart_upload", Key=key)
        upload_id = started["UploadId"]
        digest, size = hashlib.sha256(), 0
        parts: list[dict[str, Any]] = []
        buffer = bytearray()
        in_flight: asyncio.Task[dict[str, Any]] | None = None

        async def send(body: bytes) -> None:
            nonlocal in_flight
            if in_flight is not None:
                parts.append(await in_flight)
            number = len(parts) + 1
            in_flight = asyncio.ensure_future(self._part(key, upload_id, number, body))

        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                buffer += chunk
                while len(buffer) >= part_bytes:
                    body = bytes(buffer[:part_bytes])
                    del buffer[:part_bytes]
                    await send(body)
            if buffer or (not parts and in_flight is None):
                await send(bytes(buffer))
            if in_flight is not None:
                parts.append(await in_flight)
                in_flight = None
            await self._call(
                f"upload of {key}",
                "complete_multipart_upload",
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if in_flight is not None:
                in_flight.cancel()
                with contextlib.suppress(BaseException):
                    await in_flight
            await asyncio.shield(self._abort(key, upload_id))
            raise
        return Uploaded(key, size, digest.hexdigest())

    async def _part(self, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        answer = await self._call(
            f"upload of {key} (part {number})",
            "upload_part",
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
        )
        return {"ETag": answer["ETag"], "PartNumber": number}

    async def _abort(self, key: str, upload_id: str) -> None:
        # On failure the next run's cleanup (abort_open_uploads) gets it.
        with contextlib.suppress(S3Error):
            await self._call(f"abort of {key}", "abort_multipart_upload", Key=key, UploadId=upload_id)

    async def abort_open_uploads(self, prefix: str) -> int:
        """Abort every unfinished multipart upload under `prefix` (e.g. after the operator was killed)."""
        answer = await self._call(
            f"listing of uploads under {prefix}", "list_multipart_uploads", Prefix=prefix
        )
        uploads = answer.get("Uploads") or []
        for upload in uploads:
            await self._call(
                f"abort of {upload['Key']}",
                "abort_multipart_upload",
                Key=upload["Key"],
                UploadId=upload["UploadId"],
            )
        return len(uploads)

    async def open_uploads(self, prefix: str) -> list[str]:
        """Keys of unfinished multipart uploads under `prefix`."""
        answer = await self._call(
            f"listing of uploads under {prefix}", "list_multipart_uploads", Prefix=prefix
        )
        return [str(u["Key"]) for u in answer.get("Uploads") or []]

    async def put_json(self, key: str, value: Any) -> None:
        """Write a small JSON object (a manifest)."""
        body = json.dumps(value, indent=1, sort_keys=True).encode()
        await self._call(f"write of {key}", "put_object", Key=key, Body=body, ContentType="application/json")

    async def put_bytes(self, key: str, body: bytes) -> Uploaded:
        """Write a small object whole (a portable part: one part in memory at a time)."""
        await self._call(f"write of {key}", "put_object", Key=key, Body=body)
        return Uploaded(key, len(body), hashlib.sha256(body).hexdigest())

    async def get_bytes(self, key: str) -> bytes:
        """Read a small object whole (a portable part)."""
        answer = await self._call(f"read of {key}", "get_object", Key=key)
        try:
            body: bytes = await asyncio.to_thread(answer["Body"].read)
        except (BotoCoreError, OSError) as exc:
            raise S3Error(f"S3 read of {key}: {exc}") from None
        return body

    async def get_json(self, key: str) -> Any:
        """Read a small JSON object."""
        answer = await self._call(f"read of {key}", "get_object", Key=key)
        body = await asyncio.to_thread(answer["Body"].read)
        return json.loads(body)

    async def list_keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`."""
        keys: list[str] = []
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            answer = await self._call(f"listing of {prefix}", "list_objects_v2", Prefix=prefix, **extra)
            keys += [str(item["Key"]) for item in answer.get("Contents") or []]
            token = answer.get("NextContinuationToken")
            if not token:
                return keys

    async def size(self, key: str) -> int:
        """The stored object's size."""
        answer = await self._call(f"head of {key}", "head_object", Key=key)
        return int(answer["ContentLength"])

    async def delete_keys(self, keys: list[str]) -> None:
        """Delete objects, up to 1000 per request."""
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            answer = await self._call("delete", "delete_objects", Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise S3Error(f"S3 delete of {first.get('Key')}: {first.get('Code')} {first.get('Message')}")

    async def presigned_get(self, key: str, expires_seconds: int = 3600) -> str:
        """A time-limited URL Qdrant can download the object from."""
        return str(
            await asyncio.to_thread(
                self._client.generate_presigned_url,
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_seconds,
            )
        )
