"""`manage.py chain deploy` deploys the non-mintable token unless told the node is a dev
chain (--dev-chain, or CHAIN_DEV=1 on the RPC chain): its whole --initial-supply goes to
the operator once and minting is closed for good. The deploys run on a real anvil node."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from eth_utils import to_checksum_address

from chain.gateway import ChainGateway, ChainRevert

SUPPLY = 10**24  # a million tokens of 18 decimals
REFUSAL = (
    "chain deploy deploys the non-mintable token, whose whole supply is minted once to the "
    "operator: pass --initial-supply N (base units, 18 decimals). On a development node "
    "(anvil) pass --dev-chain for the mintable test token."
)


@pytest.fixture
def rpc_settings(settings):
    settings.ARENA_CHAIN = "rpc"
    settings.CHAIN_DEV = False
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens: refusals come first
    settings.CHAIN_OPERATOR_KEY = "0x" + "11" * 32
    return settings


@pytest.fixture(scope="module")
def node():
    from chain.anvil import AnvilNotInstalled, anvil_binary, start_anvil

    try:
        anvil_binary()
    except AnvilNotInstalled as exc:
        pytest.skip(f"anvil suite skipped: {exc}")
    with start_anvil(accounts=2) as node:
        yield node


@pytest.fixture
def on_anvil(rpc_settings, node):
    rpc_settings.CHAIN_RPC_URL = node.url
    rpc_settings.CHAIN_OPERATOR_KEY = node.private_keys[0]
    rpc_settings.CHAIN_POLL_INTERVAL = 0.05
    return rpc_settings


def deploy(*args: str) -> dict:
    out = StringIO()
    call_command("chain", "deploy", "--json", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def attach(node, deployment: dict) -> ChainGateway:
    return ChainGateway.rpc(
        node.url, node.private_keys[0], token_address=deployment["token"],
        staking_address=deployment["staking"], poll_interval=0.05,
    )


def test_without_a_supply_and_without_being_told_dev_it_refuses(rpc_settings):
    with pytest.raises(CommandError) as refused:
        call_command("chain", "deploy")
    assert str(refused.value) == REFUSAL


def test_chain_dev_counts_only_for_the_rpc_chain_it_deploys_to(rpc_settings):
    # CHAIN_DEV is on by default for the embedded chain; that says nothing about the node.
    rpc_settings.ARENA_CHAIN = "embedded"
    rpc_settings.CHAIN_DEV = True
    with pytest.raises(CommandError) as refused:
        call_command("chain", "deploy")
    assert str(refused.value) == REFUSAL


def test_a_negative_supply_is_refused(rpc_settings):
    with pytest.raises(CommandError, match="^--initial-supply must not be negative$"):
        call_command("chain", "deploy", "--initial-supply", "-1")


@pytest.mark.anvil
def test_by_default_the_token_has_a_fixed_supply_and_cannot_mint(on_anvil, node):
    deployment = deploy("--initial-supply", str(SUPPLY))
    assert deployment["token_mintable"] is False
    assert deployment["token_supply"] == str(SUPPLY)
    assert deployment["chain_id"] == 31337  # anvil's id does not make it a dev deployment
    gateway = attach(node, deployment)
    assert gateway.token_mintable() is False
    assert gateway.token_balance(gateway.operator) == SUPPLY
    with pytest.raises(ChainRevert, match="ArenaToken: minting is disabled on this deployment"):
        gateway.mint(to=node.accounts[1], amount=1)
    assert gateway.token_total_supply() == SUPPLY


@pytest.mark.anvil
def test_the_text_output_says_the_supply_is_fixed(on_anvil, node):
    out = StringIO()
    call_command("chain", "deploy", "--initial-supply", "5", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("CHAIN_TOKEN_ADDRESS=0x") and lines[1].startswith("CHAIN_STAKING_ADDRESS=0x")
    assert lines[3] == (
        f"# token: fixed supply of 5 base units, all with the operator {to_checksum_address(node.accounts[0])}; "
        "minting is closed for good"
    )


@pytest.mark.anvil
@pytest.mark.parametrize("told", ["--dev-chain", "CHAIN_DEV=1"])
def test_told_it_is_a_dev_chain_it_deploys_the_mintable_test_token(on_anvil, node, told):
    if told == "CHAIN_DEV=1":
        on_anvil.CHAIN_DEV = True
        deployment = deploy()
    else:
        deployment = deploy("--dev-chain")
    assert deployment["token_mintable"] is True
    assert deployment["token_supply"] == "0"
    gateway = attach(node, deployment)
    gateway.mint(to=node.accounts[1], amount=7)
    assert gateway.token_balance(node.accounts[1]) == 7


@pytest.mark.anvil
def test_the_dev_token_text_output_warns(on_anvil, node):
    out = StringIO()
    call_command("chain", "deploy", "--dev-chain", stdout=out)
    assert out.getvalue().splitlines()[3] == (
        "# token: MINTABLE test token (dev chain); never use it on a real network"
    )
