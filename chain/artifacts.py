"""Compile the Vyper contracts in chain/contracts/ into ABI, bytecode and blueprint bytecode.

One loader for every contract: the staking pair (ArenaToken, ArenaStaking) and the exchange
and vault (ArenaPair, ArenaFactory, ArenaRouter, ArenaVault). Compiled on demand with the
pinned `vyper` package (no build artefacts in the repo, so the sources are the only truth).
Results are memoised per process and, if a cache directory is given, on disk under a key
made of the compiler and snekmate versions and every contract source (the contracts are
built to work together, so any change recompiles them all), so a restart does not pay the
few seconds of compilation again. ArenaPair is deployed as an EIP-5202 blueprint that
ArenaFactory copies: every artifact carries its ``blueprint_bytecode`` too.
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
CONTRACT_NAMES = ("ArenaToken", "ArenaStaking", "ArenaPair", "ArenaFactory", "ArenaRouter", "ArenaVault")


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    blueprint_bytecode: bytes


def _snekmate_root() -> Path:
    import snekmate  # a namespace package: it has __path__ but no __file__

    return Path(next(iter(snekmate.__path__))).parent


@functools.cache
def _cache_key() -> str:
    digest = hashlib.sha256()
    parts = [importlib.metadata.version("vyper"), importlib.metadata.version("snekmate")]
    parts += [(CONTRACTS_DIR / f"{name}.vy").read_text() for name in CONTRACT_NAMES]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


@functools.cache
def _compiled(name: str) -> Artifact:
    # The compiler loads only when a contract is compiled: a build-cache hit never needs it.
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    bundle = FilesystemInputBundle([CONTRACTS_DIR, _snekmate_root()])
    source = bundle.load_file(CONTRACTS_DIR / f"{name}.vy")
    out = compile_from_file_input(
        source, input_bundle=bundle, output_formats=["abi", "bytecode", "blueprint_bytecode"]
    )
    return Artifact(
        name=name,
        abi=out["abi"],
        bytecode=bytes.fromhex(out["bytecode"][2:]),
        blueprint_bytecode=bytes.fromhex(out["blueprint_bytecode"][2:]),
    )


def load_artifact(name: str, cache_dir: Path | None = None) -> Artifact:
    """ABI, deployment bytecode and blueprint bytecode of contract ``name``."""
    if name not in CONTRACT_NAMES:
        raise ValueError(f"unknown contract {name!r}; known: {', '.join(CONTRACT_NAMES)}")
    if cache_dir is None:
        return _compiled(name)
    path = Path(cache_dir) / f"{name}-{_cache_key()}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return Artifact(
            name=name,
            abi=data["abi"],
            bytecode=bytes.fromhex(data["bytecode"]),
            blueprint_bytecode=bytes.fromhex(data["blueprint_bytecode"]),
        )
    artifact = _compiled(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    record = {
        "abi": artifact.abi,
        "bytecode": artifact.bytecode.hex(),
        "blueprint_bytecode": artifact.blueprint_bytecode.hex(),
    }
    tmp.write_text(json.dumps(record))
    tmp.replace(path)
    return artifact
