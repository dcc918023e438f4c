"""Send contract transactions safely (private to the gateway).

One path for every backend: estimate gas, reserve a nonce, sign locally, send the raw bytes,
wait for the receipt with a timeout. On a timeout or a transport error the sender first asks
the chain whether the work is already done (the caller's ``already_done`` check, e.g. "leaf
applied", "root posted"), then looks for the receipt of the exact transaction it signed, and
only then re-broadcasts the *same* signed bytes: same nonce, same hash, so a resend can never
execute twice. If the node dropped that nonce, the transaction is rebuilt with a fresh one,
again only after the state check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)

from chain import crash_points

REVERT_PREFIX = "execution reverted: "


class ChainError(Exception):
    """A chain operation failed for a reason other than a revert."""


class ChainRevert(ChainError):
    """The contract refused the call; ``reason`` is its revert string."""

    def __init__(self, reason: str, *, label: str = "") -> None:
        self.reason = reason
        super().__init__(f"{label}: {reason}" if label else reason)


class ChainTimeout(ChainError):
    """No receipt within the allowed attempts; the chain state check did not show it done."""


def revert_reason(exc: BaseException) -> str:
    """The revert string from a web3 or eth-tester exception ("execution reverted: X" -> "X")."""
    message = getattr(exc, "message", None) or (exc.args[0] if exc.args else "") or str(exc)
    if not isinstance(message, str):
        message = str(message)
    if message.startswith(REVERT_PREFIX):
        return message[len(REVERT_PREFIX) :]
    if message == "execution reverted":
        return "reverted without a reason"
    return message


@dataclass(frozen=True)
class Sent:
    """What the sender returns: the mined receipt, or None when the state check said done."""

    receipt: Any | None


def _is_nonce_problem(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "nonce" in text or "replacement transaction underpriced" in text


def _is_duplicate(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "already known" in text or "already imported" in text or "known transaction" in text


class TransactionSender:
    """Builds, signs, sends and confirms transactions for locally held keys."""

    def __init__(
        self,
        w3: Web3,
        *,
        receipt_timeout: float,
        poll_interval: float,
        attempts: int = 3,
        gas_margin: float = 1.25,
        fixed_gas: int | None = None,
        after_mined: Callable[[], None] | None = None,
    ) -> None:
        """``fixed_gas`` replaces estimation by one ``eth_call`` preflight plus that gas
        limit. Meant for the in-process chain only, where py-evm's estimator re-executes
        the call about a dozen times (a binary search) and would dominate every write."""
        self.w3 = w3
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self.attempts = attempts
        self.gas_margin = gas_margin
        self.fixed_gas = fixed_gas
        self._after_mined = after_mined
        self._next_nonce: dict[str, int] = {}
        self._chain_id: int | None = None

    # --- nonces --------------------------------------------------------------------------

    def _reserve_nonce(self, address: str) -> int:
        on_chain = self.w3.eth.get_transaction_count(address, "pending")
        nonce = max(on_chain, self._next_nonce.get(address, 0))
        self._next_nonce[address] = nonce + 1
        return nonce

    def _forget_nonce(self, address: str) -> None:
        """Resynchronise from the node next time (after a rejected or dropped transaction)."""
        self._next_nonce.pop(address, None)

    # --- receipts ------------------------------------------------------------------------

    def fetch_receipt(self, tx_hash: bytes) -> Any | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def wait_for_receipt(self, tx_hash: bytes) -> Any:
        """Poll until mined; raises web3's TimeExhausted after ``receipt_timeout`` seconds."""
        return self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_interval
        )

    # --- sending -------------------------------------------------------------------------

    def _fees(self) -> dict[str, int]:
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas") or 0)
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except (Web3RPCError, ValueError):
            tip = 10**9
        # Room for the base fee to double before the transaction is priced out.
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base_fee + tip}

    def _gas_limit(self, account: LocalAccount, call: Any) -> int:
        """Gas limit for ``call``; raises ChainRevert with the contract's reason if it fails."""
        try:
            if self.fixed_gas is not None and hasattr(call, "call"):
                call.call({"from": account.address})
                return self.fixed_gas
            if self.fixed_gas is not None and hasattr(call, "bytecode"):
                # A contract deployment on the in-process chain: py-evm's estimator would run
                # the constructor ~13 times; a reverting one fails its receipt instead.
                return self.fixed_gas
            estimate = call.estimate_gas({"from": account.address})
        except (ContractLogicError, TransactionFailed) as exc:
            raise ChainRevert(revert_reason(exc)) from exc
        return int(estimate * self.gas_margin) + 10_000

    def _build_and_sign(self, account: LocalAccount, call: Any) -> tuple[bytes, bytes]:
        gas = self._gas_limit(account, call)
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        tx = call.build_transaction(
            {
                "from": account.address,
                "nonce": self._reserve_nonce(account.address),
                "gas": gas,
                "chainId": self._chain_id,
                **self._fees(),
            }
        )
        signed = account.sign_transaction(tx)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    def transact(
        self,
        account: LocalAccount,
        call: Any,
        *,
        label: str,
        already_done: Callable[[], bool] | None = None,
    ) -> Sent:
        """Execute ``call`` (a web3 contract function or constructor) from ``account``.

        Returns Sent(receipt) once mined with status 1, or Sent(None) if ``already_done``
        reports the work done before or between attempts. Raises ChainRevert when the
        contract refuses, ChainTimeout when no attempt could be confirmed.
        """
        if already_done is not None and already_done():
            return Sent(None)
        try:
            raw, tx_hash = self._build_and_sign(account, call)
        except ChainRevert as exc:
            self._forget_nonce(account.address)
            raise ChainRevert(exc.reason, label=label) from exc
        last_error: BaseException | None = None
        for attempt in range(self.attempts):
            if attempt:
                # Check the chain before any resend: done by us (receipt) or by anyone.
                receipt = self.fetch_receipt(tx_hash)
                if receipt is not None:
                    return self._confirmed(receipt, label, account)
                if already_done is not None and already_done():
                    self._forget_nonce(account.address)
                    return Sent(None)
            try:
                self.w3.eth.send_raw_transaction(raw)
            except (ContractLogicError, TransactionFailed) as exc:
                self._forget_nonce(account.address)
                raise ChainRevert(revert_reason(exc), label=label) from exc
            except (Web3RPCError, TesterValidationError, ValueError, OSError) as exc:
                last_error = exc
                if _is_duplicate(exc):
                    pass  # the node has it already: wait for it below
                elif _is_nonce_problem(exc):
                    receipt = self.fetch_receipt(tx_hash)
                    if receipt is not None:
                        return self._confirmed(receipt, label, account)
                    # Our nonce was used by another transaction: rebuild after a state check.
                    self._forget_nonce(account.address)
                    if already_done is not None and already_done():
                        return Sent(None)
                    try:
                        raw, tx_hash = self._build_and_sign(account, call)
                    except ChainRevert as revert:
                        raise ChainRevert(revert.reason, label=label) from revert
                    continue
                else:
                    time.sleep(min(self.poll_interval * (attempt + 1), 5.0))
                    continue
            try:
                return self._confirmed(self.wait_for_receipt(tx_hash), label, account)
            except (TimeExhausted, Web3RPCError, OSError) as exc:
                last_error = exc
                continue
        # Last look before giving up.
        receipt = self.fetch_receipt(tx_hash)
        if receipt is not None:
            return self._confirmed(receipt, label, account)
        if already_done is not None and already_done():
            return Sent(None)
        self._forget_nonce(account.address)
        raise ChainTimeout(
            f"{label}: transaction 0x{tx_hash.hex()} not confirmed after {self.attempts} attempts"
            f" ({last_error!r})"
        )

    def _confirmed(self, receipt: Any, label: str, account: LocalAccount) -> Sent:
        if self._after_mined is not None:
            self._after_mined()
        if receipt["status"] != 1:
            self._forget_nonce(account.address)
            raise ChainRevert(
                f"transaction 0x{bytes(receipt['transactionHash']).hex()} reverted in block"
                f" {receipt['blockNumber']}",
                label=label,
            )
        crash_points.after_mined(label)  # a no-op unless a crash test set ARENA_CRASH_AFTER
        return Sent(receipt)
