"""ChainGateway: the one door between Arena and the EVM (the only public module importing web3).

Callers pass and receive plain values: ids and amounts as ``int``, addresses as checksummed
``str``, hashes as ``bytes`` in and ``0x``-hex ``str`` out, events and records as ``dict``.

Two backends, one code path (every transaction is signed locally and sent raw):

* ``ChainGateway.in_process(state_dir=...)`` — py-evm through web3's EthereumTesterProvider.
  The operator is eth-tester's first built-in account, ``dev_accounts`` are the other nine
  (all funded with ether at genesis). Contracts are deployed automatically. With a
  ``state_dir`` the chain is journaled to disk after every transaction and restored on the
  next start (see chain/_embedded_state.py); without one it is a fresh chain per process.
* ``ChainGateway.rpc(url, operator_key)`` — any JSON-RPC node (anvil locally, a real network
  in production). Contract addresses are passed in, or ``deploy()`` is called once.

Write methods return a ``TxResult``. Each checks the chain first and sends nothing when the
work is already done (``TxResult.sent`` is False), so retrying after a crash or a lost
receipt can never post, propose, finalize or apply twice. ``stake``, ``fund``, ``mint``,
``approve``, ``request_release`` and ``release`` move tokens by design and have no such
check: a resend inside one call reuses the signed transaction (same nonce), but calling them
again is a new transfer, so callers record the returned tx hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from chain._events import EventDecoder, fetch_events, plain
from chain._transactions import ChainError, ChainRevert, ChainTimeout, TransactionSender
from chain.artifacts import load_artifact
from chain.settlement import Settlement, SettlementLeaf

__all__ = [
    "ChainError",
    "ChainGateway",
    "ChainRevert",
    "ChainTimeout",
    "SETTLEMENT_STATUSES",
    "TxResult",
]

# Index = the contract's status code for a round's settlement.
SETTLEMENT_STATUSES = ("none", "proposed", "vetoed", "finalized", "completed", "abandoned")
DEFAULT_RELEASE_DELAY = 7 * 86400
DEPLOYMENT_FILE = "deployment.json"
# In-process writes skip py-evm's slow binary-search estimate (see TransactionSender):
# a preflight eth_call catches reverts and every transaction gets this limit. Receipts
# still report the gas actually used.
IN_PROCESS_GAS_LIMIT = 12_000_000


@dataclass(frozen=True)
class TxResult:
    """Outcome of a write. ``sent`` is False when the chain showed the work already done."""

    sent: bool
    tx_hash: str | None = None
    block: int | None = None
    gas_used: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _record(abi_outputs: list[dict[str, Any]], value: Any) -> dict[str, Any]:
    """A struct getter's tuple as a dict keyed by the ABI's component names."""
    components = abi_outputs[0]["components"] if len(abi_outputs) == 1 else abi_outputs
    return {c["name"]: plain(v) for c, v in zip(components, value, strict=True)}


class _EtherTransfer:
    """A plain value transfer shaped like a web3 contract call, so it goes through the same
    nonce, fee, receipt and retry handling as every other transaction."""

    def __init__(self, to: str, value: int) -> None:
        self.to = to
        self.value = value

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        return 21_000

    def build_transaction(self, tx: dict[str, Any]) -> dict[str, Any]:
        return {**tx, "to": self.to, "value": self.value, "data": b""}


class ChainGateway:
    """Deploy, read and drive ArenaToken + ArenaStaking. Build with ``in_process`` or ``rpc``."""

    def __init__(
        self,
        w3: Web3,
        *,
        backend: str,
        operator: LocalAccount,
        dev_accounts: Sequence[LocalAccount] = (),
        receipt_timeout: float = 120.0,
        poll_interval: float = 1.0,
        fixed_gas: int | None = None,
        build_cache_dir: Path | None = None,
        _tester: Any = None,
        _journal: Any = None,
        _journal_db: Any = None,
        _state_dir: Path | None = None,
    ) -> None:
        self._w3 = w3
        self.backend = backend
        self._operator = operator
        self._accounts: dict[str, LocalAccount] = {operator.address: operator}
        for account in dev_accounts:
            self._accounts[account.address] = account
        self._dev_accounts = [a.address for a in dev_accounts]
        self._tester = _tester
        self._journal = _journal
        self._journal_db = _journal_db
        self._state_dir = _state_dir
        self._build_cache_dir = build_cache_dir
        self._sender = TransactionSender(
            w3,
            receipt_timeout=receipt_timeout,
            poll_interval=poll_interval,
            fixed_gas=fixed_gas,
            after_mined=self._persist,
        )
        self._token: Contract | None = None
        self._staking: Contract | None = None
        self._decoder: EventDecoder | None = None
        self._deployment: dict[str, Any] | None = None

    # --- construction --------------------------------------------------------------------

    @classmethod
    def in_process(
        cls,
        *,
        state_dir: Path | str | None = None,
        deploy: bool = True,
        release_delay: int = DEFAULT_RELEASE_DELAY,
        build_cache_dir: Path | None = None,
    ) -> ChainGateway:
        """An embedded py-evm chain. With ``state_dir`` it survives restarts (journaled)."""
        # py-evm and eth-tester load only for the in-process backend: an rpc gateway (a
        # production worker) never pays for them.
        from eth.db.atomic import AtomicDB
        from web3 import EthereumTesterProvider

        from chain._embedded_state import JournalingMemoryDB, StateJournal
        from chain._indexed_backend import IndexedEthereumTester, IndexedPyEVMBackend

        pyevm = IndexedPyEVMBackend()
        genesis_kv = pyevm.chain.chaindb.db.wrapped_db.kv_store
        journal = None
        if state_dir is not None:
            state_dir = Path(state_dir)
            journal = StateJournal(state_dir)
            kv = journal.load() if journal.exists() else dict(genesis_kv)
            if not journal.path.exists():
                journal.write_full(kv)
        else:
            kv = dict(genesis_kv)
        db = JournalingMemoryDB(kv)
        # Rebuild the chain object over our store: it resumes from the stored canonical head.
        pyevm.chain = type(pyevm.chain)(AtomicDB(db))
        tester = IndexedEthereumTester(pyevm)
        w3 = Web3(EthereumTesterProvider(tester))
        keys = [Account.from_key(key.to_bytes()) for key in pyevm.account_keys]
        gateway = cls(
            w3,
            backend="in-process",
            operator=keys[0],
            dev_accounts=keys[1:],
            receipt_timeout=10.0,
            poll_interval=0.01,
            fixed_gas=IN_PROCESS_GAS_LIMIT,
            build_cache_dir=build_cache_dir,
            _tester=tester,
            _journal=journal,
            _journal_db=db,
            _state_dir=state_dir,
        )
        restored = gateway._load_deployment_file()
        if deploy and not restored:
            gateway.deploy(dev_mode=True, release_delay=release_delay)
        return gateway

    @classmethod
    def rpc(
        cls,
        url: str,
        operator_key: str,
        *,
        token_address: str | None = None,
        staking_address: str | None = None,
        dev_keys: Iterable[str] = (),
        receipt_timeout: float = 120.0,
        poll_interval: float = 1.0,
        request_timeout: float = 30.0,
        build_cache_dir: Path | None = None,
    ) -> ChainGateway:
        """A JSON-RPC node. ``operator_key`` comes from the environment, never from the repo."""
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": request_timeout}))
        gateway = cls(
            w3,
            backend="rpc",
            operator=Account.from_key(operator_key),
            dev_accounts=[Account.from_key(key) for key in dev_keys],
            receipt_timeout=receipt_timeout,
            poll_interval=poll_interval,
            build_cache_dir=build_cache_dir,
        )
        if token_address and staking_address:
            gateway.attach(token_address=token_address, staking_address=staking_address)
        elif token_address or staking_address:
            raise ChainError("pass both token_address and staking_address, or neither")
        return gateway

    # --- deployment ----------------------------------------------------------------------

    def _contract(self, name: str, address: str | None = None) -> Any:
        artifact = load_artifact(name, self._build_cache_dir)
        if address is None:
            return self._w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        return self._w3.eth.contract(address=to_checksum_address(address), abi=artifact.abi)

    def attach(self, *, token_address: str, staking_address: str) -> None:
        """Use contracts deployed earlier (addresses from settings or the database)."""
        self._token = self._contract("ArenaToken", token_address)
        self._staking = self._contract("ArenaStaking", staking_address)
        if not self._w3.eth.get_code(self._staking.address):
            raise ChainError(f"no contract at staking address {staking_address}")
        self._decoder = EventDecoder({"token": self._token, "staking": self._staking})
        self._deployment = {
            "chain_id": self.chain_id,
            "token": self._token.address,
            "staking": self._staking.address,
            "block": self._deployment["block"] if self._deployment else None,
        }

    def deploy(
        self,
        *,
        dev_mode: bool = True,
        initial_supply: int = 0,
        release_delay: int = DEFAULT_RELEASE_DELAY,
        token_name: str = "Arena Token",
        token_symbol: str = "ARENA",
    ) -> dict[str, Any]:
        """Deploy token + staking from the operator key (which becomes owner, operator, minter).

        Returns {chain_id, token, staking, block}. Production: ``dev_mode=False`` with the
        whole ``initial_supply`` minted to the operator.
        """
        token_factory = self._contract("ArenaToken")
        sent = self._sender.transact(
            self._operator,
            token_factory.constructor(token_name, token_symbol, initial_supply, dev_mode),
            label="deploy ArenaToken",
        )
        token_address = sent.receipt["contractAddress"]
        staking_factory = self._contract("ArenaStaking")
        sent = self._sender.transact(
            self._operator,
            staking_factory.constructor(token_address, self._operator.address, release_delay),
            label="deploy ArenaStaking",
        )
        self.attach(token_address=token_address, staking_address=sent.receipt["contractAddress"])
        self._deployment["block"] = int(sent.receipt["blockNumber"])
        self._save_deployment_file()
        return dict(self._deployment)

    def _save_deployment_file(self) -> None:
        if self._state_dir is None:
            return
        path = self._state_dir / DEPLOYMENT_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._deployment, indent=2))
        tmp.replace(path)

    def _load_deployment_file(self) -> bool:
        if self._state_dir is None:
            return False
        path = self._state_dir / DEPLOYMENT_FILE
        if not path.exists():
            return False
        data = json.loads(path.read_text())
        self._deployment = {"block": data.get("block")}
        self.attach(token_address=data["token"], staking_address=data["staking"])
        return True

    def _persist(self) -> None:
        if self._journal is not None:
            self._journal.flush(self._journal_db)

    @property
    def deployment(self) -> dict[str, Any] | None:
        """{chain_id, token, staking, block} once deployed or attached."""
        return dict(self._deployment) if self._deployment else None

    @property
    def operator(self) -> str:
        return self._operator.address

    @property
    def dev_accounts(self) -> list[str]:
        """Addresses whose keys the gateway holds besides the operator (dev chains only)."""
        return list(self._dev_accounts)

    @property
    def state_dir(self) -> Path | None:
        return self._state_dir

    def _require_contracts(self) -> tuple[Contract, Contract]:
        if self._token is None or self._staking is None:
            raise ChainError("contracts not deployed: call deploy() or attach() first")
        return self._token, self._staking

    def _account(self, address: str | None) -> LocalAccount:
        if address is None:
            return self._operator
        try:
            return self._accounts[to_checksum_address(address)]
        except KeyError:
            raise ChainError(f"the gateway holds no key for {address}") from None

    # --- chain reads ---------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return int(self._w3.eth.chain_id)

    def block_number(self) -> int:
        """Number of the latest mined block."""
        return int(self._w3.eth.block_number)

    def block_timestamp(self, block: int | None = None) -> int:
        return int(self._w3.eth.get_block("latest" if block is None else block)["timestamp"])

    def block_hash(self, block: int) -> str:
        """For reorg checks by the event indexer."""
        return _hex(self._w3.eth.get_block(block)["hash"])

    def ether_balance(self, address: str) -> int:
        return int(self._w3.eth.get_balance(to_checksum_address(address)))

    def _at(self, block: int | None) -> int | str:
        return "latest" if block is None else block

    def token_balance(self, address: str, *, block: int | None = None) -> int:
        token, _ = self._require_contracts()
        return int(
            token.functions.balanceOf(to_checksum_address(address)).call(
                block_identifier=self._at(block)
            )
        )

    def token_total_supply(self, *, block: int | None = None) -> int:
        token, _ = self._require_contracts()
        return int(token.functions.totalSupply().call(block_identifier=self._at(block)))

    def token_mintable(self) -> bool:
        """Whether the token was deployed in dev mode (minters may mint); a production
        token's supply was fixed in its constructor, immutably."""
        token, _ = self._require_contracts()
        return bool(token.functions.dev_mode().call())

    def stake_of(self, model_id: int, *, block: int | None = None) -> int:
        """The model's stake (excluding any amount waiting for release) at ``block``."""
        _, staking = self._require_contracts()
        return int(staking.functions.stake_of(model_id).call(block_identifier=self._at(block)))

    def stake_at_risk(self, model_id: int, round_id: int, *, block: int | None = None) -> int:
        """What round `round_id` of the model's tournament may burn of it at ``block``: its
        stake plus any unbonding that waits for that round."""
        _, staking = self._require_contracts()
        return int(staking.functions.stake_at_risk(model_id, round_id).call(block_identifier=self._at(block)))

    def model(self, model_id: int, *, block: int | None = None) -> dict[str, Any]:
        """{owner, tournament_id, stake, unbonding, unbonding_since, unbonding_waits_for}."""
        _, staking = self._require_contracts()
        fn = staking.functions.models(model_id)
        return _record(fn.abi["outputs"], fn.call(block_identifier=self._at(block)))

    def tournament(self, tournament_id: int, *, block: int | None = None) -> dict[str, Any]:
        """{guardian, challenge_window, pool, rounds_closed (rounds opened so far: ordinals
        handed out), rounds_settled}."""
        _, staking = self._require_contracts()
        fn = staking.functions.tournaments(tournament_id)
        return _record(fn.abi["outputs"], fn.call(block_identifier=self._at(block)))

    def pool_of(self, tournament_id: int, *, block: int | None = None) -> int:
        _, staking = self._require_contracts()
        return int(staking.functions.pool_of(tournament_id).call(block_identifier=self._at(block)))

    def round_state(
        self, tournament_id: int, round_id: int, *, block: int | None = None
    ) -> dict[str, Any]:
        """The round's on-chain record, plus ``status_name`` (see SETTLEMENT_STATUSES)."""
        _, staking = self._require_contracts()
        fn = staking.functions.rounds(tournament_id, round_id)
        record = _record(fn.abi["outputs"], fn.call(block_identifier=self._at(block)))
        record["status_name"] = SETTLEMENT_STATUSES[record["status"]]
        return record

    def is_applied(
        self, tournament_id: int, round_id: int, model_id: int, *, block: int | None = None
    ) -> bool:
        _, staking = self._require_contracts()
        return bool(
            staking.functions.is_applied(tournament_id, round_id, model_id).call(
                block_identifier=self._at(block)
            )
        )

    def can_release(self, model_id: int) -> bool:
        _, staking = self._require_contracts()
        return bool(staking.functions.can_release(model_id).call())

    def settlement_leaf_hash(self, leaf: SettlementLeaf) -> bytes:
        """The contract's own leaf hash (to cross-check core/merkle.py)."""
        _, staking = self._require_contracts()
        return bytes(
            staking.functions.settlement_leaf_hash(
                leaf.tournament_id,
                leaf.round_id,
                leaf.model_id,
                leaf.owner,
                leaf.stake_at_risk,
                leaf.delta,
            ).call()
        )

    def verify_settlement_leaf(self, leaf: SettlementLeaf, proof: Sequence[bytes]) -> bool:
        """Does the contract accept ``proof`` for ``leaf`` against the round's proposed root?"""
        _, staking = self._require_contracts()
        return bool(
            staking.functions.verify_settlement_leaf(
                leaf.tournament_id,
                leaf.round_id,
                leaf.model_id,
                leaf.owner,
                leaf.stake_at_risk,
                leaf.delta,
                list(proof),
            ).call()
        )

    def verify_commitment(
        self, tournament_id: int, round_id: int, submission_hash: bytes, proof: Sequence[bytes]
    ) -> bool:
        _, staking = self._require_contracts()
        return bool(
            staking.functions.verify_commitment(
                tournament_id, round_id, submission_hash, list(proof)
            ).call()
        )

    # --- transactions --------------------------------------------------------------------

    def _send(
        self, sender: str | None, call: Any, *, label: str, already_done: Any = None
    ) -> TxResult:
        sent = self._sender.transact(
            self._account(sender), call, label=label, already_done=already_done
        )
        if sent.receipt is None:
            return TxResult(sent=False)
        receipt = sent.receipt
        assert self._decoder is not None
        return TxResult(
            sent=True,
            tx_hash=_hex(receipt["transactionHash"]),
            block=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=self._decoder.decode_all(receipt["logs"]),
        )

    def receipt(self, tx_hash: str | bytes) -> dict[str, Any] | None:
        """{tx_hash, block, status, gas_used, events} of a mined transaction, None if unknown."""
        self._require_contracts()
        raw = bytes.fromhex(tx_hash[2:]) if isinstance(tx_hash, str) else tx_hash
        receipt = self._sender.fetch_receipt(raw)
        if receipt is None:
            return None
        assert self._decoder is not None
        return {
            "tx_hash": _hex(receipt["transactionHash"]),
            "block": int(receipt["blockNumber"]),
            "status": int(receipt["status"]),
            "gas_used": int(receipt["gasUsed"]),
            "events": self._decoder.decode_all(receipt["logs"]),
        }

    # operator ---------------------------------------------------------------------------

    def register_tournament(
        self, *, tournament_id: int, guardian: str, challenge_window: int
    ) -> TxResult:
        _, staking = self._require_contracts()
        guardian = to_checksum_address(guardian)

        def done() -> bool:
            current = self.tournament(tournament_id)["guardian"]
            if current == guardian:
                return True
            if int(current, 16):
                raise ChainError(
                    f"tournament {tournament_id} is registered with guardian {current}"
                )
            return False

        return self._send(
            None,
            staking.functions.register_tournament(tournament_id, guardian, challenge_window),
            label=f"register tournament {tournament_id}",
            already_done=done,
        )

    def register_model(self, *, model_id: int, tournament_id: int, owner: str) -> TxResult:
        _, staking = self._require_contracts()
        owner = to_checksum_address(owner)

        def done() -> bool:
            current = self.model(model_id)
            if int(current["owner"], 16) == 0:
                return False
            if (current["owner"], current["tournament_id"]) == (owner, tournament_id):
                return True
            raise ChainError(
                f"model {model_id} is registered to {current['owner']} in tournament {current['tournament_id']}"
            )

        return self._send(
            None,
            staking.functions.register_model(model_id, tournament_id, owner),
            label=f"register model {model_id}",
            already_done=done,
        )

    def open_round(self, *, tournament_id: int, round_id: int) -> TxResult:
        """Open the round on-chain (its ordinal for the release lock). Sends nothing if it
        is open already."""
        _, staking = self._require_contracts()
        return self._send(
            None,
            staking.functions.open_round(tournament_id, round_id),
            label=f"open round {tournament_id}/{round_id}",
            already_done=lambda: self.round_state(tournament_id, round_id)["opened_at"] != 0,
        )

    def post_commitments_root(
        self, *, tournament_id: int, round_id: int, root: bytes, submission_count: int
    ) -> TxResult:
        """Close the round on-chain. Sends nothing if this root is already posted; raises
        ChainError if a different one is."""
        _, staking = self._require_contracts()

        def done() -> bool:
            state = self.round_state(tournament_id, round_id)
            if not state["closed"]:
                return False
            if state["commitments_root"] == _hex(root):
                return True
            raise ChainError(
                f"round {tournament_id}/{round_id} already has commitments root {state['commitments_root']}"
            )

        return self._send(
            None,
            staking.functions.post_commitments_root(
                tournament_id, round_id, root, submission_count
            ),
            label=f"post commitments root {tournament_id}/{round_id}",
            already_done=done,
        )

    def propose_settlement(
        self,
        *,
        tournament_id: int,
        round_id: int,
        root: bytes,
        leaf_count: int,
        total_rewards: int,
        total_burns: int,
    ) -> TxResult:
        """Propose the round's settlement root. Sends nothing if this root is already
        proposed or final; raises ChainError if another root is pending or final."""
        _, staking = self._require_contracts()

        def done() -> bool:
            state = self.round_state(tournament_id, round_id)
            if state["status_name"] in ("none", "vetoed"):
                return False
            if state["settlement_root"] == _hex(root):
                return True
            raise ChainError(
                f"round {tournament_id}/{round_id} has settlement root {state['settlement_root']}"
                f" in status {state['status_name']}"
            )

        return self._send(
            None,
            staking.functions.propose_settlement(
                tournament_id, round_id, root, leaf_count, total_rewards, total_burns
            ),
            label=f"propose settlement {tournament_id}/{round_id}",
            already_done=done,
        )

    # anyone -----------------------------------------------------------------------------

    def finalize_settlement(
        self, *, tournament_id: int, round_id: int, sender: str | None = None
    ) -> TxResult:
        _, staking = self._require_contracts()

        def done() -> bool:
            return self.round_state(tournament_id, round_id)["status_name"] in (
                "finalized",
                "completed",
            )

        return self._send(
            sender,
            staking.functions.finalize_settlement(tournament_id, round_id),
            label=f"finalize settlement {tournament_id}/{round_id}",
            already_done=done,
        )

    def abandon_round(
        self, *, tournament_id: int, round_id: int, sender: str | None = None
    ) -> TxResult:
        """Give up on a round still unsettled 90 days after its close (unlocks releases)."""
        _, staking = self._require_contracts()

        def done() -> bool:
            return self.round_state(tournament_id, round_id)["status_name"] == "abandoned"

        return self._send(
            sender,
            staking.functions.abandon_round(tournament_id, round_id),
            label=f"abandon round {tournament_id}/{round_id}",
            already_done=done,
        )

    def apply_leaves(
        self,
        *,
        tournament_id: int,
        round_id: int,
        leaves: Sequence[tuple[SettlementLeaf, Sequence[bytes]]],
        sender: str | None = None,
    ) -> TxResult:
        """Apply one batch (≤ 128) of a finalized round's leaves with their proofs.

        Leaves already applied on-chain (by this gateway earlier or by anyone) are dropped
        before sending and again before any resend; if none remain nothing is sent.
        """
        _, staking = self._require_contracts()
        for leaf, _proof in leaves:
            if (leaf.tournament_id, leaf.round_id) != (tournament_id, round_id):
                raise ValueError(f"leaf of model {leaf.model_id} belongs to another round")
        pending = list(leaves)

        def done() -> bool:
            pending[:] = [
                (leaf, proof)
                for leaf, proof in pending
                if not self.is_applied(tournament_id, round_id, leaf.model_id)
            ]
            return not pending

        if done():
            return TxResult(sent=False)
        call = staking.functions.apply_leaves(
            tournament_id,
            round_id,
            [
                (leaf.model_id, leaf.owner, leaf.stake_at_risk, leaf.delta, list(proof))
                for leaf, proof in pending
            ],
        )
        return self._send(
            sender,
            call,
            label=f"apply {len(pending)} leaves {tournament_id}/{round_id}",
            already_done=lambda: all(
                self.is_applied(tournament_id, round_id, leaf.model_id) for leaf, _ in pending
            ),
        )

    def apply_settlement(
        self, settlement: Settlement, *, batch_size: int = 100, sender: str | None = None
    ) -> list[TxResult]:
        """Apply every leaf of a finalized settlement, batch by batch (resumable)."""
        return [
            self.apply_leaves(
                tournament_id=settlement.tournament_id,
                round_id=settlement.round_id,
                leaves=batch,
                sender=sender,
            )
            for batch in settlement.batches(batch_size)
        ]

    def fund(self, *, tournament_id: int, amount: int, sender: str | None = None) -> TxResult:
        """Approve (if needed) and add ``amount`` to the tournament's reward pool."""
        _, staking = self._require_contracts()
        self._ensure_allowance(sender, amount)
        return self._send(
            sender,
            staking.functions.fund(tournament_id, amount),
            label=f"fund tournament {tournament_id}",
        )

    # guardian ---------------------------------------------------------------------------

    def veto_settlement(
        self, *, tournament_id: int, round_id: int, reason: str, sender: str
    ) -> TxResult:
        _, staking = self._require_contracts()

        def done() -> bool:
            return self.round_state(tournament_id, round_id)["status_name"] == "vetoed"

        return self._send(
            sender,
            staking.functions.veto_settlement(tournament_id, round_id, reason[:100]),
            label=f"veto settlement {tournament_id}/{round_id}",
            already_done=done,
        )

    def set_challenge_window(self, *, tournament_id: int, seconds: int, sender: str) -> TxResult:
        _, staking = self._require_contracts()
        return self._send(
            sender,
            staking.functions.set_challenge_window(tournament_id, seconds),
            label=f"set challenge window {tournament_id}",
            already_done=lambda: self.tournament(tournament_id)["challenge_window"] == seconds,
        )

    # token holders / model owners -------------------------------------------------------

    def mint(self, *, to: str, amount: int) -> TxResult:
        """Dev deployments only: the operator (deployer) holds the minter role."""
        token, _ = self._require_contracts()
        return self._send(None, token.functions.mint(to_checksum_address(to), amount), label="mint")

    def approve(
        self, *, amount: int, sender: str | None = None, spender: str | None = None
    ) -> TxResult:
        token, staking = self._require_contracts()
        spender = to_checksum_address(spender) if spender else staking.address
        return self._send(sender, token.functions.approve(spender, amount), label="approve")

    def _ensure_allowance(self, sender: str | None, amount: int) -> None:
        token, staking = self._require_contracts()
        owner = self._account(sender).address
        if token.functions.allowance(owner, staking.address).call() < amount:
            self.approve(amount=amount, sender=owner)

    def stake(self, *, model_id: int, amount: int, sender: str) -> TxResult:
        """Approve (if needed) and stake ``amount`` on ``model_id`` from its owner ``sender``."""
        _, staking = self._require_contracts()
        self._ensure_allowance(sender, amount)
        return self._send(
            sender, staking.functions.stake(model_id, amount), label=f"stake on model {model_id}"
        )

    def request_release(self, *, model_id: int, amount: int, sender: str) -> TxResult:
        _, staking = self._require_contracts()
        return self._send(
            sender,
            staking.functions.request_release(model_id, amount),
            label=f"request release {model_id}",
        )

    def release(self, *, model_id: int, sender: str) -> TxResult:
        _, staking = self._require_contracts()
        return self._send(sender, staking.functions.release(model_id), label=f"release {model_id}")

    # --- events --------------------------------------------------------------------------

    def events(
        self,
        from_block: int,
        to_block: int | None = None,
        *,
        names: Iterable[str] | None = None,
        contracts: Iterable[str] = ("token", "staking"),
        max_range: int = 2_000,
    ) -> list[dict[str, Any]]:
        """Decoded logs in [from_block, to_block] (default: latest), oldest first.

        Each is {contract, name, args, block, block_hash, tx_hash, log_index}; ``args`` holds
        ints, checksummed addresses and 0x-hex strings.
        """
        token, staking = self._require_contracts()
        assert self._decoder is not None
        wanted = set(contracts)
        addresses = [
            c.address for label, c in (("token", token), ("staking", staking)) if label in wanted
        ]
        end = self.block_number() if to_block is None else to_block
        return fetch_events(
            self._w3,
            self._decoder,
            from_block,
            end,
            addresses=addresses,
            names=set(names) if names is not None else None,
            max_range=max_range,
        )

    # --- dev chains ----------------------------------------------------------------------

    def advance_time(self, seconds: int) -> int:
        """Move the dev chain's clock forward and mine a block; returns the new timestamp."""
        if self._tester is not None:
            target = self.block_timestamp() + seconds
            pending = int(self._tester.get_block_by_number("pending")["timestamp"])
            # eth-tester mines the travelled-to block one second before the requested time.
            self._tester.time_travel(max(target + 1, pending + 1))
            self._persist()
            return self.block_timestamp()
        try:
            self._w3.provider.make_request("evm_increaseTime", [seconds])
            self._w3.provider.make_request("evm_mine", [])
        except Exception as exc:  # a production node has no such methods
            raise ChainError(f"this node cannot move time: {exc}") from exc
        return self.block_timestamp()

    def send_ether(self, *, to: str, amount: int, sender: str | None = None) -> TxResult:
        """Pay gas money to an account (e.g. a freshly made demo wallet on a dev chain)."""
        return self._send(
            sender, _EtherTransfer(to_checksum_address(to), amount), label=f"send ether to {to}"
        )

    def add_account(self, private_key: str) -> str:
        """Let the gateway sign for one more key (e.g. a demo modeler's); returns its address."""
        account = Account.from_key(private_key)
        self._accounts[account.address] = account
        return account.address

    # --- extension hook for sibling chain modules ----------------------------------------
    # chain/dex/gateway.py (exchange, vault) and chain/dex/reader.py drive contracts this class does
    # not know. They use these two members only, so they share this gateway's node
    # connection, keys, nonce counter, journaling and retry rules rather than opening a
    # second door to the chain. Nothing outside chain/ may call them.

    @property
    def web3(self) -> Web3:
        """The connected Web3 instance, to build contract objects and read (chain/ only)."""
        return self._w3

    def send_contract_call(
        self, call: Any, *, label: str, sender: str | None = None, already_done: Any = None
    ) -> Any | None:
        """Send a web3 contract call or constructor like every write of this gateway.

        Returns the mined receipt, or None when ``already_done()`` reported the work done
        (checked before sending and before any resend). Raises ChainRevert, ChainTimeout.
        """
        return self._sender.transact(
            self._account(sender), call, label=label, already_done=already_done
        ).receipt
