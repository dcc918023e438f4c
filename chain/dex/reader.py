"""Read any Uniswap-V2-compatible pair: tokens, reserves, and its Sync/Swap/Mint/Burn history.

The reader knows a pair only through the V2 interface written out below (function and event
signatures, nothing specific to ArenaPair), so the same code reads our pools on the embedded
chain and real V2 pools (Uniswap, SushiSwap, ...) on a public chain. It reaches the node
through ``ChainGateway.web3`` (chain/ modules only).

``pool_observations`` turns a pair's history into plain per-event arrays (timestamps,
reserves, traded volume in the quote token) for scoring/dex_features.py.

``block_window`` and ``reserves_over`` read a pair's reserves at the end of each block of a
window (``eth_call`` of ``getReserves()`` at each block number, public APIs only) for the
time-weighted average prices of chain/dex/twap.py. Reserves at a past block never change, so
they are cached by (pair, block number, block hash): a later window re-reads only the new
blocks, and a reorganised block (another hash) is read again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import (
    event_abi_to_log_topic,
    function_signature_to_4byte_selector,
    to_checksum_address,
)

from chain._events import plain
from chain.gateway import ChainGateway


def _event(name: str, fields: list[tuple[str, str, bool]]) -> dict[str, Any]:
    return {
        "type": "event",
        "name": name,
        "anonymous": False,
        "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in fields],
    }


def _view(name: str, outputs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": n, "type": t} for n, t in outputs],
    }


# The Uniswap-V2 pair interface a reader needs (signatures are the standard's; the topic
# hashes of these events identify V2 pool logs on any chain).
V2_PAIR_ABI: list[dict[str, Any]] = [
    _view(
        "getReserves",
        [("reserve0", "uint112"), ("reserve1", "uint112"), ("blockTimestampLast", "uint32")],
    ),
    _view("token0", [("", "address")]),
    _view("token1", [("", "address")]),
    _view("factory", [("", "address")]),
    _view("totalSupply", [("", "uint256")]),
    _event("Sync", [("reserve0", "uint112", False), ("reserve1", "uint112", False)]),
    _event(
        "Swap",
        [
            ("sender", "address", True),
            ("amount0In", "uint256", False),
            ("amount1In", "uint256", False),
            ("amount0Out", "uint256", False),
            ("amount1Out", "uint256", False),
            ("to", "address", True),
        ],
    ),
    _event(
        "Mint",
        [("sender", "address", True), ("amount0", "uint256", False), ("amount1", "uint256", False)],
    ),
    _event(
        "Burn",
        [
            ("sender", "address", True),
            ("amount0", "uint256", False),
            ("amount1", "uint256", False),
            ("to", "address", True),
        ],
    ),
]
ERC20_METADATA_ABI: list[dict[str, Any]] = [
    _view("decimals", [("", "uint8")]),
    _view("symbol", [("", "string")]),
]
GET_RESERVES_SELECTOR = "0x" + function_signature_to_4byte_selector("getReserves()").hex()
# Reserves kept per reader: enough for windows of chain/dex/twap.py's longest over 128 pools.
RESERVES_CACHE_SIZE = 32_768
V2_EVENT_TOPICS: dict[str, str] = {
    item["name"]: "0x" + event_abi_to_log_topic(item).hex()
    for item in V2_PAIR_ABI
    if item["type"] == "event"
}


@dataclass(frozen=True)
class PairInfo:
    address: str
    token0: str
    token1: str


@dataclass(frozen=True)
class Reserves:
    reserve0: int
    reserve1: int
    timestamp_last: int
    block: int

    def oriented(self, pair: PairInfo, base: str) -> tuple[int, int]:
        """(base token's reserve, the other token's reserve)."""
        base = to_checksum_address(base)
        if base == pair.token0:
            return self.reserve0, self.reserve1
        if base == pair.token1:
            return self.reserve1, self.reserve0
        raise ValueError(f"{base} is not a token of pair {pair.address}")


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    timestamp: int


@dataclass(frozen=True)
class PoolObservations:
    """One row per Sync event of a pair, oriented as (base token, quote token).

    ``volume_quote[i]`` is the quote-token side of the Swap that follows that Sync in the
    same transaction (quote in plus quote out; 0 for liquidity changes and syncs).
    """

    block: list[int]
    timestamp: list[int]
    reserve_base: list[int]
    reserve_quote: list[int]
    volume_quote: list[int]


class V2Reader:
    """Reads Uniswap-V2-compatible pairs through a gateway's node connection."""

    def __init__(self, gateway: ChainGateway) -> None:
        self._gateway = gateway
        self._w3 = gateway.web3
        self._pairs: dict[str, PairInfo] = {}
        self._timestamps: dict[int, int] = {}
        self._reserves_at: OrderedDict[tuple[str, int, str], Reserves | None] = OrderedDict()
        self._events = {
            item["name"]: self._w3.eth.contract(abi=V2_PAIR_ABI).events[item["name"]]()
            for item in V2_PAIR_ABI
            if item["type"] == "event"
        }
        self._by_topic = {
            bytes.fromhex(topic[2:]): self._events[name] for name, topic in V2_EVENT_TOPICS.items()
        }

    def _contract(self, address: str) -> Any:
        return self._w3.eth.contract(address=to_checksum_address(address), abi=V2_PAIR_ABI)

    def pair(self, address: str) -> PairInfo:
        """token0/token1 of a pair (cached: they never change)."""
        address = to_checksum_address(address)
        if address not in self._pairs:
            contract = self._contract(address)
            self._pairs[address] = PairInfo(
                address=address,
                token0=to_checksum_address(contract.functions.token0().call()),
                token1=to_checksum_address(contract.functions.token1().call()),
            )
        return self._pairs[address]

    def reserves(self, address: str, *, block: int | None = None) -> Reserves:
        """``getReserves()`` at ``block`` (latest by default)."""
        at = "latest" if block is None else block
        number = self._gateway.block_number() if block is None else block
        r0, r1, ts = self._contract(address).functions.getReserves().call(block_identifier=at)
        return Reserves(reserve0=int(r0), reserve1=int(r1), timestamp_last=int(ts), block=number)

    def block_window(self, block: int, blocks: int) -> list[BlockRef]:
        """Blocks A..B (oldest first), B = ``block`` and A = max(0, B − ``blocks``): the
        headers a time-weighted price over the last ``blocks`` blocks before B needs."""
        if blocks < 0:
            raise ValueError("blocks must be non-negative")
        refs = []
        for number in range(max(0, block - blocks), block + 1):
            header = self._w3.eth.get_block(number)
            refs.append(
                BlockRef(
                    number=number,
                    hash="0x" + bytes(header["hash"]).hex(),
                    timestamp=int(header["timestamp"]),
                )
            )
        return refs

    def reserves_over(self, address: str, window: Sequence[BlockRef]) -> list[Reserves | None]:
        """The pair's reserves at the end of each block of ``window``; None at a block where
        the address had no pair yet (no code, nothing returned)."""
        address = to_checksum_address(address)
        found: list[Reserves | None] = []
        for ref in window:
            key = (address, ref.number, ref.hash)
            if key in self._reserves_at:
                self._reserves_at.move_to_end(key)
                found.append(self._reserves_at[key])
                continue
            # An explicit sender spares the provider guessing one (a lookup per call).
            call = {"from": self._gateway.operator, "to": address, "data": GET_RESERVES_SELECTOR}
            raw = bytes(self._w3.eth.call(call, block_identifier=ref.number))
            reserves = None
            if len(raw) >= 96:
                r0, r1, ts = (int.from_bytes(raw[i : i + 32], "big") for i in (0, 32, 64))
                reserves = Reserves(reserve0=r0, reserve1=r1, timestamp_last=ts, block=ref.number)
            self._reserves_at[key] = reserves
            if len(self._reserves_at) > RESERVES_CACHE_SIZE:
                self._reserves_at.popitem(last=False)
            found.append(reserves)
        return found

    def decimals(self, token: str) -> int:
        contract = self._w3.eth.contract(address=to_checksum_address(token), abi=ERC20_METADATA_ABI)
        return int(contract.functions.decimals().call())

    def mid_price(self, address: str, base: str, *, block: int | None = None) -> float:
        """Price of ``base`` in the pair's other token, in whole units (decimals applied)."""
        info = self.pair(address)
        reserve_base, reserve_other = self.reserves(address, block=block).oriented(info, base)
        other = info.token1 if to_checksum_address(base) == info.token0 else info.token0
        scale = 10 ** (self.decimals(base) - self.decimals(other))
        return reserve_other / reserve_base * scale

    def block_timestamp(self, block: int) -> int:
        if block not in self._timestamps:
            self._timestamps[block] = self._gateway.block_timestamp(block)
        return self._timestamps[block]

    def history(
        self,
        addresses: str | Iterable[str],
        from_block: int,
        to_block: int | None = None,
        *,
        names: Iterable[str] | None = None,
        max_range: int = 2_000,
    ) -> list[dict[str, Any]]:
        """V2 events of one or more pairs in [from_block, to_block], oldest first.

        Each is {pair, name, args, block, tx_hash, log_index}; fetched in chunks of
        ``max_range`` blocks (public nodes cap eth_getLogs ranges).
        """
        if isinstance(addresses, str):
            addresses = [addresses]
        wanted_pairs = [to_checksum_address(a) for a in addresses]
        wanted = set(names) if names is not None else set(V2_EVENT_TOPICS)
        unknown = wanted - set(V2_EVENT_TOPICS)
        if unknown:
            raise ValueError(f"not V2 pair events: {sorted(unknown)}")
        topics = [V2_EVENT_TOPICS[name] for name in sorted(wanted)]
        end = self._gateway.block_number() if to_block is None else to_block
        found: list[dict[str, Any]] = []
        start = from_block
        while start <= end:
            stop = min(end, start + max_range - 1)
            logs = self._w3.eth.get_logs(
                {"fromBlock": start, "toBlock": stop, "address": wanted_pairs, "topics": [topics]}
            )
            found.extend(self._decode(log) for log in logs)
            start = stop + 1
        found.sort(key=lambda e: (e["block"], e["log_index"]))
        return found

    def _decode(self, log: Mapping[str, Any]) -> dict[str, Any]:
        data = self._by_topic[bytes(log["topics"][0])].process_log(log)
        return {
            "pair": to_checksum_address(log["address"]),
            "name": data["event"],
            "args": plain(dict(data["args"])),
            "block": int(data["blockNumber"]),
            "tx_hash": plain(data["transactionHash"]),
            "log_index": int(data["logIndex"]),
        }

    def pool_observations(
        self, address: str, base: str, from_block: int, to_block: int | None = None
    ) -> PoolObservations:
        """The pair's Sync history oriented as (base, other) with the swapped quote volume."""
        info = self.pair(address)
        base_is_0 = to_checksum_address(base) == info.token0
        if not base_is_0 and to_checksum_address(base) != info.token1:
            raise ValueError(f"{base} is not a token of pair {info.address}")
        rows = PoolObservations([], [], [], [], [])
        # A V2 swap logs Sync (new reserves) and then Swap, in the same transaction: the
        # Swap's quote amounts belong to the row its Sync just opened.
        last_sync_tx: str | None = None
        for event in self.history(address, from_block, to_block, names=("Sync", "Swap")):
            args = event["args"]
            if event["name"] == "Sync":
                r0, r1 = args["reserve0"], args["reserve1"]
                rows.block.append(event["block"])
                rows.timestamp.append(self.block_timestamp(event["block"]))
                rows.reserve_base.append(r0 if base_is_0 else r1)
                rows.reserve_quote.append(r1 if base_is_0 else r0)
                rows.volume_quote.append(0)
                last_sync_tx = event["tx_hash"]
            elif event["tx_hash"] == last_sync_tx:
                quote_in = args["amount1In"] if base_is_0 else args["amount0In"]
                quote_out = args["amount1Out"] if base_is_0 else args["amount0Out"]
                rows.volume_quote[-1] += quote_in + quote_out
        return rows
