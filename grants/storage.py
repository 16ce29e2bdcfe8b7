"""Where uploaded files' bytes live: a small backend interface and its local-directory implementation.

Keys are random (``secrets.token_urlsafe``) and never come from anything the user sent, so a
file name cannot choose where bytes are written or read. Files are written to a temporary file
in the same folder first and moved into place with ``os.replace``: a reader never sees half a
file, and a refused or broken upload leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK_SIZE = 64 * 1024
#: What ``secrets.token_urlsafe(32)`` produces; anything else is not one of our keys.
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class FileTooLarge(Exception):
    """The stream went past ``max_size`` bytes; nothing was kept."""

    def __init__(self, max_size: int):
        super().__init__(f"more than {max_size} bytes")
        self.max_size = max_size


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class Storage(Protocol):
    def save(self, stream: BinaryIO, *, max_size: int | None = None) -> StoredFile: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files in a folder outside the web root, two levels deep by the key's first characters."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def _path(self, key: str) -> str:
        if not _KEY_RE.match(key):
            raise ValueError("not a storage key")
        return os.path.join(self.root, key[:2], key)

    def save(self, stream: BinaryIO, *, max_size: int | None = None) -> StoredFile:
        """Copy ``stream`` in chunks, hashing and counting; :class:`FileTooLarge` past ``max_size``."""
        key = secrets.token_urlsafe(32)
        path = self._path(key)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp_path = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise FileTooLarge(max_size)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_path, path)
        except BaseException:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
            raise
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")  # the caller, or the response, closes it

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))


def get_storage() -> Storage:
    """The backend for the current app: a local folder at ``UPLOAD_DIR`` (made when missing)."""
    root = current_app.config["UPLOAD_DIR"]
    os.makedirs(root, mode=0o700, exist_ok=True)
    return LocalStorage(root)
