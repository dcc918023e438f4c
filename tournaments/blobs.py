"""Content-addressed blob storage: every file is named by its CIDv1 (raw, sha2-256).

The filesystem backend writes under settings.BLOB_DIR; a shared-storage backend only needs
the same four methods. Writes are atomic (temp file + rename), so a crash never leaves a
half-written blob under a valid name, and writing the same bytes twice is a no-op.
"""

import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from arena_client.cid import cid_for_bytes
from django.conf import settings


class BlobNotFound(LookupError):
    pass


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, cid: str) -> bytes: ...
    def exists(self, cid: str) -> bool: ...
    def delete(self, cid: str) -> bool: ...


class FileBlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, cid: str) -> Path:
        if not cid.isalnum():
            raise BlobNotFound(f"malformed content id {cid!r}")
        return self.root / cid[-2:] / cid

    def put(self, data: bytes) -> str:
        cid = cid_for_bytes(data)
        path = self._path(cid)
        if path.exists():
            return cid
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            _fsync_directory(path.parent)  # the new name is on disk too, not only the bytes
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cid

    def get(self, cid: str) -> bytes:
        path = self._path(cid)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob named {cid}") from None

    def exists(self, cid: str) -> bool:
        return self._path(cid).exists()

    def delete(self, cid: str) -> bool:
        """Remove the blob; False if there was none (deleting twice is harmless)."""
        path = self._path(cid)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_directory(path.parent)
        return True


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache(maxsize=4)
def _store_for(root: str) -> FileBlobStore:
    return FileBlobStore(Path(root))


def blob_store() -> BlobStore:
    return _store_for(str(settings.BLOB_DIR))
