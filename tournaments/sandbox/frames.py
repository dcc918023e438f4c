"""The pipe protocol between the pool and its workers: length-prefixed frames.

Each frame is an 8-byte big-endian length and that many bytes. A request is a JSON header
frame followed by a payload frame; a reply is a JSON header frame followed by a body frame.
JSON (not pickle) both ways, so that what a worker sends back after reading a hostile file is
data to the parent, never code.
"""

import json
import os
import selectors
import time
from typing import Any, BinaryIO

LENGTH_BYTES = 8


class FrameTimeout(Exception):
    """The worker did not answer before the deadline."""


class FrameEOF(Exception):
    """The worker's pipe closed: it exited or was killed."""


class FrameTooLarge(Exception):
    """The worker announced a frame larger than the parent accepts."""


def write_frame(stream: BinaryIO, data: bytes) -> None:
    stream.write(len(data).to_bytes(LENGTH_BYTES, "big"))
    stream.write(data)


def write_json(stream: BinaryIO, value: Any) -> None:
    # default=str: a numpy scalar in a job's details must not turn a refusal into a crash.
    write_frame(stream, json.dumps(value, separators=(",", ":"), default=str).encode())


def read_frame_blocking(stream: BinaryIO) -> bytes | None:
    """The next frame, or None at end of input (the worker's side: it may wait forever)."""
    head = stream.read(LENGTH_BYTES)
    if len(head) < LENGTH_BYTES:
        return None
    length = int.from_bytes(head, "big")
    data = stream.read(length)
    if len(data) < length:
        return None
    return data


class FrameReader:
    """Reads frames from a worker's stdout with a deadline (the parent's side)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._selector = selectors.DefaultSelector()
        self._selector.register(fd, selectors.EVENT_READ)

    def close(self) -> None:
        self._selector.close()

    def _fill(self, want: int, deadline: float) -> None:
        while len(self._buffer) < want:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                raise FrameTimeout
            chunk = os.read(self._fd, max(want - len(self._buffer), 65536))
            if not chunk:
                raise FrameEOF
            self._buffer += chunk

    def read(self, deadline: float, max_bytes: int) -> bytes:
        self._fill(LENGTH_BYTES, deadline)
        length = int.from_bytes(self._buffer[:LENGTH_BYTES], "big")
        if length > max_bytes:
            raise FrameTooLarge(f"{length:,} bytes announced; at most {max_bytes:,} accepted")
        self._fill(LENGTH_BYTES + length, deadline)
        frame = bytes(self._buffer[LENGTH_BYTES : LENGTH_BYTES + length])
        del self._buffer[: LENGTH_BYTES + length]
        return frame
