import pytest

from tournaments.ledger import ledger


@pytest.fixture(
    params=[
        "database",
        pytest.param(
            "chain",
            marks=[pytest.mark.chain_integration, pytest.mark.django_db(transaction=True)],
        ),
    ],
)
def money(request):
    """The ledger a test runs on, once per adapter: the database ledger, and the chain ledger
    on the embedded chain (tests/conftest.py switches ARENA_CHAIN by the marker)."""
    led = ledger()
    assert led.name == request.param
    return led
