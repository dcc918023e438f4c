"""Decoding untrusted files in child processes that a hostile file can only kill.

A modeler's predictions (and, later, any other uploaded table) are parsed by pandas and
pyarrow: large C++ code bases whose memory and time on crafted input nobody can bound from
the outside. So the parsing runs in worker processes (`tournaments.sandbox.child`) with an
address-space limit (RLIMIT_AS) and a per-file CPU-time limit (RLIMIT_CPU), under a wall-clock
deadline the parent enforces. A compression bomb exhausts only its worker's memory, a file
that spins the parser only its worker's CPU budget; the parent reports the file as too large
or too slow, starts a fresh worker and goes on with the next file.

Workers are long-lived (importing pandas costs about half a second) and shared by every
caller in the process; `decode_pool()` gives the process's pool. This package imports no
Django: limits are passed in by the caller.
"""

from tournaments.sandbox.pool import DecodeContext, DecodeLimits, DecodePool, Outcome, decode_pool

__all__ = ["DecodeContext", "DecodeLimits", "DecodePool", "Outcome", "decode_pool"]
