"""Live leaderboard sockets: snapshot on connect, updates in version order after commits,
resume from the log or a fresh snapshot, the private view, round pages, custom views."""

import pytest
from django.db import transaction
from django.test import Client

from core.money import tokens_to_wei
from live import publish
from tests.live.conftest import (
    db_call,
    leaderboard_path,
    open_socket,
    receive,
    rescore,
    resume,
    run,
    session_cookie,
)
from tournaments.models import LeaderboardFeed, LeaderboardUpdate, Round, RoundState
from tournaments.services.model_slots import stake_deposit

pytestmark = pytest.mark.django_db(transaction=True)


def _version(tournament) -> int:
    return LeaderboardFeed.objects.get(tournament=tournament).version


def _row(model, *, rank, score, rounds=1, stake=None):
    return {
        "model_id": model.id,
        "model": model.name,
        "owner": model.owner.username,
        "stake": str(stake if stake is not None else model.stake),
        "score": score,
        "rounds": rounds,
        "rank": rank,
    }


def test_connect_gets_a_snapshot_then_a_rank_change_after_commit(scored):
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    base = _version(t)

    async def scenario():
        comm = await open_socket(leaderboard_path())
        got = await resume(comm, 0)
        assert [g["type"] for g in got] == ["snapshot", "synced"]
        snapshot = got[0]
        assert snapshot["version"] == base and got[1] == {"type": "synced", "version": base}
        assert (snapshot["stream"], snapshot["metric"], snapshot["last_n"]) == ("leaderboard", "corr", 4)
        assert snapshot["rows"] == [
            _row(m["gale-force"], rank=1, score=0.04),
            _row(m["drizzle"], rank=2, score=0.02),
            _row(m["mist"], rank=3, score=-0.01),
        ]
        assert [(r["number"], r["state"], r["scored_days"]) for r in snapshot["rounds"]] == [
            (1, "scoring", 1)
        ]

        # mist jumps to first: every row's rank changes, so all three are sent.
        await db_call(rescore)(rnd, m["mist"], corr=0.09)
        version = await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="scored")
        assert version == base + 1
        update = await receive(comm)
        assert update == {
            "type": "update",
            "version": base + 1,
            "reason": "scored",
            "rounds": [],
            "rows": [
                _row(m["mist"], rank=1, score=0.09),
                _row(m["gale-force"], rank=2, score=0.04),
                _row(m["drizzle"], rank=3, score=0.02),
            ],
            "removed": [],
        }
        assert await comm.receive_nothing(timeout=0.2)
        await comm.disconnect()

    run(scenario)


def test_only_changed_rows_are_sent(scored):
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    base = _version(t)

    async def scenario():
        comm = await open_socket(leaderboard_path())
        await resume(comm, 0)
        await db_call(rescore)(rnd, m["drizzle"], corr=0.03)  # still 2nd
        await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="scored")
        update = await receive(comm)
        assert update["version"] == base + 1
        assert update["rows"] == [_row(m["drizzle"], rank=2, score=0.03)]
        await comm.disconnect()

    run(scenario)


def test_a_publish_with_nothing_new_stores_and_sends_nothing(scored):
    t = scored["tournament"]
    base = _version(t)

    async def scenario():
        comm = await open_socket(leaderboard_path())
        await resume(comm, 0)
        assert await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="again") is None
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run(scenario)
    assert _version(t) == base
    assert LeaderboardUpdate.objects.filter(tournament=t, version__gt=base).count() == 0


def test_stake_deposit_is_pushed_after_its_commit_and_a_rollback_pushes_nothing(scored):
    t, m = scored["tournament"], scored["models"]
    gale = m["gale-force"]
    base = _version(t)

    def deposit_then_fail():
        with transaction.atomic():
            stake_deposit(model=gale, by=gale.owner, amount=tokens_to_wei(1))
            raise RuntimeError("the request failed after the deposit")

    async def scenario():
        comm = await open_socket(leaderboard_path())
        await resume(comm, 0)
        with pytest.raises(RuntimeError):
            await db_call(deposit_then_fail)()
        assert await comm.receive_nothing(timeout=0.3)

        await db_call(stake_deposit)(model=gale, by=gale.owner, amount=tokens_to_wei(5))
        update = await receive(comm)
        assert update == {
            "type": "update",
            "version": base + 1,
            "reason": "stake",
            "rounds": [],
            "rows": [_row(gale, rank=1, score=0.04, stake=tokens_to_wei(30))],
            "removed": [],
        }
        await comm.disconnect()

    run(scenario)


def test_many_stake_changes_in_one_transaction_make_one_update(scored):
    t, m = scored["tournament"], scored["models"]
    base = _version(t)

    def deposit_all():
        with transaction.atomic():
            for model in m.values():
                stake_deposit(model=model, by=model.owner, amount=tokens_to_wei(1))

    async def scenario():
        comm = await open_socket(leaderboard_path())
        await resume(comm, 0)
        await db_call(deposit_all)()
        update = await receive(comm)
        assert update["version"] == base + 1 and update["reason"] == "stake"
        assert [(r["model"], r["stake"]) for r in update["rows"]] == [
            ("gale-force", str(tokens_to_wei(26))),
            ("drizzle", str(tokens_to_wei(11))),
            ("mist", str(tokens_to_wei(6))),
        ]
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run(scenario)
    assert _version(t) == base + 1


def test_resume_with_a_logged_version_replays_exactly_the_missed_updates(scored):
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    base = _version(t)
    for corr in (0.05, 0.06, 0.07):
        rescore(rnd, m["mist"], corr=corr)
        publish.leaderboard_publish(tournament_id=t.id, reason="scored")

    async def scenario():
        comm = await open_socket(leaderboard_path())
        got = await resume(comm, base + 1)
        assert [(g["type"], g["version"]) for g in got] == [
            ("update", base + 2),
            ("update", base + 3),
            ("synced", base + 3),
        ]
        assert [r["score"] for r in got[0]["rows"] if r["model"] == "mist"] == [0.06]
        assert [r["score"] for r in got[1]["rows"] if r["model"] == "mist"] == [0.07]
        await comm.disconnect()

    run(scenario)


def test_resume_at_the_current_version_is_just_synced(scored):
    base = _version(scored["tournament"])

    async def scenario():
        comm = await open_socket(leaderboard_path())
        assert await resume(comm, base) == [{"type": "synced", "version": base}]
        await comm.disconnect()

    run(scenario)


def test_resume_from_before_the_log_or_from_the_future_gets_a_snapshot(scored, settings):
    settings.ARENA_LIVE_LOG_SIZE = 2
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    base = _version(t)
    for corr in (0.05, 0.06, 0.07):
        rescore(rnd, m["mist"], corr=corr)
        publish.leaderboard_publish(tournament_id=t.id, reason="scored")
    assert list(
        LeaderboardUpdate.objects.filter(tournament=t).values_list("version", flat=True)
    ) == [base + 2, base + 3]

    async def scenario():
        for since in (base, base + 99):
            comm = await open_socket(leaderboard_path())
            got = await resume(comm, since)
            assert [(g["type"], g["version"]) for g in got] == [
                ("snapshot", base + 3),
                ("synced", base + 3),
            ]
            assert got[0]["rows"][0]["model"] == "mist" and got[0]["rows"][0]["score"] == 0.07
            await comm.disconnect()

    run(scenario)


def test_a_lost_push_is_repaired_from_the_log_in_order(scored, monkeypatch):
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    base = _version(t)
    deliver = publish.deliver

    def publish_undelivered():
        # Fault injection: this version is stored but its push never arrives.
        monkeypatch.setattr(publish, "deliver", lambda messages: None)
        try:
            rescore(rnd, m["mist"], corr=0.05)
            publish.leaderboard_publish(tournament_id=t.id, reason="lost")
        finally:
            monkeypatch.setattr(publish, "deliver", deliver)

    async def scenario():
        comm = await open_socket(leaderboard_path())
        await resume(comm, 0)
        await db_call(publish_undelivered)()
        assert await comm.receive_nothing(timeout=0.2)
        await db_call(rescore)(rnd, m["drizzle"], corr=0.08)
        await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="scored")
        first, second = await receive(comm), await receive(comm)
        assert (first["version"], first["reason"]) == (base + 1, "lost")
        assert (second["version"], second["reason"]) == (base + 2, "scored")
        assert [r["model"] for r in second["rows"] if r["rank"] == 1] == ["drizzle"]
        await comm.disconnect()

    run(scenario)


def test_round_state_changes_reach_the_leaderboard_and_the_round_page(scored):
    t, rnd = scored["tournament"], scored["round"]
    base = _version(t)

    async def scenario():
        board = await open_socket(leaderboard_path())
        await resume(board, 0)
        page = await open_socket("/ws/tournaments/weather/rounds/1/")
        got = await resume(page, 0)
        assert got[0]["type"] == "snapshot" and got[0]["stream"] == "round"
        assert got[0]["round"]["state"] == "scoring"
        assert [(r["model"], r["rank"], r["payout"]) for r in got[0]["rows"]] == [
            ("gale-force", 1, None),
            ("drizzle", 2, None),
            ("mist", 3, None),
        ]

        await db_call(Round.objects.filter(pk=rnd.pk).update)(state=RoundState.RESOLVED)
        await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="round:resolved")
        on_board, on_page = await receive(board), await receive(page)
        assert on_board["version"] == on_page["version"] == base + 1
        assert [(r["number"], r["state"]) for r in on_board["rounds"]] == [(1, "resolved")]
        assert on_board["rows"] == []
        assert (on_page["round"]["number"], on_page["round"]["state"]) == (1, "resolved")
        assert on_page["rows"] == []

        await db_call(Round.objects.filter(pk=rnd.pk).update)(state=RoundState.SETTLED)
        await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="round:settled")
        on_board, on_page = await receive(board), await receive(page)
        assert [(r["number"], r["state"]) for r in on_board["rounds"]] == [(1, "settled")]
        assert on_page["round"]["state"] == "settled"
        for comm in (board, page):
            await comm.disconnect()

    run(scenario)
    # A settled round is published once, then no longer tracked.
    feed = LeaderboardFeed.objects.get(tournament=t)
    assert feed.version == base + 2 and feed.state["rounds"] == {}
    assert publish.leaderboard_publish(tournament_id=t.id, reason="again") is None


def test_a_custom_window_is_recomputed_for_each_version(scored):
    t, rnd, m = scored["tournament"], scored["round"], scored["models"]
    base = _version(t)

    async def scenario():
        comm = await open_socket(leaderboard_path(query="metric=mmc&last_n=9"))
        got = await resume(comm, 0)
        assert (got[0]["metric"], got[0]["last_n"]) == ("mmc", 9)
        assert [(r["model"], r["score"]) for r in got[0]["rows"]] == [
            ("gale-force", 0.01),
            ("drizzle", 0.005),
            ("mist", -0.002),
        ]
        await db_call(rescore)(rnd, m["mist"], corr=-0.01, mmc=0.02)
        await db_call(publish.leaderboard_publish)(tournament_id=t.id, reason="scored")
        update = await receive(comm)
        assert update["version"] == base + 1
        assert [(r["model"], r["rank"], r["score"]) for r in update["rows"]] == [
            ("mist", 1, 0.02),
            ("gale-force", 2, 0.01),
            ("drizzle", 3, 0.005),
        ]
        await comm.disconnect()

    run(scenario)


def test_a_modeler_sees_their_own_submission_status_and_nobody_elses(scored):
    m, owners = scored["models"], scored["owners"]
    gale = m["gale-force"]

    async def scenario():
        cookie = await db_call(session_cookie)(Client(), owners["gale-force"])
        mine = await open_socket(leaderboard_path(), cookie=cookie)
        got = await resume(mine, 0)
        assert [g["type"] for g in got] == ["snapshot", "synced"]
        private = await receive(mine)
        assert private == {
            "type": "private",
            "models": [
                {
                    "model_id": gale.id,
                    "model": "gale-force",
                    "stake": str(tokens_to_wei(25)),
                    "submission": None,
                    "score": {"round": 1, "day": 1, "corr": 0.04, "mmc": 0.01},
                }
            ],
        }
        anonymous = await open_socket(leaderboard_path())
        assert [g["type"] for g in await resume(anonymous, 0)] == ["snapshot", "synced"]

        # A stake change of another modeler's model: public update for all, nothing private
        # for gale-force's owner.
        drizzle = m["drizzle"]
        await db_call(stake_deposit)(model=drizzle, by=drizzle.owner, amount=tokens_to_wei(1))
        assert (await receive(mine))["type"] == "update"
        assert (await receive(anonymous))["type"] == "update"
        assert await mine.receive_nothing(timeout=0.3)

        # Their own: the update, then their refreshed private view.
        await db_call(stake_deposit)(model=gale, by=gale.owner, amount=tokens_to_wei(2))
        kinds = {(await receive(mine))["type"], (await receive(mine))["type"]}
        assert kinds == {"update", "private"}
        assert (await receive(anonymous))["type"] == "update"
        assert await anonymous.receive_nothing(timeout=0.3)
        for comm in (mine, anonymous):
            await comm.disconnect()

    run(scenario)
