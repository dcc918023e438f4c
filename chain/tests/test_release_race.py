"""The release race, on a real anvil node: a release sent in the same block as a round's close
(its commitments post) does not escape that round's burn.

The round is opened on-chain when it opens for submissions (`open_round`), so the release —
mined in the very block that closes the round, before the close — waits for the round; the
stake at risk read at that block still holds the released amount, and the burn takes it from
the unbonding amount without a shortfall. With automine off both transactions sit in the
mempool and one `evm_mine` puts them in one block."""

import threading
import time

import pytest
from eth_account import Account

from chain.anvil import AnvilNotInstalled, anvil_binary, rpc_request, start_anvil
from chain.artifacts import load_artifact
from chain.gateway import ChainGateway, ChainRevert
from chain.settlement import Payout, build_commitments, build_settlement

pytestmark = pytest.mark.anvil

TOURNAMENT, MODEL, ROUND = 7, 70, 1
STAKE = 1_000
BURN = 600
POOL = 500
WINDOW = 60
RELEASE_DELAY = 3_600


@pytest.fixture
def node():
    try:
        anvil_binary()
    except AnvilNotInstalled as exc:
        pytest.skip(f"anvil not installed: {exc}")
    with start_anvil() as node:
        yield node


def _pending_count(url: str) -> int:
    block = rpc_request(url, "eth_getBlockByNumber", ["pending", False])
    return len(block["transactions"]) if block else 0


def test_a_release_in_the_same_block_as_the_close_does_not_escape_the_burn(node):
    gateway = ChainGateway.rpc(
        node.url,
        node.private_keys[0],
        dev_keys=node.private_keys[1:],
        receipt_timeout=30.0,
        poll_interval=0.02,
    )
    gateway.deploy(release_delay=RELEASE_DELAY)
    guardian, sponsor, owner = gateway.dev_accounts[:3]
    owner_key = node.private_keys[3]
    assert Account.from_key(owner_key).address == owner
    gateway.register_tournament(
        tournament_id=TOURNAMENT, guardian=guardian, challenge_window=WINDOW
    )
    gateway.register_model(model_id=MODEL, tournament_id=TOURNAMENT, owner=owner)
    gateway.mint(to=owner, amount=STAKE)
    gateway.stake(model_id=MODEL, amount=STAKE, sender=owner)
    gateway.mint(to=sponsor, amount=POOL)
    gateway.fund(tournament_id=TOURNAMENT, amount=POOL, sender=sponsor)
    gateway.open_round(tournament_id=TOURNAMENT, round_id=ROUND)  # as the round opens

    # The owner's release, signed and sent by the owner's own wallet, not mined yet.
    rpc_request(node.url, "evm_setAutomine", [False])
    w3 = gateway.web3
    staking = w3.eth.contract(
        address=gateway.deployment["staking"], abi=load_artifact("ArenaStaking").abi
    )
    release_tx = staking.functions.request_release(MODEL, STAKE).build_transaction(
        {
            "from": owner,
            "nonce": w3.eth.get_transaction_count(owner),
            "gas": 200_000,
            "chainId": gateway.chain_id,
        }
    )
    release_hash = w3.eth.send_raw_transaction(
        Account.sign_transaction(release_tx, owner_key).raw_transaction
    )
    # The platform's close, which waits for its receipt: sent from another thread.
    commitments = build_commitments([bytes([9]) * 32])
    posted = {}
    poster = threading.Thread(
        target=lambda: posted.update(
            result=gateway.post_commitments_root(
                tournament_id=TOURNAMENT,
                round_id=ROUND,
                root=commitments.root,
                submission_count=commitments.count,
            )
        )
    )
    poster.start()
    deadline = time.monotonic() + 20
    while _pending_count(node.url) < 2:
        assert time.monotonic() < deadline, "the close never reached the mempool"
        time.sleep(0.02)
    rpc_request(node.url, "evm_mine", [])
    rpc_request(node.url, "evm_setAutomine", [True])
    poster.join(timeout=30)
    close_block = posted["result"].block
    release_block = int(w3.eth.get_transaction_receipt(release_hash)["blockNumber"])
    assert release_block == close_block  # the race: one block

    # The release waits for the round, and the round may still burn all of it.
    model = gateway.model(MODEL)
    assert (model["stake"], model["unbonding"], model["unbonding_waits_for"]) == (0, STAKE, 1)
    assert gateway.stake_of(MODEL, block=close_block) == 0  # what a stake-only snapshot would see
    at_risk = gateway.stake_at_risk(MODEL, ROUND, block=close_block)
    assert at_risk == STAKE
    gateway.advance_time(RELEASE_DELAY)
    with pytest.raises(ChainRevert, match="stake locked"):
        gateway.release(model_id=MODEL, sender=owner)

    settlement = build_settlement(
        tournament_id=TOURNAMENT,
        round_id=ROUND,
        payouts=[Payout(model_id=MODEL, owner=owner, stake_at_risk=at_risk, delta=-BURN)],
    )
    gateway.propose_settlement(
        tournament_id=TOURNAMENT,
        round_id=ROUND,
        root=settlement.root,
        leaf_count=settlement.leaf_count,
        total_rewards=settlement.total_rewards,
        total_burns=settlement.total_burns,
    )
    gateway.advance_time(WINDOW)
    gateway.finalize_settlement(tournament_id=TOURNAMENT, round_id=ROUND)
    [applied] = gateway.apply_settlement(settlement)
    names = [e["name"] for e in applied.events]
    assert "BurnShortfall" not in names
    [leaf] = [e["args"] for e in applied.events if e["name"] == "LeafApplied"]
    assert (leaf["burned"], leaf["stake"], leaf["unbonding"]) == (BURN, 0, STAKE - BURN)
    balance = gateway.token_balance(owner)
    gateway.release(model_id=MODEL, sender=owner)
    assert gateway.token_balance(owner) == balance + STAKE - BURN
