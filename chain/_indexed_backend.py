"""eth-tester's py-evm backend, with transactions found through py-evm's own hash index,
and eth-tester with log queries answered from a per-block log index.

eth-tester finds a transaction by walking every block back from the head, so each receipt
costs O(chain length) and each ``eth_getLogs`` (which reads the receipt of every
transaction in its range) O(range × chain length). A DEX replay adds a few swaps per token
per era, and after a few hundred transactions that made the embedded chain crawl (measured:
0.2 s per receipt, 17 s per indexer pass at ~900 transactions). py-evm's chain database
already keeps a hash → (block, index) lookup for the canonical chain; this backend uses it,
and falls back to the pending block, which the lookup does not cover.
"""

from __future__ import annotations

from typing import Any

from eth.exceptions import TransactionNotFound as PyEvmTransactionNotFound
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.serializers import (
    serialize_log,
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionNotFound
from eth_tester.utils.filters import check_if_log_matches
from eth_utils import encode_hex


class IndexedPyEVMBackend(PyEVMBackend):
    def _find_transaction(self, transaction_hash: bytes) -> tuple[Any, Any, int]:
        pending = self.chain.get_block()
        for index, transaction in enumerate(pending.transactions):
            if transaction.hash == transaction_hash:
                return pending, transaction, index
        try:
            number, index = self.chain.chaindb.get_transaction_index(transaction_hash)
        except PyEvmTransactionNotFound:
            raise TransactionNotFound(
                f"No transaction found for transaction hash: {encode_hex(transaction_hash)}"
            ) from None
        block = self.chain.get_canonical_block_by_number(number)
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> dict[str, Any]:
        block, transaction, index = self._find_transaction(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction(block, transaction, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> dict[str, Any]:
        block, transaction, index = self._find_transaction(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction_receipt(
            block,
            block.get_receipts(self.chain.chaindb),
            transaction,
            index,
            is_pending,
            self.chain.get_vm(),
        )


class IndexedEthereumTester(EthereumTester):
    """eth-tester with ``eth_getLogs`` answered from a per-block log index.

    eth-tester answers each log query by serialising the receipt of every transaction in the
    range (recovering each sender's signature along the way): a DEX history sync, which asks
    once per token and event, re-read the whole chain ten times over (measured in
    docs/performance.md). Here each mined block's logs are read once, from py-evm's receipts,
    and kept; the same filter function and normalizer as eth-tester's own ``get_logs`` then
    pick and format the matches, so the answers are the same (chain/tests/test_log_index.py
    compares the two). The index is dropped when its newest block is no longer canonical
    (a snapshot was reverted).
    """

    def __init__(self, backend: IndexedPyEVMBackend) -> None:
        super().__init__(backend)
        self._logs_by_block: list[list[dict[str, Any]]] = []
        self._indexed_tip_hash: bytes | None = None

    def _chain(self):
        return self.backend.chain

    def _refresh_index(self, head: int) -> None:
        chain = self._chain()
        if self._logs_by_block:
            tip = len(self._logs_by_block) - 1
            if tip > head or chain.chaindb.get_canonical_block_hash(tip) != self._indexed_tip_hash:
                self._logs_by_block = []
        for number in range(len(self._logs_by_block), head + 1):
            block = chain.get_canonical_block_by_number(number)
            receipts = block.get_receipts(chain.chaindb)
            entries = [
                serialize_log(block, transaction, index, log, log_index, False)
                for index, (transaction, receipt) in enumerate(zip(block.transactions, receipts, strict=True))
                for log_index, log in enumerate(receipt.logs)
            ]
            self._logs_by_block.append(entries)
            self._indexed_tip_hash = block.hash

    def get_logs(self, from_block=None, to_block=None, address=None, topics=None):  # noqa: ANN001, ANN201 - eth-tester's signature
        self.validator.validate_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        raw_from, raw_to, raw_address, raw_topics = self.normalizer.normalize_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        head = self._chain().get_canonical_head().block_number
        lower = raw_from if isinstance(raw_from, int) else self.get_block_by_number(raw_from or "latest")["number"]
        upper = raw_to if isinstance(raw_to, int) else self.get_block_by_number(raw_to or "latest")["number"]
        if upper > head:
            return super().get_logs(from_block=from_block, to_block=to_block, address=address, topics=topics)
        self._refresh_index(head)
        params = {"from_block": raw_from, "to_block": raw_to, "addresses": raw_address, "topics": raw_topics}
        return tuple(
            self.normalizer.normalize_outbound_log_entry(entry)
            for number in range(max(lower, 0), upper + 1)
            for entry in self._logs_by_block[number]
            if check_if_log_matches(entry, **params)
        )
