"""The embedded chain's log index answers every log query exactly as eth-tester's own scan.

The index (chain/_indexed_backend.py) reads py-evm's receipts and reuses eth-tester's filter
function and normalizer; this test fails if any of those changes what a query returns.
"""

import pytest
from eth_tester import EthereumTester
from eth_utils import keccak

from chain.gateway import ChainGateway

TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
APPROVAL = "0x" + keccak(text="Approval(address,address,uint256)").hex()


@pytest.fixture(scope="module")
def busy_chain():
    gateway = ChainGateway.in_process()
    alice, bob = gateway.dev_accounts[:2]
    for amount in (5, 7, 11):
        gateway.mint(to=alice, amount=amount * 10**18)
        gateway.approve(amount=amount, sender=alice)
    gateway.mint(to=bob, amount=3)
    tester = gateway._w3.provider.ethereum_tester  # the gateway's own node, as built
    return gateway, tester


def _topic(address: str) -> str:
    return "0x" + "0" * 24 + address[2:].lower()


def _queries(gateway: ChainGateway) -> list[dict]:
    token = gateway.deployment["token"]
    staking = gateway.deployment["staking"]
    alice, bob = gateway.dev_accounts[:2]
    return [
        {},
        {"from_block": 0, "to_block": "latest"},
        {"from_block": 0, "to_block": "latest", "address": token},
        {"from_block": 0, "to_block": "latest", "address": [token, staking]},
        {"from_block": 0, "to_block": "latest", "topics": [TRANSFER]},
        {"from_block": 0, "to_block": "latest", "topics": [[TRANSFER, APPROVAL]]},
        {"from_block": 0, "to_block": "latest", "topics": [TRANSFER, None, _topic(bob)]},
        {"from_block": 0, "to_block": "latest", "topics": [APPROVAL, _topic(alice)]},
        {"from_block": 3, "to_block": 5, "address": token},
        {"from_block": "earliest", "to_block": "latest", "address": staking},
    ]


def test_every_query_matches_eth_testers_own_scan(busy_chain):
    gateway, tester = busy_chain
    answers = [tester.get_logs(**query) for query in _queries(gateway)]
    assert answers == [EthereumTester.get_logs(tester, **query) for query in _queries(gateway)]
    transfers = tester.get_logs(from_block=0, to_block="latest", topics=[TRANSFER])
    assert len(transfers) == 4  # the four mints
    assert len(tester.get_logs(from_block=0, to_block="latest", topics=[APPROVAL])) == 3


def test_blocks_mined_after_a_query_are_indexed_on_the_next(busy_chain):
    gateway, tester = busy_chain
    before = len(tester.get_logs(from_block=0, to_block="latest", topics=[TRANSFER]))
    gateway.mint(to=gateway.dev_accounts[2], amount=1)
    after = tester.get_logs(from_block=0, to_block="latest", topics=[TRANSFER])
    assert len(after) == before + 1
    assert after == EthereumTester.get_logs(
        tester, from_block=0, to_block="latest", topics=[TRANSFER]
    )


def test_a_reverted_snapshot_drops_the_logs_it_undid(busy_chain):
    gateway, tester = busy_chain
    snapshot = tester.take_snapshot()
    count = len(tester.get_logs(from_block=0, to_block="latest"))
    gateway.mint(to=gateway.dev_accounts[3], amount=1)
    assert len(tester.get_logs(from_block=0, to_block="latest")) == count + 1
    tester.revert_to_snapshot(snapshot)
    assert len(tester.get_logs(from_block=0, to_block="latest")) == count
    # A different block at the same height (from an account the gateway has not used yet:
    # it counts the operator's nonces itself, and the revert undid one).
    gateway.approve(amount=2, sender=gateway.dev_accounts[5])
    answer = tester.get_logs(from_block=0, to_block="latest")
    assert answer == EthereumTester.get_logs(tester, from_block=0, to_block="latest")
    assert len(answer) == count + 1
