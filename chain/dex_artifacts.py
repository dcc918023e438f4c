"""Compile the exchange and vault contracts (ArenaPair, ArenaFactory, ArenaRouter, ArenaVault).

Same rules as chain/artifacts.py (compiled on demand by the pinned `vyper`, memoised per
process, optional disk cache) with one addition: ArenaPair is deployed as an EIP-5202
blueprint that ArenaFactory copies, so its artifact also carries ``blueprint_bytecode``.
The disk-cache key covers every DEX source, because the contracts are built to work together.
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

from chain.artifacts import CONTRACTS_DIR, _snekmate_root

DEX_CONTRACTS = ("ArenaPair", "ArenaFactory", "ArenaRouter", "ArenaVault")


@dataclass(frozen=True)
class DexArtifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    blueprint_bytecode: bytes


def _cache_key() -> str:
    digest = hashlib.sha256()
    parts = [importlib.metadata.version("vyper"), importlib.metadata.version("snekmate")]
    parts += [(CONTRACTS_DIR / f"{name}.vy").read_text() for name in DEX_CONTRACTS]
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


@functools.cache
def _compiled(name: str) -> DexArtifact:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle

    bundle = FilesystemInputBundle([CONTRACTS_DIR, _snekmate_root()])
    source = bundle.load_file(CONTRACTS_DIR / f"{name}.vy")
    out = compile_from_file_input(
        source, input_bundle=bundle, output_formats=["abi", "bytecode", "blueprint_bytecode"]
    )
    return DexArtifact(
        name=name,
        abi=out["abi"],
        bytecode=bytes.fromhex(out["bytecode"][2:]),
        blueprint_bytecode=bytes.fromhex(out["blueprint_bytecode"][2:]),
    )


def load_dex_artifact(name: str, cache_dir: Path | None = None) -> DexArtifact:
    """ABI, bytecode and blueprint bytecode of DEX contract ``name``."""
    if name not in DEX_CONTRACTS:
        raise ValueError(f"unknown DEX contract {name!r}; known: {', '.join(DEX_CONTRACTS)}")
    if cache_dir is None:
        return _compiled(name)
    path = Path(cache_dir) / f"{name}-{_cache_key()}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return DexArtifact(
            name=name,
            abi=data["abi"],
            bytecode=bytes.fromhex(data["bytecode"]),
            blueprint_bytecode=bytes.fromhex(data["blueprint_bytecode"]),
        )
    artifact = _compiled(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps(
            {
                "abi": artifact.abi,
                "bytecode": artifact.bytecode.hex(),
                "blueprint_bytecode": artifact.blueprint_bytecode.hex(),
            }
        )
    )
    tmp.replace(path)
    return artifact
