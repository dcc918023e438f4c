"""Compile the Vyper contracts in chain/contracts/ into ABI + bytecode.

Compiled on demand with the pinned `vyper` package (no build artefacts in the repo, so the
sources are the only truth). Results are memoised per process and, if a cache directory is
given, on disk under a key made of the sources, the compiler and snekmate versions, so a
restart does not pay the few seconds of compilation again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
CONTRACT_NAMES = ("ArenaToken", "ArenaStaking")


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes


def _snekmate_root() -> Path:
    import snekmate  # a namespace package: it has __path__ but no __file__

    return Path(next(iter(snekmate.__path__))).parent


def _cache_key(name: str) -> str:
    digest = hashlib.sha256()
    for part in (
        importlib.metadata.version("vyper"),
        importlib.metadata.version("snekmate"),
        (CONTRACTS_DIR / f"{name}.vy").read_text(),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def _compile(name: str) -> Artifact:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    bundle = FilesystemInputBundle([CONTRACTS_DIR, _snekmate_root()])
    file_input = bundle.load_file(CONTRACTS_DIR / f"{name}.vy")
    out = compile_from_file_input(
        file_input, input_bundle=bundle, output_formats=["abi", "bytecode"]
    )
    return Artifact(name=name, abi=out["abi"], bytecode=bytes.fromhex(out["bytecode"][2:]))


@functools.cache
def _artifact_in_process(name: str) -> Artifact:
    return _compile(name)


def load_artifact(name: str, cache_dir: Path | None = None) -> Artifact:
    """ABI and deployment bytecode of contract ``name`` (e.g. "ArenaStaking")."""
    if name not in CONTRACT_NAMES:
        raise ValueError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    if cache_dir is None:
        return _artifact_in_process(name)
    path = Path(cache_dir) / f"{name}-{_cache_key(name)}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return Artifact(name=name, abi=data["abi"], bytecode=bytes.fromhex(data["bytecode"]))
    artifact = _artifact_in_process(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"abi": artifact.abi, "bytecode": artifact.bytecode.hex()}))
    tmp.replace(path)
    return artifact
