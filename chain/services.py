"""The platform's side of the chain: registrations, wallets, commitments at close, the
settlement keeper (propose → finalize → apply), and the event indexer.

Every step first asks the chain what is already done (the gateway's state checks), then
records the tx hash, so running a step twice, or after a crash between two steps, never
posts, pays or burns twice.
"""

import logging
from datetime import UTC, datetime, timedelta

from arena_client.cid import cid_digest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from eth_account import Account

from chain._transactions import ChainError
from chain.client import chain_enabled, dev_keyring, is_dev_chain, use_gateway
from chain.gateway import ChainGateway
from chain.models import (
    ChainDeployment,
    ChainRegistration,
    IndexedEvent,
    IndexerCursor,
    RoundSettlement,
    Wallet,
)
from chain.settlement import Payout as LeafPayout
from chain.settlement import build_commitments, build_settlement
from core.errors import Conflict
from tournaments.models import (
    ModelSlot,
    PayoutState,
    Round,
    StakeEventKind,
    Submission,
    Tournament,
)
from tournaments.selectors import stake_snapshot_map
from tournaments.services.mirror import (
    payouts_mark_settled,
    payouts_void,
    pool_mirror,
    stake_mirror,
)
from tournaments.services.payouts import stake_snapshot_correct

# The contract's ABANDON_AFTER: a round not completed this long after its close may be
# abandoned by anyone (chain/contracts/ArenaStaking.vy).
ABANDON_AFTER_SECONDS = 90 * 86400

log = logging.getLogger("arena.chain")

DEV_GAS_MONEY = 10**18  # 1 ether of gas money for each new dev wallet
DEV_FAUCET_TOKENS = 10_000 * 10**18


# --- deployment and wallets ------------------------------------------------------------


def chain_deployment_record() -> ChainDeployment:
    """Record the contracts in use; refuse a database that belongs to another deployment."""
    with use_gateway() as gateway:
        info = gateway.deployment
        record = ChainDeployment.objects.first()
        if record is None:
            return ChainDeployment.objects.create(
                chain_id=info["chain_id"], token=info["token"], staking=info["staking"], block=info.get("block", 0)
            )
        if (record.chain_id, record.staking.lower()) != (info["chain_id"], info["staking"].lower()):
            raise Conflict(
                f"this database settled on staking contract {record.staking} (chain {record.chain_id}) "
                f"but the node has {info['staking']} (chain {info['chain_id']})",
                code="chain_mismatch",
            )
        return record


def dev_account_create(gateway: ChainGateway) -> str:
    """Dev chains: a new custodial account with gas money. Its key is kept in var/ (never the
    database) before anything uses it, so the platform signs for it again after a restart."""
    account = Account.create()
    key_hex = account.key.hex()
    dev_keyring().add(account.address, key_hex)
    gateway.add_account(key_hex)
    gateway.send_ether(to=account.address, amount=DEV_GAS_MONEY)
    return account.address


def wallet_for(user: User, gateway: ChainGateway) -> Wallet:
    """The user's wallet; on a dev chain one is made (custodial, funded) if missing."""
    wallet = Wallet.objects.filter(user=user).first()
    if wallet is not None:
        return wallet
    if not is_dev_chain(gateway):
        raise Conflict(f"{user.username} has no wallet address registered", code="no_wallet")
    address = dev_account_create(gateway)
    gateway.mint(to=address, amount=DEV_FAUCET_TOKENS)
    return Wallet.objects.create(user=user, address=address, custodial=True)


def _registered(kind: str, object_id: int) -> ChainRegistration | None:
    return ChainRegistration.objects.filter(kind=kind, object_id=object_id).first()


def chain_register_tournament(
    tournament: Tournament, gateway: ChainGateway, *, challenge_window: int | None = None
) -> None:
    """Register once, with the sponsor as guardian and the veto window in seconds."""
    if _registered("tournament", tournament.pk):
        return
    if challenge_window is None:
        window = tournament.challenge_window
        challenge_window = int(window.total_seconds()) if window is not None else settings.CHAIN_CHALLENGE_WINDOW
    guardian = wallet_for(tournament.sponsor, gateway).address
    result = gateway.register_tournament(
        tournament_id=tournament.pk, guardian=guardian, challenge_window=challenge_window
    )
    ChainRegistration.objects.get_or_create(
        kind="tournament", object_id=tournament.pk, defaults={"address": guardian, "tx_hash": result.tx_hash or ""}
    )


def chain_register_model(model: ModelSlot, gateway: ChainGateway) -> str:
    registration = _registered("model", model.pk)
    if registration:
        return registration.address
    onchain_owner = gateway.model(model.pk)["owner"]
    if int(onchain_owner, 16) != 0 and not Wallet.objects.filter(user=model.owner).exists():
        # Registered by an earlier attempt whose database rows were rolled back: adopt the
        # wallet the chain knows (its custodial key was kept before anything was sent).
        custodial = onchain_owner in dev_keyring().all()
        Wallet.objects.create(user=model.owner, address=onchain_owner, custodial=custodial)
    owner = wallet_for(model.owner, gateway).address
    result = gateway.register_model(model_id=model.pk, tournament_id=model.tournament_id, owner=owner)
    ChainRegistration.objects.get_or_create(
        kind="model", object_id=model.pk, defaults={"address": owner, "tx_hash": result.tx_hash or ""}
    )
    return owner


def _custodial_owner(model: ModelSlot, gateway: ChainGateway, action: str) -> str:
    # Another process (web or worker) may have made this wallet after our gateway started.
    for key_hex in dev_keyring().all().values():
        gateway.add_account(key_hex)
    chain_register_tournament(model.tournament, gateway)
    owner = chain_register_model(model, gateway)
    if not Wallet.objects.get(user=model.owner).custodial:
        raise Conflict(
            f"{action} from your own wallet on the staking contract {gateway.deployment['staking']} "
            f"(model id {model.pk}); the platform mirrors it once mined",
            code="use_your_wallet",
        )
    return owner


def chain_stake_from_dev_wallet(*, model: ModelSlot, amount: int) -> str:
    """Stake from the owner's custodial dev wallet (dev chains only), then mirror it."""
    with use_gateway() as gateway:
        owner = _custodial_owner(model, gateway, "stake")
        result = gateway.stake(model_id=model.pk, amount=amount, sender=owner)
    chain_index()
    return result.tx_hash or ""


def chain_request_release_from_dev_wallet(*, model: ModelSlot, amount: int) -> str:
    """Move stake into unbonding; the contract releases it after the delay and open rounds."""
    with use_gateway() as gateway:
        owner = _custodial_owner(model, gateway, "request_release")
        result = gateway.request_release(model_id=model.pk, amount=amount, sender=owner)
    chain_index()
    return result.tx_hash or ""


def chain_fund_from_dev_wallet(*, tournament: Tournament, amount: int) -> str:
    with use_gateway() as gateway:
        chain_register_tournament(tournament, gateway)
        sponsor = wallet_for(tournament.sponsor, gateway).address
        balance = gateway.token_balance(sponsor)
        if balance < amount:
            gateway.mint(to=sponsor, amount=amount - balance)
        result = gateway.fund(tournament_id=tournament.pk, amount=amount, sender=sponsor)
    chain_index()
    return result.tx_hash or ""


def _sync_dev_clock(gateway: ChainGateway, now: datetime) -> None:
    """On a dev chain, keep block time up with the platform clock (simulated runs jump ahead)."""
    if is_dev_chain(gateway):
        lag = int(now.timestamp()) - gateway.block_timestamp()
        if lag > 0:
            gateway.advance_time(lag)


# --- commitments at close ----------------------------------------------------------------


def counted_submission_digests(round: Round) -> list[bytes]:
    """Distinct digests: the same envelope counted for two models is one commitment."""
    cids = Submission.objects.filter(round=round, is_counted=True).values_list("cid", flat=True)
    return sorted({cid_digest(cid) for cid in cids})


def chain_open_round(*, round: Round) -> RoundSettlement:
    """Open the round on-chain as it opens for submissions (once; safe to repeat): from then
    on every release request waits for it, so no stake escapes its burn."""
    state, _ = RoundSettlement.objects.get_or_create(round=round)
    if state.opened_tx:
        return state
    with use_gateway() as gateway:
        chain_register_tournament(round.tournament, gateway)
        result = gateway.open_round(tournament_id=round.tournament_id, round_id=round.number)
    state.opened_tx = result.tx_hash or "already-opened"
    state.save(update_fields=["opened_tx", "updated_at"])
    return state


def chain_record_close(*, round: Round) -> RoundSettlement:
    """Note the chain's latest block as the platform closes the round (once): the round's
    stakes at risk are read at it."""
    state, _ = RoundSettlement.objects.get_or_create(round=round)
    if state.close_block is None:
        with use_gateway() as gateway:
            state.close_block = gateway.block_number()
        state.save(update_fields=["close_block", "updated_at"])
    return state


def chain_post_commitments(*, round: Round) -> RoundSettlement:
    """Post the Merkle root of the round's counted submissions, then read every stake at
    risk from the contract at the round's close block (once each; safe to repeat). The read
    is a historical eth_call: soon after the close any node answers it; a node that prunes
    state (most keep ~128 blocks) must not lag far behind, or use an archive node."""
    state, _ = RoundSettlement.objects.get_or_create(round=round)
    if state.commitments_tx and state.stakes_block is not None:
        return state
    with use_gateway() as gateway:
        if not state.commitments_tx:
            commitments = build_commitments(counted_submission_digests(round))
            chain_register_tournament(round.tournament, gateway)
            result = gateway.post_commitments_root(
                tournament_id=round.tournament_id,
                round_id=round.number,
                root=commitments.root,
                submission_count=commitments.count,
            )
            state.commitments_root = "0x" + commitments.root.hex()
            state.commitments_count = commitments.count
            state.commitments_tx = result.tx_hash or _posted_event(gateway, round)["tx_hash"]
            state.save(update_fields=["commitments_root", "commitments_count", "commitments_tx", "updated_at"])
        block = state.close_block if state.close_block is not None else _posted_block(gateway, round, state)
        _snapshot_stakes_at(gateway, round, block)
    state.stakes_block = block
    state.save(update_fields=["stakes_block", "updated_at"])
    return state


def _posted_event(gateway: ChainGateway, round: Round) -> dict:
    """The round's CommitmentsRootPosted event (posted by an attempt whose answer was lost)."""
    since = int((gateway.deployment or {}).get("block") or 0)
    for event in gateway.events(since, names=["CommitmentsRootPosted"], contracts=("staking",)):
        args = event["args"]
        if args["tournament_id"] == round.tournament_id and args["round_id"] == round.number:
            return event
    raise ChainError(f"round {round.tournament_id}/{round.number} has no CommitmentsRootPosted event")


def _posted_block(gateway: ChainGateway, round: Round, state: RoundSettlement) -> int:
    receipt = gateway.receipt(state.commitments_tx) if state.commitments_tx.startswith("0x") else None
    if receipt is not None:
        return int(receipt["block"])
    return int(_posted_event(gateway, round)["block"])


def _snapshot_stakes_at(gateway: ChainGateway, round: Round, block: int) -> None:
    """The round's stake snapshot as the contract held it at `block` (the close):
    stake plus any unbonding that waits for the round, not the indexer's lagging mirror."""
    model_ids = stake_snapshot_map(round=round)
    amounts = {m: gateway.stake_at_risk(m, round.number, block=block) for m in model_ids}
    changed = stake_snapshot_correct(round=round, amounts=amounts)
    if changed:
        log.info("%s: %d stake(s) at risk differ from the mirror, read at block %d", round, changed, block)


# --- settlement keeper -------------------------------------------------------------------


def _window_over(gateway: ChainGateway, state: RoundSettlement, now: datetime) -> bool:
    """Has the guardian's veto window ended? The contract decides by block time. A dev chain
    mines blocks faster than one a second, so its clock runs ahead of the platform's: there
    the platform clock decides and the chain is moved to the window's end to match."""
    block_time = gateway.block_timestamp()
    if block_time >= state.challenge_ends:
        return True
    if is_dev_chain(gateway) and now >= state.window_ends_at:
        gateway.advance_time(state.challenge_ends - block_time)
        return True
    return False



def chain_prepare_settlement(*, round: Round) -> None:
    """Register every paid model's owner on-chain before the round's lock is taken, so a
    later failure in the settlement step can never roll back a registration the chain kept."""
    with use_gateway() as gateway:
        chain_register_tournament(round.tournament, gateway)
        for payout in _money_moving(round):
            chain_register_model(payout.model, gateway)


def _money_moving(round: Round) -> list:
    # A model with nothing at risk and nothing paid needs no leaf (nor, on a real chain, a
    # registered wallet); it is marked settled with the rest.
    payouts = round.payouts.select_related("model", "model__owner").order_by("model_id")
    return [p for p in payouts if p.stake_at_risk or p.amount]


def _settlement_for(round: Round, gateway: ChainGateway):
    leaves = []
    for payout in _money_moving(round):
        owner = chain_register_model(payout.model, gateway)
        leaves.append(
            LeafPayout(model_id=payout.model_id, owner=owner, stake_at_risk=payout.stake_at_risk, delta=payout.amount)
        )
    return build_settlement(tournament_id=round.tournament_id, round_id=round.number, payouts=leaves)


def chain_settlement_step(*, round: Round, now: datetime) -> bool:
    """Advance the round's settlement by what the chain allows now; True once completed.

    Call inside the round's row lock. Propose, then (after the guardian's challenge window)
    finalize, then apply every leaf in batches; every tx hash is recorded.
    """
    state, _ = RoundSettlement.objects.get_or_create(round=round)
    if state.completed:
        return True
    if not state.commitments_tx:
        chain_post_commitments(round=round)
        state.refresh_from_db()
    with use_gateway() as gateway:
        _sync_dev_clock(gateway, now)
        settlement = _settlement_for(round, gateway)
        onchain = gateway.round_state(round.tournament_id, round.number)
        if onchain["status_name"] == "vetoed":
            # The payouts are recomputed from the round's frozen inputs at every step (the
            # root below): the same root again would override the guardian, so it is not
            # re-proposed. The round is then disputed until an operator corrects its payouts
            # (a different root is proposed as usual) or, 90 days after the close, the
            # keeper abandons it on-chain and every stake at risk is free again.
            vetoed_root = onchain["settlement_root"]
            if vetoed_root == "0x" + settlement.root.hex():
                abandon_at = int(onchain["closed_at"]) + ABANDON_AFTER_SECONDS
                if gateway.block_timestamp() < abandon_at:
                    raise Conflict(
                        f"the guardian vetoed the settlement of round {round.number} "
                        f"({onchain['vetoes']} veto(es)); the payouts recompute to the same root, "
                        "so it waits for an operator to correct them, or is abandoned (no payout, "
                        f"stakes released) at {datetime.fromtimestamp(abandon_at, UTC).isoformat()}",
                        code="settlement_vetoed",
                    )
                result = gateway.abandon_round(tournament_id=round.tournament_id, round_id=round.number)
                state.abandoned_tx = result.tx_hash or state.abandoned_tx
                onchain = gateway.round_state(round.tournament_id, round.number)
        if onchain["status_name"] == "abandoned":
            # Leaves applied before the abandon (a keeper that died mid-apply) did move their
            # stakes: those payouts are settled; only the rest are void.
            applied_before = {
                p.model_id: ""
                for p in round.payouts.filter(state=PayoutState.PENDING)
                if gateway.is_applied(round.tournament_id, round.number, p.model_id)
            }
            state.abandoned_tx = state.abandoned_tx or "abandoned"
            state.completed = True
            state.save()
            _mark_payouts_settled(round, now, applied_before, only=set(applied_before))
            payouts_void(round=round)  # the rest: never applied, kept, void
            return True
        if onchain["status_name"] in ("none", "vetoed"):  # vetoed here: a corrected root
            state.window_ends_at = None
            result = gateway.propose_settlement(
                tournament_id=round.tournament_id,
                round_id=round.number,
                root=settlement.root,
                leaf_count=settlement.leaf_count,
                total_rewards=settlement.total_rewards,
                total_burns=settlement.total_burns,
            )
            onchain = gateway.round_state(round.tournament_id, round.number)
            state.proposed_tx = result.tx_hash or state.proposed_tx
        state.settlement_root = "0x" + settlement.root.hex()
        state.leaf_count = settlement.leaf_count
        state.total_rewards = str(settlement.total_rewards)
        state.total_burns = str(settlement.total_burns)
        state.challenge_ends = int(onchain["challenge_ends"])
        if onchain["status_name"] == "proposed":
            if state.window_ends_at is None:
                window = gateway.tournament(round.tournament_id)["challenge_window"]
                state.window_ends_at = now + timedelta(seconds=window)
            if not _window_over(gateway, state, now):
                state.save()
                return False  # the guardian's window is still open
            result = gateway.finalize_settlement(tournament_id=round.tournament_id, round_id=round.number)
            state.finalized_tx = result.tx_hash or state.finalized_tx
            onchain = gateway.round_state(round.tournament_id, round.number)
        if onchain["status_name"] in ("finalized", "completed") and not state.finalized_tx:
            # Finalized by an earlier attempt whose answer was lost, or by anyone else: its
            # rewards are reserved out of the pool all the same (ChainLedger.not_yet_reserved).
            state.finalized_tx = "finalized"
        applied: dict[int, str] = {}
        if onchain["status_name"] == "finalized":
            for result in gateway.apply_settlement(settlement, batch_size=settings.CHAIN_APPLY_BATCH):
                if result.tx_hash:
                    state.apply_txs = [*state.apply_txs, result.tx_hash]
                for event in result.events:
                    if event["name"] == "LeafApplied":
                        applied[event["args"]["model_id"]] = result.tx_hash
            onchain = gateway.round_state(round.tournament_id, round.number)
        state.completed = onchain["status_name"] == "completed"
        state.save()
    if state.completed:
        # Stakes are mirrored by the indexer (outside this lock, at the next tick); here the
        # payouts only learn their tx, from the receipts or, after a resume, from the mirror.
        _mark_payouts_settled(round, now, applied)
    return state.completed


def _mark_payouts_settled(
    round: Round, now: datetime, from_receipts: dict[int, str], only: set[int] | None = None
) -> None:
    applied = {
        e.args["model_id"]: e.tx_hash
        for e in IndexedEvent.objects.filter(name="LeafApplied", args__round_id=round.number, args__tournament_id=round.tournament_id)
    }
    applied |= from_receipts
    payouts_mark_settled(round=round, now=now, tx_by_model=applied, only=only)


# --- event indexer -----------------------------------------------------------------------

MIRRORED = ["Staked", "ReleaseRequested", "Released", "PoolFunded", "LeafApplied",
            "SettlementFinalized", "SettlementCompleted", "RoundAbandoned", "BurnShortfall"]


def _set_stake(model_id: int, stake: int, kind: str, event: dict, round: Round | None = None) -> None:
    stake_mirror(model_id=model_id, stake=stake, kind=kind, tx_hash=event["tx_hash"], round=round)


def _mirror(event: dict) -> None:
    args, name = event["args"], event["name"]
    if name == "Staked":
        _set_stake(args["model_id"], args["stake"], StakeEventKind.DEPOSIT, event)
    elif name == "ReleaseRequested":
        _set_stake(args["model_id"], args["stake"], StakeEventKind.RELEASE, event)
    elif name == "LeafApplied":
        round = Round.objects.filter(tournament_id=args["tournament_id"], number=args["round_id"]).first()
        kind = StakeEventKind.REWARD if args["delta"] >= 0 else StakeEventKind.BURN
        _set_stake(args["model_id"], args["stake"], kind, event, round)
    elif name in ("PoolFunded", "SettlementFinalized", "SettlementCompleted", "RoundAbandoned"):
        if "pool" in args:
            pool_mirror(tournament_id=args["tournament_id"], pool=args["pool"])


def chain_index(*, confirmations: int | None = None, max_blocks: int = 5000) -> int:
    """Mirror new events into the database, from the last indexed block to head − depth.

    Only blocks buried `confirmations` deep are read, so a reorg shallower than that never
    leaves a wrong row; each event is recorded once (tx hash + log index).
    """
    if not chain_enabled():
        return 0
    depth = settings.CHAIN_CONFIRMATIONS if confirmations is None else confirmations
    with use_gateway() as gateway:
        head = gateway.block_number() - depth
        cursor, created = IndexerCursor.objects.get_or_create(name="staking")
        if created:
            # Nothing of ours happened before the contracts existed: don't scan from genesis.
            cursor.last_block = int((gateway.deployment or {}).get("block") or 0) - 1
        start = cursor.last_block + 1
        if start > head:
            return 0
        end = min(head, start + max_blocks - 1)
        events = gateway.events(start, end, names=MIRRORED, contracts=("staking",))
        end_hash = gateway.block_hash(end)
    mirrored = 0
    with transaction.atomic():
        for event in events:
            args = {k: (str(v) if isinstance(v, int) and abs(v) > 2**53 else v) for k, v in event["args"].items()}
            try:
                with transaction.atomic():
                    IndexedEvent.objects.create(
                        tx_hash=event["tx_hash"], log_index=event["log_index"], block=event["block"],
                        name=event["name"], args=args,
                    )
            except IntegrityError:
                continue  # already mirrored
            _mirror(event)
            mirrored += 1
        cursor.last_block = end
        cursor.last_block_hash = end_hash
        cursor.save()
    return mirrored
