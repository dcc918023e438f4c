"""The in-process chain persisted under a state directory (journal of py-evm's key-value writes)."""

from chain._embedded_state import JournalingMemoryDB, StateJournal
from chain.gateway import ChainGateway


def test_journal_replays_sets_and_deletes(tmp_path):
    journal = StateJournal(tmp_path)
    journal.write_full({b"a": b"1"})
    db = JournalingMemoryDB({b"a": b"1"})
    db[b"b"] = b"2"
    db[b"c"] = b"3"
    del db[b"a"]
    assert journal.flush(db) == 3
    assert journal.flush(db) == 0  # nothing new
    assert journal.load() == {b"b": b"2", b"c": b"3"}


def test_journal_ignores_a_torn_final_batch(tmp_path):
    journal = StateJournal(tmp_path)
    journal.write_full({b"k": b"v"})
    db = JournalingMemoryDB({b"k": b"v"})
    db[b"k"] = b"committed"
    journal.flush(db)
    db[b"k"] = b"torn"
    db[b"x"] = b"torn too"
    journal.flush(db)
    # Simulate a crash mid-append: cut the file inside the last batch.
    data = journal.path.read_bytes()
    journal.path.write_bytes(data[:-15])
    assert journal.load() == {b"k": b"committed"}


def test_embedded_chain_survives_a_restart(tmp_path):
    first = ChainGateway.in_process(state_dir=tmp_path)
    guardian, owner = first.dev_accounts[:2]
    first.register_tournament(tournament_id=1, guardian=guardian, challenge_window=60)
    first.register_model(model_id=1, tournament_id=1, owner=owner)
    first.mint(to=owner, amount=1_000)
    first.stake(model_id=1, amount=400, sender=owner)
    staked_at = first.block_number()
    deployment = first.deployment
    del first

    second = ChainGateway.in_process(state_dir=tmp_path)
    assert second.deployment == deployment
    assert second.block_number() == staked_at
    assert second.stake_of(1) == 400
    assert second.token_balance(owner) == 600
    assert [e["name"] for e in second.events(0, names={"Staked"})] == ["Staked"]
    # The restored chain keeps going, and the next restart sees that too.
    second.stake(model_id=1, amount=100, sender=owner)
    assert second.stake_of(1, block=staked_at) == 400
    del second

    third = ChainGateway.in_process(state_dir=tmp_path)
    assert third.stake_of(1) == 500
    assert third.block_number() > staked_at


def test_without_a_state_dir_every_chain_starts_fresh():
    first = ChainGateway.in_process()
    owner = first.dev_accounts[1]
    first.mint(to=owner, amount=5)
    second = ChainGateway.in_process()
    assert second.token_balance(owner) == 0
    assert first.token_balance(owner) == 5
