"""The object stores behind pre-applications' documents: files under a folder, and
an S3-compatible bucket (moto's S3 server, a real HTTP endpoint on a free port),
each behind the sealing wrapper that keeps every stored byte unreadable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.booking.adapters.attachments import LocalObjectStore, S3ObjectStore, SealedObjectStore
from services.runtime.pii import PiiCipher
from tests.conftest import free_port

DOCUMENT = b"%PDF-1.7 a household register page: 460106197809211111"


def key() -> str:
    return f"pre-applications/{uuid.uuid4()}/{uuid.uuid4()}"


@pytest.fixture
def cipher(tmp_path: Path) -> PiiCipher:
    return PiiCipher.for_dev(tmp_path)


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def round_trip(inner: Any, cipher: PiiCipher) -> bytes:
    """Put, read back, delete through the sealed store; what the inner store kept."""
    store = SealedObjectStore(inner, cipher)
    k = key()
    await store.put(k, DOCUMENT)
    kept = await inner.get(k)
    assert await store.get(k) == DOCUMENT
    await store.delete(k)
    assert await store.get(k) is None
    assert await store.get(key()) is None  # never stored: nothing, not an error
    return bytes(kept)


async def test_local_files_keep_only_sealed_bytes(tmp_path: Path, cipher: PiiCipher) -> None:
    kept = await round_trip(LocalObjectStore(tmp_path / "attachments"), cipher)
    assert b"460106197809211111" not in kept and b"%PDF" not in kept
    assert [p for p in (tmp_path / "attachments").rglob("*") if p.is_file()] == []
    with pytest.raises(ValueError):
        await LocalObjectStore(tmp_path).put("../../etc/passwd", b"x")


async def test_an_s3_bucket_keeps_only_sealed_bytes(s3_endpoint: str, cipher: PiiCipher) -> None:
    store = S3ObjectStore.connect("mintong-documents", s3_endpoint)
    store.client.create_bucket(Bucket="mintong-documents")
    kept = await round_trip(store, cipher)
    assert b"460106197809211111" not in kept and b"%PDF" not in kept
    assert store.client.list_objects_v2(Bucket="mintong-documents").get("KeyCount") == 0
