"""A deployed token + staking contract on titanoboa's in-memory EVM, with named actors.

Used by the contract unit tests; amounts are plain base units so the arithmetic in the
assertions stays readable.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import boa

from chain.artifacts import CONTRACTS_DIR
from chain.settlement import Payout, Settlement, SettlementLeaf, build_commitments, build_settlement

TOURNAMENT = 7
OTHER_TOURNAMENT = 8
WINDOW = 3600
RELEASE_DELAY = 7 * 86400
STAKE = 1_000
POOL = 500
MINTED = 10_000

(
    STATUS_NONE,
    STATUS_PROPOSED,
    STATUS_VETOED,
    STATUS_FINALIZED,
    STATUS_COMPLETED,
    STATUS_ABANDONED,
) = range(6)
ABANDON_AFTER = 90 * 86400

_deployers: dict[str, Any] = {}

# boa's on-disk compile cache (~/.cache/titanoboa) pickles compiler objects; once Django's
# settings import daphne, twisted's pickle hooks make such pickles unloadable in the next
# run. A throw-away directory per session sidesteps that (boa 0.2.8 misses source maps with
# the cache fully disabled), and `deployer` compiles each contract only once anyway.
boa.interpret.set_cache_dir(tempfile.mkdtemp(prefix="arena-boa-"))


def deployer(name: str) -> Any:
    """Compile once per test session; each test deploys fresh instances."""
    if name not in _deployers:
        _deployers[name] = boa.load_partial(str(CONTRACTS_DIR / f"{name}.vy"))
    return _deployers[name]


def leaf_input(leaf: SettlementLeaf, proof: Sequence[bytes]) -> tuple:
    return (leaf.model_id, leaf.owner, leaf.stake_at_risk, leaf.delta, list(proof))


def event_names(contract: Any) -> list[str]:
    return [type(event).__name__ for event in contract.get_logs()]


@dataclass
class World:
    token: Any
    staking: Any
    owner: str
    operator: str
    guardian: str
    sponsor: str
    alice: str
    bob: str
    carol: str
    outsider: str
    models: dict[int, str] = field(default_factory=dict)

    # --- actions as the right actor ------------------------------------------------------

    def stake(self, model_id: int, amount: int) -> None:
        with boa.env.prank(self.models[model_id]):
            self.staking.stake(model_id, amount)

    def request_release(self, model_id: int, amount: int) -> None:
        with boa.env.prank(self.models[model_id]):
            self.staking.request_release(model_id, amount)

    def release(self, model_id: int) -> None:
        with boa.env.prank(self.models[model_id]):
            self.staking.release(model_id)

    def open(self, round_id: int, tournament: int = TOURNAMENT) -> None:
        with boa.env.prank(self.operator):
            self.staking.open_round(tournament, round_id)

    def close(
        self, round_id: int, hashes: Iterable[bytes] = (), tournament: int = TOURNAMENT
    ) -> None:
        commitments = build_commitments(hashes)
        with boa.env.prank(self.operator):
            self.staking.post_commitments_root(
                tournament, round_id, commitments.root, commitments.count
            )

    def build(
        self, round_id: int, deltas: dict[int, int], tournament: int = TOURNAMENT
    ) -> Settlement:
        """Settlement where each model risks its current stake (plus unbonding)."""
        payouts = []
        for model_id, delta in deltas.items():
            model = self.staking.models(model_id)
            payouts.append(
                Payout(
                    model_id=model_id,
                    owner=self.models[model_id],
                    stake_at_risk=model.stake + model.unbonding,
                    delta=delta,
                )
            )
        return build_settlement(tournament_id=tournament, round_id=round_id, payouts=payouts)

    def propose(self, settlement: Settlement, **overrides: int) -> None:
        args = {
            "leaf_count": settlement.leaf_count,
            "total_rewards": settlement.total_rewards,
            "total_burns": settlement.total_burns,
        } | overrides
        with boa.env.prank(self.operator):
            self.staking.propose_settlement(
                settlement.tournament_id,
                settlement.round_id,
                settlement.root,
                args["leaf_count"],
                args["total_rewards"],
                args["total_burns"],
            )

    def finalize_after_window(self, settlement: Settlement) -> None:
        boa.env.time_travel(seconds=WINDOW)
        self.staking.finalize_settlement(settlement.tournament_id, settlement.round_id)

    def apply(self, settlement: Settlement, model_ids: Iterable[int] | None = None) -> None:
        wanted = None if model_ids is None else list(model_ids)
        items = [
            leaf_input(leaf, proof)
            for leaf, proof in settlement.leaves_with_proofs()
            if wanted is None or leaf.model_id in wanted
        ]
        self.staking.apply_leaves(settlement.tournament_id, settlement.round_id, items)

    def settle(
        self, round_id: int, deltas: dict[int, int], tournament: int = TOURNAMENT
    ) -> Settlement:
        """Close (if needed), propose, wait out the window, finalize and apply every leaf."""
        if not self.staking.rounds(tournament, round_id).closed:
            self.close(round_id, tournament=tournament)
        settlement = self.build(round_id, deltas, tournament=tournament)
        self.propose(settlement)
        self.finalize_after_window(settlement)
        if settlement.leaf_count:
            self.apply(settlement)
        return settlement


def make_world(release_delay: int = RELEASE_DELAY) -> World:
    owner = boa.env.eoa
    actors = {
        name: boa.env.generate_address(name)
        for name in ("operator", "guardian", "sponsor", "alice", "bob", "carol", "outsider")
    }
    token = deployer("ArenaToken").deploy("Arena Token", "ARENA", 0, True)
    staking = deployer("ArenaStaking").deploy(token.address, actors["operator"], release_delay)
    world = World(token=token, staking=staking, owner=owner, **actors)
    with boa.env.prank(world.operator):
        staking.register_tournament(TOURNAMENT, world.guardian, WINDOW)
        staking.register_tournament(OTHER_TOURNAMENT, world.guardian, WINDOW)
        staking.register_model(1, TOURNAMENT, world.alice)
        staking.register_model(2, TOURNAMENT, world.bob)
        staking.register_model(3, TOURNAMENT, world.carol)
        staking.register_model(9, OTHER_TOURNAMENT, world.carol)
    world.models = {1: world.alice, 2: world.bob, 3: world.carol, 9: world.carol}
    for account in (world.alice, world.bob, world.carol, world.sponsor):
        token.mint(account, MINTED)
        with boa.env.prank(account):
            token.approve(staking.address, 2**256 - 1)
    for model_id in (1, 2, 3):
        world.stake(model_id, STAKE)
    with boa.env.prank(world.sponsor):
        staking.fund(TOURNAMENT, POOL)
    return world
