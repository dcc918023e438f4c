"""Durable storage for the in-process py-evm chain: an append-only journal of its key-value writes.

py-evm keeps the whole chain (headers, blocks, receipts, state tries) in one key-value store.
The embedded profile uses an in-memory store; ``JournalingMemoryDB`` records every write, and
``StateJournal.flush`` appends them to ``<state_dir>/chain.journal`` after each transaction,
so the file is never behind what the gateway has reported to its caller.

File format: a sequence of records ``op:u8 | key_len:u32 | value_len:u32 | key | value``
(op 0 = set, 1 = delete), each flushed batch closed by a commit record (op 2, value = the
batch's record count). On load, a trailing batch without its commit record (a torn write
from a crash) is ignored. Loading rewrites the file compacted (one set per live key).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

from eth.db.backends.memory import MemoryDB

_HEADER = struct.Struct(">BII")
_SET, _DELETE, _COMMIT = 0, 1, 2
JOURNAL_NAME = "chain.journal"


class JournalingMemoryDB(MemoryDB):
    """py-evm's MemoryDB that remembers writes since the last ``drain()``."""

    def __init__(self, kv_store: dict[bytes, bytes] | None = None) -> None:
        super().__init__(kv_store)
        self._pending: list[tuple[int, bytes, bytes]] = []

    def __setitem__(self, key: bytes, value: bytes) -> None:
        super().__setitem__(key, value)
        self._pending.append((_SET, bytes(key), bytes(value)))

    def __delitem__(self, key: bytes) -> None:
        super().__delitem__(key)
        self._pending.append((_DELETE, bytes(key), b""))

    def drain(self) -> list[tuple[int, bytes, bytes]]:
        pending, self._pending = self._pending, []
        return pending


def _encode(op: int, key: bytes, value: bytes) -> bytes:
    return _HEADER.pack(op, len(key), len(value)) + key + value


def _records(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    offset = 0
    while offset + _HEADER.size <= len(data):
        op, key_len, value_len = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        end = start + key_len + value_len
        if end > len(data):
            return  # torn tail
        yield op, data[start : start + key_len], data[start + key_len : end]
        offset = end


class StateJournal:
    """The journal file of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / JOURNAL_NAME

    def exists(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def load(self) -> dict[bytes, bytes]:
        """Replay committed batches into a dict, then rewrite the file compacted."""
        kv: dict[bytes, bytes] = {}
        batch: list[tuple[int, bytes, bytes]] = []
        for op, key, value in _records(self.path.read_bytes()):
            if op == _COMMIT:
                for batch_op, batch_key, batch_value in batch:
                    if batch_op == _SET:
                        kv[batch_key] = batch_value
                    else:
                        kv.pop(batch_key, None)
                batch = []
            elif op in (_SET, _DELETE):
                batch.append((op, key, value))
            else:
                raise ValueError(f"{self.path}: unknown record type {op}; the journal is corrupt")
        self.write_full(kv)
        return kv

    def write_full(self, kv: dict[bytes, bytes]) -> None:
        """Replace the journal with one committed batch holding ``kv`` (atomic rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            for key, value in kv.items():
                out.write(_encode(_SET, key, value))
            out.write(_encode(_COMMIT, b"", struct.pack(">Q", len(kv))))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)

    def flush(self, db: JournalingMemoryDB) -> int:
        """Append the writes ``db`` saw since the last flush; returns how many."""
        pending = db.drain()
        if not pending:
            return 0
        with self.path.open("ab") as out:
            out.write(b"".join(_encode(op, key, value) for op, key, value in pending))
            out.write(_encode(_COMMIT, b"", struct.pack(">Q", len(pending))))
            out.flush()
            os.fsync(out.fileno())
        return len(pending)
