"""eth-tester's py-evm backend, with transactions found through py-evm's own hash index.

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
from eth_tester import PyEVMBackend
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionNotFound
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
