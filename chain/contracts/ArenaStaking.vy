# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Arena staking and round settlement
@notice One deployment serves many tournaments and models, keyed by uint256 ids
        (the platform's database ids).

        Roles
        - owner (two-step transfer, snekmate `ownable_2step`): sets the operator
          and the release delay. Nothing else.
        - operator (the platform): registers tournaments and models, opens each
          round on-chain when it opens for submissions, posts its commitments
          root at close, proposes settlement roots.
        - guardian (one per tournament, normally the sponsor): vetoes a proposed
          settlement during its challenge window, sets the window length, hands
          its role on.
        - model owner: the only account that may stake on, and release from,
          its model.
        - anyone: funds a tournament's reward pool, finalizes a settlement whose
          window is over, applies finalized leaves.

        Lock rule
        Each round gets an ordinal when it opens on-chain (`open_round`; a round
        never opened gets one when its commitments root is posted). A release
        request moves the amount from `stake` to `unbonding`. It can be paid out
        once BOTH hold: `release_delay` seconds have passed since the request,
        and every round of the model's tournament that had opened before the
        request — the round still open included — is settled (all its leaves
        applied, or the round abandoned, see below). Until then the amount can
        still be burned by those rounds, so a release sent while a round is
        open, or in the block that closes it, never escapes that round's burn.
        `stake_at_risk` tells, at any block, what a round may burn of a model:
        its stake plus whatever unbonding still waits for that round.

        Settlement leaf (one per model per round)
            leaf = keccak256(keccak256(abi_encode(
                tournament_id: uint256, round_id: uint256, model_id: uint256,
                owner: address, stake_at_risk: uint256, delta: int256)))
        Commitment leaf (one per submission ciphertext hash)
            leaf = keccak256(keccak256(abi_encode(submission_hash: bytes32)))
        Inner nodes hash the sorted pair: keccak256(min(a, b) ++ max(a, b)).
        A leaf pre-image is 32 bytes and an inner node's is 64, so an inner node
        can never be passed off as a leaf (second-preimage safety).

        Liveness: a round not completed ABANDON_AFTER (90 days) after its close
        can be abandoned by anyone. It then counts as settled for the lock, its
        unpaid reserve returns to the pool and none of its leaves can apply any
        more, so a stalled or mis-declared settlement cannot lock stake forever.

        Payout: a positive delta is credited to the model's stake (it compounds;
        the owner withdraws it with a release). A negative delta is burned from
        the model's stake, then from its unbonding amount, never more than
        both; whatever could not be burned is reported in `BurnShortfall`.
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.utils import merkle_proof_verification as merkle_proof

# `renounce_ownership` is deliberately not exported: without an owner the
# operator key could never be rotated.
exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)


interface IBurnable:
    def burn(amount: uint256): nonpayable


# --- limits --------------------------------------------------------------------------

MAX_BATCH: constant(uint256) = 128
MAX_PROOF_DEPTH: constant(uint256) = 32
MAX_CHALLENGE_WINDOW: constant(uint256) = 30 * 86400
MAX_RELEASE_DELAY: constant(uint256) = 90 * 86400
# A round still not completed this long after its close may be abandoned by anyone.
ABANDON_AFTER: constant(uint256) = 90 * 86400
# Completed rounds are folded into `rounds_settled` at most this many per call;
# `advance_settled_rounds` continues if more were waiting behind a slow round.
MAX_SETTLED_SCAN: constant(uint256) = 256

# --- settlement status of a round ----------------------------------------------------

STATUS_NONE: constant(uint8) = 0
STATUS_PROPOSED: constant(uint8) = 1
STATUS_VETOED: constant(uint8) = 2
STATUS_FINALIZED: constant(uint8) = 3
STATUS_COMPLETED: constant(uint8) = 4
STATUS_ABANDONED: constant(uint8) = 5


struct Tournament:
    guardian: address
    challenge_window: uint256
    pool: uint256
    # Round ordinals handed out so far (one per round opened on-chain). The name is
    # kept from when ordinals were handed out at close; it now counts opened rounds.
    rounds_closed: uint256
    # Every round whose ordinal is below this value is completed or abandoned.
    rounds_settled: uint256


struct Model:
    owner: address
    tournament_id: uint256
    stake: uint256
    unbonding: uint256
    unbonding_since: uint256
    # `rounds_closed` of the tournament (rounds opened so far) when the release
    # was requested: the release waits until `rounds_settled` reaches it.
    unbonding_waits_for: uint256


struct Round:
    closed: bool
    closed_at: uint256
    close_ordinal: uint256
    commitments_root: bytes32
    submission_count: uint256
    status: uint8
    settlement_root: bytes32
    leaf_count: uint256
    total_rewards: uint256
    total_burns: uint256
    challenge_ends: uint256
    vetoes: uint256
    applied_count: uint256
    rewarded: uint256
    burn_requested: uint256
    burned: uint256
    # Appended after the original fields so their positions (read by raw eth_call
    # clients, arena_client.chainread) stay. Non-zero once the round has its ordinal
    # (`close_ordinal`, kept from when ordinals were handed out at close).
    opened_at: uint256


struct LeafInput:
    model_id: uint256
    owner: address
    stake_at_risk: uint256
    delta: int256
    proof: DynArray[bytes32, MAX_PROOF_DEPTH]


token: public(immutable(address))
operator: public(address)
release_delay: public(uint256)

tournaments: public(HashMap[uint256, Tournament])
models: public(HashMap[uint256, Model])
rounds: public(HashMap[uint256, HashMap[uint256, Round]])

# tournament -> close ordinal -> completed
_ordinal_completed: HashMap[uint256, HashMap[uint256, bool]]
# tournament -> round -> model_id >> 8 -> bit (model_id & 255) set once applied.
# A bitmap keyed by model id makes "once per model per round" structural and
# lets neighbouring ids share one storage word.
_applied_bits: HashMap[uint256, HashMap[uint256, HashMap[uint256, uint256]]]


# --- events --------------------------------------------------------------------------

event OperatorChanged:
    previous_operator: indexed(address)
    new_operator: indexed(address)

event ReleaseDelayChanged:
    previous_delay: uint256
    new_delay: uint256

event TournamentRegistered:
    tournament_id: indexed(uint256)
    guardian: indexed(address)
    challenge_window: uint256

event GuardianChanged:
    tournament_id: indexed(uint256)
    previous_guardian: indexed(address)
    new_guardian: indexed(address)

event ChallengeWindowChanged:
    tournament_id: indexed(uint256)
    previous_window: uint256
    new_window: uint256

event ModelRegistered:
    model_id: indexed(uint256)
    tournament_id: indexed(uint256)
    owner: indexed(address)

event Staked:
    model_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256
    stake: uint256

event ReleaseRequested:
    model_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256
    stake: uint256
    unbonding: uint256
    available_at: uint256
    waits_for_rounds_settled: uint256

event Released:
    model_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256

event PoolFunded:
    tournament_id: indexed(uint256)
    sponsor: indexed(address)
    amount: uint256
    pool: uint256

event RoundOpened:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    ordinal: uint256

event CommitmentsRootPosted:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    root: bytes32
    submission_count: uint256
    close_ordinal: uint256

event SettlementProposed:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    root: bytes32
    leaf_count: uint256
    total_rewards: uint256
    total_burns: uint256
    challenge_ends: uint256

event SettlementVetoed:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    guardian: indexed(address)
    root: bytes32
    reason: String[100]

event SettlementFinalized:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    root: bytes32
    pool: uint256

event LeafApplied:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    model_id: indexed(uint256)
    owner: address
    delta: int256
    burned: uint256
    stake: uint256
    unbonding: uint256

event BurnShortfall:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    model_id: indexed(uint256)
    shortfall: uint256

event SettlementCompleted:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    rewarded: uint256
    burned: uint256
    pool: uint256

event RoundAbandoned:
    tournament_id: indexed(uint256)
    round_id: indexed(uint256)
    returned_to_pool: uint256
    pool: uint256

event RoundsSettled:
    tournament_id: indexed(uint256)
    rounds_settled: uint256


@deploy
def __init__(token_: address, operator_: address, release_delay_: uint256):
    assert token_ != empty(address), "ArenaStaking: token is the zero address"
    assert operator_ != empty(address), "ArenaStaking: operator is the zero address"
    assert release_delay_ <= MAX_RELEASE_DELAY, "ArenaStaking: release delay above the maximum"
    ownable.__init__()
    ownable_2step.__init__()
    token = token_
    self.operator = operator_
    self.release_delay = release_delay_
    log OperatorChanged(previous_operator=empty(address), new_operator=operator_)
    log ReleaseDelayChanged(previous_delay=0, new_delay=release_delay_)


# --- owner ---------------------------------------------------------------------------

@external
def set_operator(new_operator: address):
    ownable._check_owner()
    assert new_operator != empty(address), "ArenaStaking: operator is the zero address"
    log OperatorChanged(previous_operator=self.operator, new_operator=new_operator)
    self.operator = new_operator


@external
def set_release_delay(new_delay: uint256):
    ownable._check_owner()
    assert new_delay <= MAX_RELEASE_DELAY, "ArenaStaking: release delay above the maximum"
    log ReleaseDelayChanged(previous_delay=self.release_delay, new_delay=new_delay)
    self.release_delay = new_delay


# --- operator ------------------------------------------------------------------------

@external
def register_tournament(tournament_id: uint256, guardian: address, challenge_window: uint256):
    self._check_operator()
    assert guardian != empty(address), "ArenaStaking: guardian is the zero address"
    assert self.tournaments[tournament_id].guardian == empty(address), "ArenaStaking: tournament already registered"
    assert challenge_window <= MAX_CHALLENGE_WINDOW, "ArenaStaking: challenge window above the maximum"
    self.tournaments[tournament_id].guardian = guardian
    self.tournaments[tournament_id].challenge_window = challenge_window
    log TournamentRegistered(tournament_id=tournament_id, guardian=guardian, challenge_window=challenge_window)


@external
def register_model(model_id: uint256, tournament_id: uint256, owner: address):
    self._check_operator()
    self._check_tournament(tournament_id)
    assert owner != empty(address), "ArenaStaking: model owner is the zero address"
    assert self.models[model_id].owner == empty(address), "ArenaStaking: model already registered"
    self.models[model_id].owner = owner
    self.models[model_id].tournament_id = tournament_id
    log ModelRegistered(model_id=model_id, tournament_id=tournament_id, owner=owner)


@external
def open_round(tournament_id: uint256, round_id: uint256):
    """
    @notice Open a round on-chain as it opens for submissions: it receives the
            ordinal that orders it for the release lock, so every release
            requested from now on waits for it. Once per round.
    """
    self._check_operator()
    self._check_tournament(tournament_id)
    assert self.rounds[tournament_id][round_id].opened_at == 0, "ArenaStaking: round already opened"
    self._open(tournament_id, round_id)


@external
def post_commitments_root(tournament_id: uint256, round_id: uint256, root: bytes32, submission_count: uint256):
    """
    @notice Close a round on-chain: fix the Merkle root of its submission
            ciphertext hashes. Once per round. A round that was not opened
            on-chain receives its ordinal here.
    """
    self._check_operator()
    self._check_tournament(tournament_id)
    assert not self.rounds[tournament_id][round_id].closed, "ArenaStaking: commitments root already posted for this round"
    assert (submission_count == 0) == (root == empty(bytes32)), "ArenaStaking: root must be zero exactly when there are no submissions"
    if self.rounds[tournament_id][round_id].opened_at == 0:
        self._open(tournament_id, round_id)
    ordinal: uint256 = self.rounds[tournament_id][round_id].close_ordinal
    self.rounds[tournament_id][round_id].closed = True
    self.rounds[tournament_id][round_id].closed_at = block.timestamp
    self.rounds[tournament_id][round_id].commitments_root = root
    self.rounds[tournament_id][round_id].submission_count = submission_count
    log CommitmentsRootPosted(tournament_id=tournament_id, round_id=round_id, root=root, submission_count=submission_count, close_ordinal=ordinal)


@external
def propose_settlement(
    tournament_id: uint256,
    round_id: uint256,
    root: bytes32,
    leaf_count: uint256,
    total_rewards: uint256,
    total_burns: uint256,
):
    """
    @notice Propose the round's settlement root. Allowed once, and again after
            each guardian veto. `total_rewards` is the sum of positive deltas and
            `total_burns` the sum of magnitudes of negative deltas; applying
            leaves can never exceed either.
    """
    self._check_operator()
    self._check_tournament(tournament_id)
    assert self.rounds[tournament_id][round_id].closed, "ArenaStaking: round is not closed (no commitments root)"
    status: uint8 = self.rounds[tournament_id][round_id].status
    assert status != STATUS_PROPOSED, "ArenaStaking: settlement already proposed"
    assert status != STATUS_ABANDONED, "ArenaStaking: round was abandoned"
    assert status == STATUS_NONE or status == STATUS_VETOED, "ArenaStaking: settlement already finalized"
    assert (leaf_count == 0) == (root == empty(bytes32)), "ArenaStaking: root must be zero exactly when there are no leaves"
    assert leaf_count > 0 or (total_rewards == 0 and total_burns == 0), "ArenaStaking: totals must be zero without leaves"
    assert total_rewards <= self.tournaments[tournament_id].pool, "ArenaStaking: reward pool is smaller than the total rewards"
    challenge_ends: uint256 = block.timestamp + self.tournaments[tournament_id].challenge_window
    self.rounds[tournament_id][round_id].status = STATUS_PROPOSED
    self.rounds[tournament_id][round_id].settlement_root = root
    self.rounds[tournament_id][round_id].leaf_count = leaf_count
    self.rounds[tournament_id][round_id].total_rewards = total_rewards
    self.rounds[tournament_id][round_id].total_burns = total_burns
    self.rounds[tournament_id][round_id].challenge_ends = challenge_ends
    log SettlementProposed(
        tournament_id=tournament_id,
        round_id=round_id,
        root=root,
        leaf_count=leaf_count,
        total_rewards=total_rewards,
        total_burns=total_burns,
        challenge_ends=challenge_ends,
    )


# --- guardian ------------------------------------------------------------------------

@external
def veto_settlement(tournament_id: uint256, round_id: uint256, reason: String[100]):
    self._check_guardian(tournament_id)
    assert self.rounds[tournament_id][round_id].status == STATUS_PROPOSED, "ArenaStaking: no proposed settlement to veto"
    assert block.timestamp < self.rounds[tournament_id][round_id].challenge_ends, "ArenaStaking: challenge window is over"
    self.rounds[tournament_id][round_id].status = STATUS_VETOED
    self.rounds[tournament_id][round_id].vetoes += 1
    log SettlementVetoed(
        tournament_id=tournament_id,
        round_id=round_id,
        guardian=msg.sender,
        root=self.rounds[tournament_id][round_id].settlement_root,
        reason=reason,
    )


@external
def set_guardian(tournament_id: uint256, new_guardian: address):
    self._check_guardian(tournament_id)
    assert new_guardian != empty(address), "ArenaStaking: guardian is the zero address"
    self.tournaments[tournament_id].guardian = new_guardian
    log GuardianChanged(tournament_id=tournament_id, previous_guardian=msg.sender, new_guardian=new_guardian)


@external
def set_challenge_window(tournament_id: uint256, new_window: uint256):
    """
    @notice The window protects the guardian, so only the guardian sets it.
            It applies to settlements proposed afterwards.
    """
    self._check_guardian(tournament_id)
    assert new_window <= MAX_CHALLENGE_WINDOW, "ArenaStaking: challenge window above the maximum"
    log ChallengeWindowChanged(tournament_id=tournament_id, previous_window=self.tournaments[tournament_id].challenge_window, new_window=new_window)
    self.tournaments[tournament_id].challenge_window = new_window


# --- model owners --------------------------------------------------------------------

@external
def stake(model_id: uint256, amount: uint256):
    """
    @notice Pull `amount` tokens from the model's owner into its stake.
            Needs a prior `approve` of this contract on the token.
    """
    owner: address = self._check_model_owner(model_id)
    assert amount > 0, "ArenaStaking: amount is zero"
    new_stake: uint256 = self.models[model_id].stake + amount
    self.models[model_id].stake = new_stake
    assert extcall IERC20(token).transferFrom(msg.sender, self, amount), "ArenaStaking: token transfer failed"
    log Staked(model_id=model_id, owner=owner, amount=amount, stake=new_stake)


@external
def request_release(model_id: uint256, amount: uint256):
    """
    @notice Start releasing `amount` of the model's stake. A new request adds
            to any pending amount and restarts its delay and lock.
    """
    owner: address = self._check_model_owner(model_id)
    assert amount > 0, "ArenaStaking: amount is zero"
    current: uint256 = self.models[model_id].stake
    assert amount <= current, "ArenaStaking: release exceeds the model's stake"
    tournament_id: uint256 = self.models[model_id].tournament_id
    waits_for: uint256 = self.tournaments[tournament_id].rounds_closed
    unbonding: uint256 = self.models[model_id].unbonding + amount
    self.models[model_id].stake = current - amount
    self.models[model_id].unbonding = unbonding
    self.models[model_id].unbonding_since = block.timestamp
    self.models[model_id].unbonding_waits_for = waits_for
    log ReleaseRequested(
        model_id=model_id,
        owner=owner,
        amount=amount,
        stake=current - amount,
        unbonding=unbonding,
        available_at=block.timestamp + self.release_delay,
        waits_for_rounds_settled=waits_for,
    )


@external
def release(model_id: uint256):
    """
    @notice Pay the model's unbonding amount to its owner once the delay is
            over and the rounds it backed are settled (completed or abandoned).
    """
    owner: address = self._check_model_owner(model_id)
    amount: uint256 = self.models[model_id].unbonding
    assert amount > 0, "ArenaStaking: nothing to release"
    assert block.timestamp >= self.models[model_id].unbonding_since + self.release_delay, "ArenaStaking: release delay has not elapsed"
    tournament_id: uint256 = self.models[model_id].tournament_id
    assert self.tournaments[tournament_id].rounds_settled >= self.models[model_id].unbonding_waits_for, "ArenaStaking: stake locked until the rounds closed before the request are settled"
    self.models[model_id].unbonding = 0
    assert extcall IERC20(token).transfer(owner, amount), "ArenaStaking: token transfer failed"
    log Released(model_id=model_id, owner=owner, amount=amount)


# --- anyone --------------------------------------------------------------------------

@external
def fund(tournament_id: uint256, amount: uint256):
    """
    @notice Add `amount` tokens from the caller to the tournament's reward pool.
    """
    self._check_tournament(tournament_id)
    assert amount > 0, "ArenaStaking: amount is zero"
    pool: uint256 = self.tournaments[tournament_id].pool + amount
    self.tournaments[tournament_id].pool = pool
    assert extcall IERC20(token).transferFrom(msg.sender, self, amount), "ArenaStaking: token transfer failed"
    log PoolFunded(tournament_id=tournament_id, sponsor=msg.sender, amount=amount, pool=pool)


@external
def finalize_settlement(tournament_id: uint256, round_id: uint256):
    """
    @notice Make a proposed root final once its challenge window is over, and
            reserve its total rewards out of the pool. Anyone may call.
    """
    status: uint8 = self.rounds[tournament_id][round_id].status
    assert status != STATUS_FINALIZED and status != STATUS_COMPLETED, "ArenaStaking: settlement already finalized"
    assert status == STATUS_PROPOSED, "ArenaStaking: no proposed settlement to finalize"
    assert block.timestamp >= self.rounds[tournament_id][round_id].challenge_ends, "ArenaStaking: challenge window still open"
    rewards: uint256 = self.rounds[tournament_id][round_id].total_rewards
    pool: uint256 = self.tournaments[tournament_id].pool
    assert rewards <= pool, "ArenaStaking: reward pool is smaller than the total rewards"
    pool = pool - rewards
    self.tournaments[tournament_id].pool = pool
    self.rounds[tournament_id][round_id].status = STATUS_FINALIZED
    log SettlementFinalized(tournament_id=tournament_id, round_id=round_id, root=self.rounds[tournament_id][round_id].settlement_root, pool=pool)
    if self.rounds[tournament_id][round_id].leaf_count == 0:
        self._complete(tournament_id, round_id)


@external
def apply_leaves(tournament_id: uint256, round_id: uint256, leaves: DynArray[LeafInput, MAX_BATCH]):
    """
    @notice Apply finalized leaves of one round, each with its Merkle proof.
            Anyone may call. The whole batch reverts if any leaf is invalid or
            was already applied, so callers should drop applied leaves first
            (see `is_applied`).
    """
    assert self.rounds[tournament_id][round_id].status == STATUS_FINALIZED, "ArenaStaking: settlement not finalized"
    root: bytes32 = self.rounds[tournament_id][round_id].settlement_root
    total_rewards: uint256 = self.rounds[tournament_id][round_id].total_rewards
    total_burns: uint256 = self.rounds[tournament_id][round_id].total_burns
    rewarded: uint256 = self.rounds[tournament_id][round_id].rewarded
    burn_requested: uint256 = self.rounds[tournament_id][round_id].burn_requested
    burned_total: uint256 = self.rounds[tournament_id][round_id].burned
    batch_burn: uint256 = 0

    for leaf: LeafInput in leaves:
        model_owner: address = self.models[leaf.model_id].owner
        assert model_owner != empty(address) and self.models[leaf.model_id].tournament_id == tournament_id, "ArenaStaking: model is not registered in this tournament"
        assert leaf.owner == model_owner, "ArenaStaking: leaf owner is not the model's owner"

        word: uint256 = leaf.model_id >> 8
        bit: uint256 = 1 << (leaf.model_id & 255)
        bits: uint256 = self._applied_bits[tournament_id][round_id][word]
        assert bits & bit == 0, "ArenaStaking: leaf already applied"
        self._applied_bits[tournament_id][round_id][word] = bits | bit

        node: bytes32 = self._settlement_leaf(tournament_id, round_id, leaf.model_id, leaf.owner, leaf.stake_at_risk, leaf.delta)
        assert merkle_proof._verify(leaf.proof, root, node), "ArenaStaking: invalid Merkle proof"

        stake: uint256 = self.models[leaf.model_id].stake
        unbonding: uint256 = 0
        burned: uint256 = 0
        if leaf.delta >= 0:
            reward: uint256 = convert(leaf.delta, uint256)
            rewarded += reward
            assert rewarded <= total_rewards, "ArenaStaking: rewards exceed the settlement's total"
            stake += reward
            self.models[leaf.model_id].stake = stake
            unbonding = self.models[leaf.model_id].unbonding
        else:
            # -(delta + 1) + 1 avoids negating min_value(int256).
            loss: uint256 = convert(-(leaf.delta + 1), uint256) + 1
            assert loss <= leaf.stake_at_risk, "ArenaStaking: burn exceeds the leaf's stake at risk"
            burn_requested += loss
            assert burn_requested <= total_burns, "ArenaStaking: burns exceed the settlement's total"
            unbonding = self.models[leaf.model_id].unbonding
            burned = min(loss, stake)
            stake -= burned
            from_unbonding: uint256 = min(loss - burned, unbonding)
            unbonding -= from_unbonding
            burned += from_unbonding
            self.models[leaf.model_id].stake = stake
            if from_unbonding > 0:
                self.models[leaf.model_id].unbonding = unbonding
            if burned < loss:
                log BurnShortfall(tournament_id=tournament_id, round_id=round_id, model_id=leaf.model_id, shortfall=loss - burned)
            batch_burn += burned
        log LeafApplied(
            tournament_id=tournament_id,
            round_id=round_id,
            model_id=leaf.model_id,
            owner=model_owner,
            delta=leaf.delta,
            burned=burned,
            stake=stake,
            unbonding=unbonding,
        )

    applied: uint256 = self.rounds[tournament_id][round_id].applied_count + len(leaves)
    assert applied <= self.rounds[tournament_id][round_id].leaf_count, "ArenaStaking: more leaves than the settlement declared"
    self.rounds[tournament_id][round_id].applied_count = applied
    self.rounds[tournament_id][round_id].rewarded = rewarded
    self.rounds[tournament_id][round_id].burn_requested = burn_requested
    self.rounds[tournament_id][round_id].burned = burned_total + batch_burn
    if batch_burn > 0:
        # One burn per batch: the burned tokens leave the supply for good.
        extcall IBurnable(token).burn(batch_burn)
    if applied == self.rounds[tournament_id][round_id].leaf_count:
        self._complete(tournament_id, round_id)


@external
def abandon_round(tournament_id: uint256, round_id: uint256):
    """
    @notice Give up on a round that is still not completed ABANDON_AFTER seconds
            after its close (or, if it was opened and never closed, after it
            opened). Anyone may call. Its unpaid reserve returns to the pool
            and it stops holding back releases.
    """
    closed: bool = self.rounds[tournament_id][round_id].closed
    assert closed or self.rounds[tournament_id][round_id].opened_at != 0, "ArenaStaking: round is not closed (no commitments root)"
    status: uint8 = self.rounds[tournament_id][round_id].status
    assert status != STATUS_COMPLETED and status != STATUS_ABANDONED, "ArenaStaking: round already settled"
    if closed:
        assert block.timestamp >= self.rounds[tournament_id][round_id].closed_at + ABANDON_AFTER, "ArenaStaking: round cannot be abandoned before 90 days after close"
    else:
        assert block.timestamp >= self.rounds[tournament_id][round_id].opened_at + ABANDON_AFTER, "ArenaStaking: round cannot be abandoned before 90 days after it opened"
    returned: uint256 = 0
    if status == STATUS_FINALIZED:
        returned = self.rounds[tournament_id][round_id].total_rewards - self.rounds[tournament_id][round_id].rewarded
    pool: uint256 = self.tournaments[tournament_id].pool + returned
    self.tournaments[tournament_id].pool = pool
    self.rounds[tournament_id][round_id].status = STATUS_ABANDONED
    log RoundAbandoned(tournament_id=tournament_id, round_id=round_id, returned_to_pool=returned, pool=pool)
    self._mark_settled(tournament_id, round_id)


@external
def advance_settled_rounds(tournament_id: uint256) -> uint256:
    """
    @notice Fold completed rounds into `rounds_settled` (only needed when more
            than MAX_SETTLED_SCAN completed rounds waited behind a slow one).
    """
    return self._advance_settled(tournament_id)


# --- views ---------------------------------------------------------------------------

@external
@view
def stake_of(model_id: uint256) -> uint256:
    return self.models[model_id].stake


@external
@view
def stake_at_risk(model_id: uint256, round_id: uint256) -> uint256:
    """
    @notice What round `round_id` of the model's tournament may burn of the
            model now: its stake, plus its unbonding amount if that still
            waits for this round. Read it at the block at which the round
            closed for the stake at risk of its settlement leaf.
    """
    tournament_id: uint256 = self.models[model_id].tournament_id
    at_risk: uint256 = self.models[model_id].stake
    if self.rounds[tournament_id][round_id].opened_at != 0 and self.models[model_id].unbonding_waits_for > self.rounds[tournament_id][round_id].close_ordinal:
        at_risk += self.models[model_id].unbonding
    return at_risk


@external
@view
def pool_of(tournament_id: uint256) -> uint256:
    return self.tournaments[tournament_id].pool


@external
@view
def is_applied(tournament_id: uint256, round_id: uint256, model_id: uint256) -> bool:
    return self._applied_bits[tournament_id][round_id][model_id >> 8] & (1 << (model_id & 255)) != 0


@external
@view
def can_release(model_id: uint256) -> bool:
    unbonding: uint256 = self.models[model_id].unbonding
    if unbonding == 0:
        return False
    if block.timestamp < self.models[model_id].unbonding_since + self.release_delay:
        return False
    tournament_id: uint256 = self.models[model_id].tournament_id
    return self.tournaments[tournament_id].rounds_settled >= self.models[model_id].unbonding_waits_for


@external
@pure
def settlement_leaf_hash(
    tournament_id: uint256, round_id: uint256, model_id: uint256, owner: address, stake_at_risk: uint256, delta: int256
) -> bytes32:
    return self._settlement_leaf(tournament_id, round_id, model_id, owner, stake_at_risk, delta)


@external
@pure
def commitment_leaf_hash(submission_hash: bytes32) -> bytes32:
    return keccak256(keccak256(abi_encode(submission_hash)))


@external
@view
def verify_settlement_leaf(
    tournament_id: uint256,
    round_id: uint256,
    model_id: uint256,
    owner: address,
    stake_at_risk: uint256,
    delta: int256,
    proof: DynArray[bytes32, MAX_PROOF_DEPTH],
) -> bool:
    root: bytes32 = self.rounds[tournament_id][round_id].settlement_root
    if root == empty(bytes32):
        return False
    node: bytes32 = self._settlement_leaf(tournament_id, round_id, model_id, owner, stake_at_risk, delta)
    return merkle_proof._verify(proof, root, node)


@external
@view
def verify_commitment(
    tournament_id: uint256, round_id: uint256, submission_hash: bytes32, proof: DynArray[bytes32, MAX_PROOF_DEPTH]
) -> bool:
    root: bytes32 = self.rounds[tournament_id][round_id].commitments_root
    if root == empty(bytes32):
        return False
    return merkle_proof._verify(proof, root, keccak256(keccak256(abi_encode(submission_hash))))


# --- internal ------------------------------------------------------------------------

@internal
@pure
def _settlement_leaf(
    tournament_id: uint256, round_id: uint256, model_id: uint256, owner: address, stake_at_risk: uint256, delta: int256
) -> bytes32:
    return keccak256(keccak256(abi_encode(tournament_id, round_id, model_id, owner, stake_at_risk, delta)))


@internal
@view
def _check_operator():
    assert msg.sender == self.operator, "ArenaStaking: caller is not the operator"


@internal
@view
def _check_tournament(tournament_id: uint256):
    assert self.tournaments[tournament_id].guardian != empty(address), "ArenaStaking: tournament not registered"


@internal
@view
def _check_guardian(tournament_id: uint256):
    guardian: address = self.tournaments[tournament_id].guardian
    assert guardian != empty(address), "ArenaStaking: tournament not registered"
    assert msg.sender == guardian, "ArenaStaking: caller is not the tournament's guardian"


@internal
@view
def _check_model_owner(model_id: uint256) -> address:
    owner: address = self.models[model_id].owner
    assert owner != empty(address), "ArenaStaking: model not registered"
    assert msg.sender == owner, "ArenaStaking: caller is not the model's owner"
    return owner


@internal
def _complete(tournament_id: uint256, round_id: uint256):
    # Unused reserve (if the leaves paid less than declared) returns to the pool.
    leftover: uint256 = self.rounds[tournament_id][round_id].total_rewards - self.rounds[tournament_id][round_id].rewarded
    pool: uint256 = self.tournaments[tournament_id].pool + leftover
    self.tournaments[tournament_id].pool = pool
    self.rounds[tournament_id][round_id].status = STATUS_COMPLETED
    log SettlementCompleted(
        tournament_id=tournament_id,
        round_id=round_id,
        rewarded=self.rounds[tournament_id][round_id].rewarded,
        burned=self.rounds[tournament_id][round_id].burned,
        pool=pool,
    )
    self._mark_settled(tournament_id, round_id)


@internal
def _open(tournament_id: uint256, round_id: uint256):
    ordinal: uint256 = self.tournaments[tournament_id].rounds_closed
    self.tournaments[tournament_id].rounds_closed = ordinal + 1
    self.rounds[tournament_id][round_id].opened_at = block.timestamp
    self.rounds[tournament_id][round_id].close_ordinal = ordinal
    log RoundOpened(tournament_id=tournament_id, round_id=round_id, ordinal=ordinal)


@internal
def _mark_settled(tournament_id: uint256, round_id: uint256):
    self._ordinal_completed[tournament_id][self.rounds[tournament_id][round_id].close_ordinal] = True
    self._advance_settled(tournament_id)


@internal
def _advance_settled(tournament_id: uint256) -> uint256:
    settled: uint256 = self.tournaments[tournament_id].rounds_settled
    start: uint256 = settled
    closed: uint256 = self.tournaments[tournament_id].rounds_closed
    for _: uint256 in range(MAX_SETTLED_SCAN):
        if settled >= closed or not self._ordinal_completed[tournament_id][settled]:
            break
        settled += 1
    if settled != start:
        self.tournaments[tournament_id].rounds_settled = settled
        log RoundsSettled(tournament_id=tournament_id, rounds_settled=settled)
    return settled
