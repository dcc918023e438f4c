"""Decode the token's and the staking contract's logs into plain dicts (private to the gateway)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3
from web3.contract import Contract


def plain(value: Any) -> Any:
    """Web3 values -> JSON-friendly Python: bytes as 0x-hex, tuples as lists, dicts as dicts."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class EventDecoder:
    """Maps (contract address, topic0) to the event that produced a log."""

    def __init__(self, contracts: Mapping[str, Contract]) -> None:
        self._labels = {to_checksum_address(c.address): label for label, c in contracts.items()}
        self._events: dict[tuple[str, bytes], Any] = {}
        for contract in contracts.values():
            address = to_checksum_address(contract.address)
            for item in contract.abi:
                if item.get("type") == "event":
                    topic = event_abi_to_log_topic(item)
                    self._events[(address, topic)] = contract.events[item["name"]]()

    @property
    def addresses(self) -> list[str]:
        return list(self._labels)

    def decode(self, log: Mapping[str, Any]) -> dict[str, Any] | None:
        """The log as {contract, name, args, block, block_hash, tx_hash, log_index}; None if foreign."""
        if not log["topics"]:
            return None
        address = to_checksum_address(log["address"])
        event = self._events.get((address, bytes(log["topics"][0])))
        if event is None:
            return None
        data = event.process_log(log)
        return {
            "contract": self._labels[address],
            "name": data["event"],
            "args": plain(dict(data["args"])),
            "block": int(data["blockNumber"]),
            "block_hash": plain(data["blockHash"]),
            "tx_hash": plain(data["transactionHash"]),
            "log_index": int(data["logIndex"]),
        }

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        decoded = [event for event in map(self.decode, logs) if event is not None]
        decoded.sort(key=lambda e: (e["block"], e["log_index"]))
        return decoded


def fetch_events(
    w3: Web3,
    decoder: EventDecoder,
    from_block: int,
    to_block: int,
    *,
    addresses: list[str],
    names: set[str] | None,
    max_range: int,
) -> list[dict[str, Any]]:
    """Logs of ``addresses`` over [from_block, to_block], fetched in chunks of ``max_range``."""
    events: list[dict[str, Any]] = []
    start = from_block
    while start <= to_block:
        end = min(to_block, start + max_range - 1)
        logs = w3.eth.get_logs({"fromBlock": start, "toBlock": end, "address": addresses})
        for event in decoder.decode_all(logs):
            if names is None or event["name"] in names:
                events.append(event)
        start = end + 1
    return events
