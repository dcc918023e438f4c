import itertools

import pytest


@pytest.fixture
def world():
    """Fresh token + staking deployment inside a boa anchor (state and clock roll back)."""
    import boa

    from chain.tests.contract_world import make_world

    with boa.env.anchor():
        yield make_world()


@pytest.fixture(
    scope="module",
    params=["in-process", pytest.param("anvil", marks=pytest.mark.anvil)],
)
def gateway(request):
    """A deployed ChainGateway on the in-process chain, or on a real anvil node.

    Module-scoped: one chain per test module and backend. Tests keep out of each other's
    way by taking fresh tournament and model ids from ``new_id``.
    """
    from chain.gateway import ChainGateway

    if request.param == "in-process":
        yield ChainGateway.in_process()
        return
    from chain.anvil import AnvilNotInstalled, anvil_binary, start_anvil

    try:
        anvil_binary()
    except AnvilNotInstalled as exc:
        pytest.skip(f"anvil suite skipped: {exc}")
    node = start_anvil()
    try:
        gateway = ChainGateway.rpc(
            node.url,
            node.private_keys[0],
            dev_keys=node.private_keys[1:],
            receipt_timeout=30.0,
            poll_interval=0.02,
        )
        gateway.deploy()
        yield gateway
    finally:
        node.stop()


_ids = itertools.count(1000)


@pytest.fixture
def new_id():
    """Hands out ids unused on the shared chain of a module."""
    return lambda: next(_ids)
