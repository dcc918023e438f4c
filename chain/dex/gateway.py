"""DexGateway: deploy and drive the exchange (pairs, factory, router), tokens and vaults.

Built on a ``ChainGateway``: every transaction goes through its ``send_contract_call`` hook
(same keys, nonces, fees, journaling, retries and revert reasons as the staking writes) and
every read through its ``web3``. Callers pass and receive plain values, like the gateway:
amounts as ``int`` base units, addresses as checksummed ``str``, results as ``TxResult``
whose ``events`` are decoded DEX events ({contract, address, name, args, block, tx_hash,
log_index}).

Idempotency: ``create_pair`` and ``vault_swap`` check the chain before sending (pair exists;
trade key already executed) and return ``TxResult(sent=False)`` when the work is done.
Transfers, mints, deposits and liquidity changes move tokens and have no such check; callers
record the returned tx hash, as with ``ChainGateway.stake``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address

from chain._events import plain
from chain.artifacts import load_artifact
from chain.dex.reader import V2Reader
from chain.gateway import ChainError, ChainGateway, TxResult

__all__ = ["DEFAULT_DEADLINE", "DexGateway", "ExchangeDeployment", "TradeRecord"]

ZERO_ADDRESS = "0x" + "00" * 20
MAX_UINT256 = 2**256 - 1
# Seconds after the latest block's timestamp that a default deadline allows.
DEFAULT_DEADLINE = 600


@dataclass(frozen=True)
class ExchangeDeployment:
    pair_blueprint: str
    factory: str
    router: str
    block: int | None


@dataclass(frozen=True)
class TradeRecord:
    """A vault trade as the chain recorded it under its key."""

    key: bytes
    amount_in: int
    amount_out: int


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


class _DexDecoder:
    """Decodes logs of every DEX contract by topic (pairs are many and share one ABI)."""

    def __init__(self, w3: Any, abis: Mapping[str, list[dict[str, Any]]]) -> None:
        self._events: dict[bytes, tuple[str, Any]] = {}
        for label, abi in abis.items():
            contract = w3.eth.contract(abi=abi)
            for item in abi:
                if item.get("type") == "event":
                    topic = event_abi_to_log_topic(item)
                    # Transfer/Approval/ownership events exist in several ABIs: first wins.
                    self._events.setdefault(topic, (label, contract.events[item["name"]]()))

    def decode(self, log: Mapping[str, Any]) -> dict[str, Any] | None:
        if not log["topics"]:
            return None
        found = self._events.get(bytes(log["topics"][0]))
        if found is None:
            return None
        label, event = found
        data = event.process_log(log)
        return {
            "contract": label,
            "address": to_checksum_address(log["address"]),
            "name": data["event"],
            "args": plain(dict(data["args"])),
            "block": int(data["blockNumber"]),
            "tx_hash": plain(data["transactionHash"]),
            "log_index": int(data["logIndex"]),
        }

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        events = [e for e in map(self.decode, logs) if e is not None]
        events.sort(key=lambda e: (e["block"], e["log_index"]))
        return events


class DexGateway:
    """The exchange and vault side of the chain, sharing a ChainGateway's connection."""

    def __init__(self, chain: ChainGateway, *, build_cache_dir: Path | None = None) -> None:
        self.chain = chain
        self._w3 = chain.web3
        self._cache_dir = build_cache_dir
        self._abis = {
            name: load_artifact(name, build_cache_dir).abi
            for name in ("ArenaPair", "ArenaFactory", "ArenaRouter", "ArenaVault")
        }
        self._token_abi = load_artifact("ArenaToken", build_cache_dir).abi
        self._decoder = _DexDecoder(
            self._w3,
            {
                "token": self._token_abi,
                "pair": self._abis["ArenaPair"],
                "factory": self._abis["ArenaFactory"],
                "vault": self._abis["ArenaVault"],
            },
        )
        self._exchange: ExchangeDeployment | None = None
        self.reader = V2Reader(chain)

    # --- plumbing ------------------------------------------------------------------------

    def _at(self, name: str, address: str) -> Any:
        abi = self._token_abi if name == "ArenaToken" else self._abis[name]
        return self._w3.eth.contract(address=to_checksum_address(address), abi=abi)

    def _send(
        self, call: Any, *, label: str, sender: str | None = None, already_done: Any = None
    ) -> TxResult:
        receipt = self.chain.send_contract_call(
            call, label=label, sender=sender, already_done=already_done
        )
        if receipt is None:
            return TxResult(sent=False)
        return TxResult(
            sent=True,
            tx_hash=_hex(receipt["transactionHash"]),
            block=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=self._decoder.decode_all(receipt["logs"]),
        )

    def _deploy(self, abi: list[dict[str, Any]], bytecode: bytes, *args: Any, label: str) -> str:
        factory = self._w3.eth.contract(abi=abi, bytecode=bytecode)
        receipt = self.chain.send_contract_call(factory.constructor(*args), label=label)
        assert receipt is not None  # constructors have no "already done" check
        return to_checksum_address(receipt["contractAddress"])

    def _deadline(self, deadline: int | None) -> int:
        return self.now() + DEFAULT_DEADLINE if deadline is None else deadline

    def now(self) -> int:
        """Timestamp of the latest block: deadlines are measured on the chain's clock."""
        return self.chain.block_timestamp()

    # --- deployment ----------------------------------------------------------------------

    def deploy_exchange(self) -> ExchangeDeployment:
        """Deploy the pair blueprint, the factory and the router from the operator key."""
        pair = load_artifact("ArenaPair", self._cache_dir)
        blueprint = self._deploy([], pair.blueprint_bytecode, label="deploy ArenaPair blueprint")
        factory_artifact = load_artifact("ArenaFactory", self._cache_dir)
        factory = self._deploy(
            factory_artifact.abi, factory_artifact.bytecode, blueprint, label="deploy ArenaFactory"
        )
        router_artifact = load_artifact("ArenaRouter", self._cache_dir)
        router = self._deploy(
            router_artifact.abi, router_artifact.bytecode, factory, label="deploy ArenaRouter"
        )
        self._exchange = ExchangeDeployment(
            pair_blueprint=blueprint,
            factory=factory,
            router=router,
            block=self.chain.block_number(),
        )
        return self._exchange

    def attach_exchange(self, *, factory: str, router: str) -> ExchangeDeployment:
        """Use an exchange deployed earlier (addresses from settings or the database)."""
        router_contract = self._at("ArenaRouter", router)
        if not self._w3.eth.get_code(router_contract.address):
            raise ChainError(f"no contract at router address {router}")
        if to_checksum_address(router_contract.functions.factory().call()) != to_checksum_address(
            factory
        ):
            raise ChainError(f"router {router} does not use factory {factory}")
        blueprint = self._at("ArenaFactory", factory).functions.pair_blueprint().call()
        self._exchange = ExchangeDeployment(
            pair_blueprint=to_checksum_address(blueprint),
            factory=to_checksum_address(factory),
            router=router_contract.address,
            block=None,
        )
        return self._exchange

    @property
    def has_exchange(self) -> bool:
        return self._exchange is not None

    @property
    def exchange(self) -> ExchangeDeployment:
        if self._exchange is None:
            raise ChainError("exchange not deployed: call deploy_exchange() or attach_exchange()")
        return self._exchange

    def _router(self) -> Any:
        return self._at("ArenaRouter", self.exchange.router)

    def _factory(self) -> Any:
        return self._at("ArenaFactory", self.exchange.factory)

    def deploy_token(self, name: str, symbol: str) -> str:
        """A dev-mode ArenaToken (18 decimals) whose minter is the operator."""
        artifact = load_artifact("ArenaToken", self._cache_dir)
        return self._deploy(
            artifact.abi, artifact.bytecode, name, symbol, 0, True, label=f"deploy token {symbol}"
        )

    def pair_for(self, token_a: str, token_b: str) -> str | None:
        pair = (
            self._factory()
            .functions.getPair(to_checksum_address(token_a), to_checksum_address(token_b))
            .call()
        )
        return None if int(pair, 16) == 0 else to_checksum_address(pair)

    def create_pair(self, token_a: str, token_b: str, *, sender: str | None = None) -> str:
        """The pair of two tokens, created if it does not exist yet."""
        self._send(
            self._factory().functions.createPair(
                to_checksum_address(token_a), to_checksum_address(token_b)
            ),
            label="create pair",
            sender=sender,
            already_done=lambda: self.pair_for(token_a, token_b) is not None,
        )
        pair = self.pair_for(token_a, token_b)
        assert pair is not None
        return pair

    def deploy_vault(
        self, *, quote: str, keeper: str, tournament_id: int, tokens: Sequence[str]
    ) -> str:
        """A vault for one tournament; the operator key becomes its owner."""
        artifact = load_artifact("ArenaVault", self._cache_dir)
        return self._deploy(
            artifact.abi,
            artifact.bytecode,
            to_checksum_address(quote),
            self.exchange.router,
            to_checksum_address(keeper),
            tournament_id,
            [to_checksum_address(t) for t in tokens],
            label=f"deploy vault for tournament {tournament_id}",
        )

    # --- tokens --------------------------------------------------------------------------

    def mint(self, *, token: str, to: str, amount: int) -> TxResult:
        """Dev tokens only: the operator deployed them and holds the minter role."""
        return self._send(
            self._at("ArenaToken", token).functions.mint(to_checksum_address(to), amount),
            label="mint",
        )

    def approve(self, *, token: str, spender: str, amount: int, sender: str | None) -> TxResult:
        return self._send(
            self._at("ArenaToken", token).functions.approve(to_checksum_address(spender), amount),
            label="approve",
            sender=sender,
        )

    def ensure_allowance(
        self, *, token: str, spender: str, amount: int, sender: str | None
    ) -> None:
        owner = sender or self.chain.operator
        allowance = (
            self._at("ArenaToken", token)
            .functions.allowance(to_checksum_address(owner), to_checksum_address(spender))
            .call()
        )
        if allowance < amount:
            self.approve(token=token, spender=spender, amount=MAX_UINT256, sender=sender)

    def transfer(self, *, token: str, to: str, amount: int, sender: str | None) -> TxResult:
        return self._send(
            self._at("ArenaToken", token).functions.transfer(to_checksum_address(to), amount),
            label="transfer",
            sender=sender,
        )

    def balance_of(self, token: str, holder: str, *, block: int | None = None) -> int:
        return int(
            self._at("ArenaToken", token)
            .functions.balanceOf(to_checksum_address(holder))
            .call(block_identifier="latest" if block is None else block)
        )

    # --- router --------------------------------------------------------------------------

    def add_liquidity(
        self,
        *,
        token_a: str,
        token_b: str,
        amount_a: int,
        amount_b: int,
        sender: str | None = None,
        min_a: int = 0,
        min_b: int = 0,
        to: str | None = None,
        deadline: int | None = None,
    ) -> TxResult:
        """Approve (if needed) and deposit into the pair at its current ratio."""
        router = self.exchange.router
        self.ensure_allowance(token=token_a, spender=router, amount=amount_a, sender=sender)
        self.ensure_allowance(token=token_b, spender=router, amount=amount_b, sender=sender)
        return self._send(
            self._router().functions.addLiquidity(
                to_checksum_address(token_a),
                to_checksum_address(token_b),
                amount_a,
                amount_b,
                min_a,
                min_b,
                to_checksum_address(to or sender or self.chain.operator),
                self._deadline(deadline),
            ),
            label="add liquidity",
            sender=sender,
        )

    def amounts_out(
        self, amount_in: int, path: Sequence[str], *, block: int | None = None
    ) -> list[int]:
        """The router's quote for an exact-input swap along ``path``."""
        return [
            int(a)
            for a in self._router()
            .functions.getAmountsOut(amount_in, [to_checksum_address(t) for t in path])
            .call(block_identifier="latest" if block is None else block)
        ]

    def swap_exact_in(
        self,
        *,
        path: Sequence[str],
        amount_in: int,
        min_out: int,
        sender: str | None = None,
        to: str | None = None,
        deadline: int | None = None,
    ) -> TxResult:
        """Approve (if needed) and sell exactly ``amount_in`` of path[0] along ``path``."""
        router = self.exchange.router
        self.ensure_allowance(token=path[0], spender=router, amount=amount_in, sender=sender)
        return self._send(
            self._router().functions.swapExactTokensForTokens(
                amount_in,
                min_out,
                [to_checksum_address(t) for t in path],
                to_checksum_address(to or sender or self.chain.operator),
                self._deadline(deadline),
            ),
            label=f"swap {amount_in} along {len(path) - 1} hop(s)",
            sender=sender,
        )

    # --- vaults --------------------------------------------------------------------------

    def vault_deposit(self, *, vault: str, amount: int, sender: str | None = None) -> TxResult:
        """Approve (if needed) and move ``amount`` of the quote token into the vault."""
        quote = self.vault_quote(vault)
        self.ensure_allowance(token=quote, spender=vault, amount=amount, sender=sender)
        return self._send(
            self._at("ArenaVault", vault).functions.deposit(amount),
            label="vault deposit",
            sender=sender,
        )

    def vault_withdraw(
        self, *, vault: str, token: str, amount: int, to: str, sender: str | None = None
    ) -> TxResult:
        return self._send(
            self._at("ArenaVault", vault).functions.withdraw(
                to_checksum_address(token), amount, to_checksum_address(to)
            ),
            label="vault withdraw",
            sender=sender,
        )

    def vault_trade(
        self, vault: str, key: bytes, *, block: int | None = None
    ) -> TradeRecord | None:
        """The executed trade under ``key``, or None if the key has not executed."""
        amount_in, amount_out = (
            self._at("ArenaVault", vault)
            .functions.trades(key)
            .call(block_identifier="latest" if block is None else block)
        )
        if amount_in == 0:
            return None
        return TradeRecord(key=bytes(key), amount_in=int(amount_in), amount_out=int(amount_out))

    def vault_swap(
        self,
        *,
        vault: str,
        key: bytes,
        token_in: str,
        token_out: str,
        amount_in: int,
        min_out: int,
        deadline: int,
        keeper: str | None = None,
    ) -> TxResult:
        """Keeper trade under a one-time ``key``; sends nothing if the key already executed
        (checked before sending and before any resend)."""
        return self._send(
            self._at("ArenaVault", vault).functions.swap(
                key,
                to_checksum_address(token_in),
                to_checksum_address(token_out),
                amount_in,
                min_out,
                deadline,
            ),
            label=f"vault trade 0x{bytes(key).hex()[:12]}",
            sender=keeper or self.vault_keeper(vault),
            already_done=lambda: self.vault_trade(vault, key) is not None,
        )

    def vault_trade_event(
        self, vault: str, key: bytes, *, from_block: int
    ) -> dict[str, Any] | None:
        """Where the trade under ``key`` executed: {tx_hash, block, gas_used, amount_in,
        amount_out}, or None. Lets a resumed keeper account for a trade whose receipt it
        never saw."""
        abi = next(
            item
            for item in self._abis["ArenaVault"]
            if item.get("type") == "event" and item["name"] == "TradeExecuted"
        )
        logs = self._w3.eth.get_logs(
            {
                "fromBlock": from_block,
                "toBlock": self.chain.block_number(),
                "address": to_checksum_address(vault),
                "topics": [_hex(event_abi_to_log_topic(abi)), _hex(key)],
            }
        )
        if not logs:
            return None
        event = self._decoder.decode(logs[0])
        assert event is not None
        receipt = self._w3.eth.get_transaction_receipt(event["tx_hash"])
        return {
            "tx_hash": event["tx_hash"],
            "block": event["block"],
            "gas_used": int(receipt["gasUsed"]),
            "amount_in": event["args"]["amount_in"],
            "amount_out": event["args"]["amount_out"],
        }

    def vault_quote(self, vault: str) -> str:
        return to_checksum_address(self._at("ArenaVault", vault).functions.quote().call())

    def vault_keeper(self, vault: str) -> str:
        return to_checksum_address(self._at("ArenaVault", vault).functions.keeper().call())

    def vault_tokens(self, vault: str) -> list[str]:
        contract = self._at("ArenaVault", vault)
        count = contract.functions.token_count().call()
        return [to_checksum_address(contract.functions.tokens(i).call()) for i in range(count)]

    def vault_pair(self, vault: str, token: str) -> str:
        return to_checksum_address(
            self._at("ArenaVault", vault).functions.pair_of(to_checksum_address(token)).call()
        )

    def vault_value_at_mid(self, vault: str, *, block: int | None = None) -> int:
        return int(
            self._at("ArenaVault", vault)
            .functions.value_at_mid()
            .call(block_identifier="latest" if block is None else block)
        )

    def vault_liquidation_value(self, vault: str, *, block: int | None = None) -> int:
        return int(
            self._at("ArenaVault", vault)
            .functions.liquidation_value()
            .call(block_identifier="latest" if block is None else block)
        )

    def vault_events(
        self,
        vault: str,
        from_block: int,
        to_block: int | None = None,
        *,
        max_range: int = 2_000,
    ) -> list[dict[str, Any]]:
        """The vault's own events (Deposited, Withdrawn, TradeExecuted, ...), oldest first."""
        end = self.chain.block_number() if to_block is None else to_block
        events: list[dict[str, Any]] = []
        start = from_block
        while start <= end:
            stop = min(end, start + max_range - 1)
            logs = self._w3.eth.get_logs(
                {"fromBlock": start, "toBlock": stop, "address": to_checksum_address(vault)}
            )
            events.extend(self._decoder.decode_all(logs))
            start = stop + 1
        return events
