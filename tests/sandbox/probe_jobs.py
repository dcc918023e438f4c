"""Jobs for the sandbox's own tests: each misbehaves the way a decoder could on a hostile file."""

import os
import signal
import time

import numpy as np


def prepare() -> None:
    pass


def echo(context: dict, payload: bytes) -> tuple[dict, bytes]:
    return {"context": context, "pid": os.getpid()}, payload[::-1]


def allocate(context: dict, payload: bytes) -> tuple[dict, bytes]:
    """Touch `payload` MiB of memory (as a decoder expanding a bomb would)."""
    block = np.ones(int(payload) * 1024 * 1024, dtype=np.uint8)
    return {"sum": int(block.sum())}, b""


def spin(context: dict, payload: bytes) -> tuple[dict, bytes]:
    """Burn CPU for `payload` seconds of wall time."""
    end = time.monotonic() + float(payload)
    total = 0
    while time.monotonic() < end:
        total += 1
    return {"loops": total}, b""


def sleep(context: dict, payload: bytes) -> tuple[dict, bytes]:
    """Hang without using CPU (as a decoder stuck on a lock would)."""
    time.sleep(float(payload))
    return {}, b""


def crash(context: dict, payload: bytes) -> tuple[dict, bytes]:
    os.kill(os.getpid(), signal.SIGSEGV)
    return {}, b""


def fail(context: dict, payload: bytes) -> tuple[dict, bytes]:
    raise KeyError(payload.decode())


def chatter(context: dict, payload: bytes) -> tuple[dict, bytes]:
    """Print to stdout, which must not corrupt the reply."""
    print("a library's stray output", flush=True)
    os.write(1, b"\x00\x00\x00\x00\x00\x00\xff\xff raw bytes on fd 1")
    return {"said": True}, b""


JOBS = {
    "echo": echo,
    "allocate": allocate,
    "spin": spin,
    "sleep": sleep,
    "crash": crash,
    "fail": fail,
    "chatter": chatter,
}
