"""A DEX tournament end to end on the in-process chain: the platform builds each round's
data from the pools, the vault trades the meta-model at close, every tick marks it to
market, score days get their targets from the pools, and payouts carry each model's P&L
contribution — checked against the chain, the formulas and the scoring engine."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from chain.client import use_gateway
from chain.dex.vault_ledger import mark_to_market
from core.money import wei_to_tokens
from demo.dex import DexDemoSchedule, demo_dex_create
from demo.runner import run_headless
from demo.services import demo_user
from dex.models import DexBook, PnlMark, RebalanceState
from dex.services.exchange import market_dex
from dex.services.trading import dex_rebalance, vault_ledger
from scoring.pnl import pnl_contributions, tilt_weights
from scoring.ranking import gauss_rank
from tournaments.models import DatasetKind, Payout, RoundState, RoundTarget, Score
from tournaments.selectors import live_ids, predictions_matrix, stake_snapshot_map

pytestmark = [pytest.mark.chain_integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST = DexDemoSchedule(
    round_interval=timedelta(seconds=90),
    submission_window=timedelta(seconds=30),
    resolution_lag=timedelta(seconds=15),
    score_days=3,
    score_day_interval=timedelta(seconds=15),
    challenge_window=timedelta(seconds=5),
    era_seconds=15,
)


@pytest.fixture(params=["in-process", pytest.param("anvil", marks=pytest.mark.anvil)])
def backend(request, settings):
    """The chain the platform runs on: its in-process chain, or a real anvil node over
    JSON-RPC (contracts deployed once, every service pointed at them, as in production)."""
    if request.param == "in-process":
        yield request.param
        return
    from chain.anvil import AnvilNotInstalled, anvil_binary, start_anvil
    from chain.client import reset_gateway
    from chain.gateway import ChainGateway

    try:
        anvil_binary()
    except AnvilNotInstalled as exc:
        pytest.skip(f"anvil not installed: {exc}")
    with start_anvil() as node:
        deployment = ChainGateway.rpc(node.url, node.private_keys[0], poll_interval=0.02).deploy()
        settings.ARENA_CHAIN = "rpc"
        settings.CHAIN_RPC_URL = node.url
        settings.CHAIN_OPERATOR_KEY = node.private_keys[0]
        settings.CHAIN_TOKEN_ADDRESS = deployment["token"]
        settings.CHAIN_STAKING_ADDRESS = deployment["staking"]
        settings.CHAIN_DEV = True
        settings.CHAIN_POLL_INTERVAL = 0.02
        reset_gateway()
        yield request.param
        reset_gateway()


@pytest.fixture
def dex_tournament(backend):
    return demo_dex_create(
        now=timezone.now(), sponsor=demo_user("dex-sponsor"), slug="dex-e2e", schedule=FAST,
        tokens=5, warmup_steps=6, path_steps=200,
    )


def test_a_dex_round_trades_marks_scores_and_pays_by_pnl(dex_tournament):
    [report] = run_headless(tournament=dex_tournament, rounds=1)
    assert report["state"] == RoundState.SETTLED
    round = dex_tournament.rounds.get(number=1)
    market = dex_tournament.dex
    book = DexBook.objects.get(round=round)

    # Data came from the pools: live features per token, training with a five-bin target.
    assert live_ids(round=round) == ["T00", "T01", "T02", "T03", "T04"]
    assert "feature_return_5" in round.live_dataset.feature_names
    training = dex_tournament.datasets.filter(kind=DatasetKind.TRAINING).first()
    assert training is not None and training.has_target

    # The book's weights are the tilt of the stake-weighted meta-model of the predictions.
    models, predictions = predictions_matrix(round=round)
    assert book.n_models == len(models) == 8
    snapshot = stake_snapshot_map(round=round)
    stakes = np.array([float(wei_to_tokens(snapshot[m.id])) for m in models])
    expected = tilt_weights(gauss_rank(predictions), stakes, tilt=market.tilt)
    assert [book.weights[s] for s in live_ids(round=round)] == pytest.approx(expected.tolist(), abs=1e-12)
    assert sum(book.weights.values()) == pytest.approx(1.0, abs=1e-12)

    # The rebalance executed and the vault reconciles with the ledger to the wei.
    assert book.rebalance_state == RebalanceState.DONE, book.rebalance_error
    assert book.rebalance["executed"] == 5 and book.rebalance["failed"] == 0
    assert 30 <= book.rebalance["cost_bps"] < 60  # the 30 bps fee + a little price impact
    with use_gateway() as gateway:
        dex = market_dex(market, gateway)
        reconciled = vault_ledger(market, dex).reconcile()
        assert reconciled.balances[market.quote_token] == dex.balance_of(market.quote_token, market.vault)

        # Each score day's target was built from a mark; the final mark is the chain's value at
        # the pools' average prices over the round's window (frozen in the book at close).
        assert book.twap_blocks == market.twap_blocks == 20
        day_marks = list(PnlMark.objects.filter(round=round, day__isnull=False).order_by("day"))
        assert [m.day for m in day_marks] == [1, 2, 3]
        final = day_marks[-1]
        averaged = mark_to_market(dex, market.vault, block=final.block, twap_blocks=book.twap_blocks)
        assert final.value_at_mid == averaged.value_at_mid
        assert final.twap_from_block == final.block - 20
    assert final.pnl == final.value_at_mid - book.start_value
    assert final.portfolio_return == pytest.approx(final.pnl / book.start_value)
    assert RoundTarget.objects.filter(round=round).count() == 3

    # Contributions on the final day: the engine's normalised derivative over the round's returns.
    symbols = live_ids(round=round)
    returns = np.array([final.price(s) / book.start_price(s) - 1 for s in symbols])
    contributions = pnl_contributions(gauss_rank(predictions), stakes, returns, tilt=market.tilt)
    scores = {s.model_id: s for s in Score.objects.filter(round=round, day=3)}
    for model, value in zip(models, contributions.normalised, strict=True):
        assert scores[model.id].pnl_contribution == pytest.approx(float(value), abs=1e-12)

    # Payouts: stake × clip(factor·(0.5·CORR + 2·MMC + 1·PNL), ±cap), exactly as the rules say.
    rules = round.rules
    assert rules["pnl_multiplier"] == 1.0
    factor = min(1.0, float(wei_to_tokens(int(rules["payout_threshold"]))) / stakes.sum())
    for payout in Payout.objects.filter(round=round).select_related("model"):
        score = scores[payout.model_id]
        assert payout.pnl_contribution == score.pnl_contribution
        raw = factor * (0.5 * score.corr + 2.0 * score.mmc + 1.0 * score.pnl_contribution)
        fraction = float(np.clip(raw, -rules["payout_cap"], rules["payout_cap"]))
        assert float(wei_to_tokens(payout.amount)) == pytest.approx(
            float(wei_to_tokens(payout.stake_at_risk)) * fraction, rel=1e-9, abs=1e-12
        )

    # Running the keeper again trades nothing.
    with use_gateway() as gateway:
        block = gateway.block_number()
    assert dex_rebalance(round=round).rebalance_state == RebalanceState.DONE
    with use_gateway() as gateway:
        assert gateway.block_number() == block
