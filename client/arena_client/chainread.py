"""Read a round's commitments root straight from the staking contract over JSON-RPC.

No web3 dependency: one `eth_call` of the public getter `rounds(uint256,uint256)`, whose
return is the static struct Round (16 words); `commitments_root` is its fourth word.
"""

from typing import Any

import httpx
from Crypto.Hash import keccak

ROUNDS_SIGNATURE = b"rounds(uint256,uint256)"
COMMITMENTS_ROOT_WORD = 3  # closed, closed_at, close_ordinal, commitments_root, ...
SUBMISSION_COUNT_WORD = 4


class ChainReadError(RuntimeError):
    pass


def _selector(signature: bytes) -> bytes:
    return keccak.new(data=signature, digest_bits=256).digest()[:4]


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def read_commitments(
    rpc_url: str, staking_address: str, tournament_id: int, round_id: int, *, timeout: float = 15.0
) -> dict[str, Any]:
    """{closed, root (0x-hex), submission_count} as the contract holds them at the latest block."""
    data = _selector(ROUNDS_SIGNATURE) + _word(tournament_id) + _word(round_id)
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_call",
        "params": [{"to": staking_address, "data": "0x" + data.hex()}, "latest"],
    }
    try:
        answer = httpx.post(rpc_url, json=request, timeout=timeout).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ChainReadError(f"could not reach the chain node at {rpc_url}: {exc}") from exc
    if "error" in answer:
        raise ChainReadError(f"the chain node refused the call: {answer['error']}")
    raw = bytes.fromhex(answer.get("result", "0x").removeprefix("0x"))
    if len(raw) < 32 * (SUBMISSION_COUNT_WORD + 1):
        raise ChainReadError(f"{staking_address} did not answer like the staking contract")
    words = [raw[i : i + 32] for i in range(0, len(raw), 32)]
    return {
        "closed": int.from_bytes(words[0], "big") == 1,
        "root": "0x" + words[COMMITMENTS_ROOT_WORD].hex(),
        "submission_count": int.from_bytes(words[SUBMISSION_COUNT_WORD], "big"),
    }
