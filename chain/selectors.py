"""Reads of chain state for pages and the API (never writes; never blocks the request on a
busy embedded chain)."""

import logging

from django.conf import settings

from chain.client import ChainBusy, ChainDisabled, chain_enabled, use_gateway
from chain.models import ChainDeployment, RoundSettlement
from tournaments.models import Round

log = logging.getLogger("arena.chain")


def chain_summary() -> dict | None:
    """Which chain and contracts the platform settles on (None with the chain off)."""
    if not chain_enabled():
        return None
    deployment = ChainDeployment.objects.first()
    return {
        "backend": settings.ARENA_CHAIN,
        "chain_id": deployment.chain_id if deployment else None,
        "token": deployment.token if deployment else None,
        "staking": deployment.staking if deployment else None,
        "rpc_url": settings.CHAIN_RPC_URL or None,
    }


def onchain_commitments(*, round: Round) -> dict | None:
    """The commitments root as the staking contract holds it, read from the node now.

    None when the chain is off or unreachable from this process; the posting tx hash comes
    from the platform's record.
    """
    if not chain_enabled():
        return None
    try:
        with use_gateway() as gateway:
            record = gateway.round_state(round.tournament_id, round.number)
    except (ChainBusy, ChainDisabled) as exc:
        log.info("no chain read for %s: %s", round, exc)
        return None
    if not record["closed"]:
        return None
    state = RoundSettlement.objects.filter(round=round).first()
    return {
        "root": record["commitments_root"],
        "submission_count": record["submission_count"],
        "tx_hash": state.commitments_tx if state else None,
    }
