"""Durable key → JSON-document stores for the keeper's rebalance plans and vault ledgers.

The keeper writes its progress here *before* and *after* every trade, so a process that
dies mid-rebalance resumes from the last saved document (and asks the chain about anything
in flight). Two implementations of one small protocol:

* ``FileJournal(directory)`` — one JSON file per key, replaced atomically (write a
  temporary file, fsync, rename), so a crash leaves either the old or the new document;
* ``MemoryJournal()`` — for tests; documents are stored as JSON text, so nothing saved can
  be mutated behind the store's back and everything must be JSON-serialisable, as on disk.

The Django side can provide the same two methods over a database table.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Protocol


class Journal(Protocol):
    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, document: dict[str, Any]) -> None: ...


class MemoryJournal:
    def __init__(self) -> None:
        self._documents: dict[str, str] = {}

    def load(self, key: str) -> dict[str, Any] | None:
        text = self._documents.get(key)
        return None if text is None else json.loads(text)

    def save(self, key: str, document: dict[str, Any]) -> None:
        self._documents[key] = json.dumps(document, sort_keys=True)

    def keys(self) -> list[str]:
        return sorted(self._documents)


class FileJournal:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.:-]+", key):
            raise ValueError(f"journal key {key!r} may only hold letters, digits and _ . : -")
        return self.directory / f"{key.replace(':', '__')}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def save(self, key: str, document: dict[str, Any]) -> None:
        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w") as handle:
            json.dump(document, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
