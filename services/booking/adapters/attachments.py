"""Object stores for pre-applications' documents, behind the ``ObjectStore`` port.

:class:`LocalObjectStore` keeps files under a folder (one machine: the data dir);
:class:`S3ObjectStore` keeps objects in an S3-compatible bucket (production: AWS,
MinIO, Ceph…). Neither sees a document in clear: :class:`SealedObjectStore` seals
the bytes with the service's cipher before they reach either, and opens them on
the way back, so a copied bucket or disk holds nothing readable."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from services.booking.service_layer.unit_of_work import ObjectStore
from services.runtime.pii import PiiCipher

#: Keys the service makes: ``pre-applications/<uuid>/<uuid>``; nothing else is a key.
_KEY = re.compile(r"^[a-z-]+(/[0-9a-f-]{36}){2}$")


def _checked(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError("not an object key this service makes")
    return key


class SealedObjectStore:
    """Seals on put, opens on get; the inner store keeps only tokens."""

    def __init__(self, inner: ObjectStore, cipher: PiiCipher) -> None:
        self.inner = inner
        self.cipher = cipher

    async def put(self, key: str, content: bytes) -> None:
        await self.inner.put(key, self.cipher.seal_bytes(content).encode("ascii"))

    async def get(self, key: str) -> bytes | None:
        sealed = await self.inner.get(key)
        return None if sealed is None else self.cipher.open_bytes(sealed.decode("ascii"))

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)


class LocalObjectStore:
    """Files under ``root``, written whole or not at all (a temporary file renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def put(self, key: str, content: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), content)

    @staticmethod
    def _put(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3ObjectStore:
    """Objects in an S3-compatible bucket. boto3 blocks: each call runs in a thread."""

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def connect(cls, bucket: str, endpoint_url: str = "", region: str = "us-east-1") -> S3ObjectStore:
        import boto3  # only where the S3 store is chosen

        client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region)
        return cls(bucket, client)

    async def put(self, key: str, content: bytes) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=_checked(key), Body=content)

    async def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=_checked(key))
            except self.client.exceptions.NoSuchKey:
                return None
            return bytes(answer["Body"].read())

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=_checked(key))
