"""The live feed: what the live pages show, published as versions and pushed after commit.

tournaments announces its changes through its notification port (tournaments/signals.py);
live/receivers.py turns those into, after the commit that made them, one *publish* per
tournament (live.tasks.leaderboard_publish: a Celery worker in production, in-process on the
embedded profile), which

1. locks the tournament's LeaderboardFeed row — the lock orders the tournament's updates;
2. computes what its live pages show now (leaderboard rows for each standard view, the facts
   and score rows of every round that can still change) and diffs that against `feed.state`,
   what clients were last sent;
3. if anything changed: takes version + 1, stores the diff as a LeaderboardUpdate (the log is
   trimmed to settings.ARENA_LIVE_LOG_SIZE) and the new state;
4. after that commit, sends each stream its part, JSON-encoded once, to its channel group.

Diffing against the last *published* state rather than the previous database state makes the
feed self-healing: a publish lost to a crash is made good by the next one, and a publish that
finds nothing new sends nothing. The feed lives in the database, not in Redis, so versions and
the log survive a Redis restart, stay consistent with the data they describe (the snapshot and
its version are one row), and work the same on the embedded profile, which has no Redis.

The websocket protocol (live/consumers.py speaks it; static/js/leaderboard.mjs is
the browser side) is documented in docs/live.md.
"""

import asyncio
import json
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from tournaments import selectors
from tournaments.models import LeaderboardFeed, LeaderboardUpdate, ModelSlot, Round, Tournament

log = logging.getLogger("arena.events")

METRICS = ("corr", "mmc", "payout", "pnl")
# Views only DEX tournaments have: not computed by every publish of every tournament; a
# socket showing one recomputes its rows in its own process on each version (custom views).
RECOMPUTED_METRICS = ("pnl",)
MAX_LAST_N = 100  # as the leaderboard form allows


# --- Groups and streams ------------------------------------------------------------------


def view_key(metric: str, last_n: int) -> str:
    return f"{metric}.{last_n}"


def standard_views() -> list[tuple[str, int]]:
    """The (metric, last_n) views whose changed rows every publish computes and pushes."""
    return [
        (m, n) for m in METRICS if m not in RECOMPUTED_METRICS for n in settings.ARENA_LIVE_WINDOWS
    ]


def leaderboard_group(tournament_slug: str, metric: str = "corr", last_n: int = 4) -> str:
    return f"lb.{tournament_slug}.{metric}.{last_n}"


def leaderboard_custom_group(tournament_slug: str) -> str:
    """Sockets showing a non-standard view: told the new version, they recompute their rows."""
    return f"lb.{tournament_slug}.custom"


def round_group(tournament_slug: str, number: int) -> str:
    return f"round.{tournament_slug}.{number}"


def private_group(tournament_slug: str, user_id: int) -> str:
    """One modeler's sockets on one tournament's pages (their own submissions' status)."""
    return f"private.{tournament_slug}.{user_id}"


@dataclass(frozen=True)
class Stream:
    """What one socket follows: a tournament's leaderboard view, or one round of it."""

    tournament_id: int
    slug: str
    kind: str  # "leaderboard" or "round"
    metric: str = "corr"
    last_n: int = 4
    round_number: int | None = None

    @property
    def key(self) -> str:
        return view_key(self.metric, self.last_n)

    @property
    def custom(self) -> bool:
        """A leaderboard view no publish computes: this socket's process recomputes it."""
        return self.kind == "leaderboard" and (self.metric, self.last_n) not in standard_views()

    def groups(self) -> list[str]:
        if self.kind == "round":
            return [round_group(self.slug, self.round_number)]
        if self.custom:
            return [leaderboard_custom_group(self.slug)]
        return [leaderboard_group(self.slug, self.metric, self.last_n)]


# --- Messages (server → client) ----------------------------------------------------------


def _by_rank(rows) -> list[dict]:
    return sorted(rows, key=lambda r: (r["rank"], r["model_id"]))


def _rows_diff(before: dict, after: dict) -> dict | None:
    """Rows (keyed by model id as a string) that are new or differ, and ids that left."""
    rows = [row for key, row in after.items() if before.get(key) != row]
    removed = sorted(int(key) for key in before if key not in after)
    if not rows and not removed:
        return None
    return {"rows": _by_rank(rows), "removed": removed}


def update_message(stream: Stream, version: int, reason: str, diff: dict) -> dict:
    """Stream `stream`'s part of a stored diff (empty rows when its view did not change, so
    every socket sees every version and can tell a gap from silence)."""
    if stream.kind == "round":
        number = str(stream.round_number)
        part = diff.get("round_rows", {}).get(number) or {}
        return {
            "type": "update",
            "version": version,
            "reason": reason,
            "round": diff.get("rounds", {}).get(number),
            "rows": part.get("rows", []),
            "removed": part.get("removed", []),
        }
    part = diff.get("views", {}).get(stream.key) or {}
    return {
        "type": "update",
        "version": version,
        "reason": reason,
        "rounds": list(diff.get("rounds", {}).values()),
        "rows": part.get("rows", []),
        "removed": part.get("removed", []),
    }


def _rows_now(stream: Stream, tournament) -> dict:
    rows = selectors.live_leaderboard_rows(
        tournament=tournament, metric=stream.metric, last_n=stream.last_n
    )
    return {str(r["model_id"]): r for r in rows}


def stream_snapshot(stream: Stream) -> tuple[dict, int, dict]:
    """A full picture of the stream at the feed's current version: (message, version, rows).

    Standard views and live rounds come from the feed's stored state, so the rows and the
    version match exactly; other views and finished rounds are read from the database.
    """
    tournament = Tournament.objects.get(pk=stream.tournament_id)
    feed = selectors.live_feed(tournament=tournament)
    version, state = (feed.version, feed.state or {}) if feed else (0, {})
    if stream.kind == "round":
        number = str(stream.round_number)
        if number in state.get("rounds", {}):
            facts, rows = state["rounds"][number], state.get("round_rows", {}).get(number, {})
        else:
            rnd = Round.objects.get(tournament=tournament, number=stream.round_number)
            facts = selectors.live_round_facts(round=rnd)
            rows = {str(r["model_id"]): r for r in selectors.live_round_rows(round=rnd)}
        message = {
            "type": "snapshot",
            "version": version,
            "stream": "round",
            "round": facts,
            "rows": _by_rank(rows.values()),
        }
        return message, version, rows
    if not stream.custom and stream.key in state.get("views", {}):
        rows = state["views"][stream.key]
    else:
        rows = _rows_now(stream, tournament)
    if feed is not None:
        rounds = list(state.get("rounds", {}).values())
    else:
        rounds = [
            selectors.live_round_facts(round=r)
            for r in selectors.live_rounds_tracked(tournament=tournament)
        ]
    message = {
        "type": "snapshot",
        "version": version,
        "stream": "leaderboard",
        "metric": stream.metric,
        "last_n": stream.last_n,
        "rounds": rounds,
        "rows": _by_rank(rows.values()),
    }
    return message, version, rows


def stream_catch_up(stream: Stream, since: int) -> tuple[list[dict], int, dict | None]:
    """What a client at version `since` needs: the logged updates it missed if the log still
    holds all of them, otherwise a snapshot. Returns (messages, version reached, rows — for
    custom views, the rows the client now has)."""
    if since > 0 and not stream.custom:
        tournament = Tournament(pk=stream.tournament_id, slug=stream.slug)
        updates = selectors.live_updates_since(tournament=tournament, since=since)
        if updates and updates[0].version == since + 1:
            messages = [update_message(stream, u.version, u.reason, u.payload) for u in updates]
            return messages, updates[-1].version, None
        if not updates:
            feed = selectors.live_feed(tournament=tournament)
            if feed is not None and feed.version == since:
                return [], since, None
    message, version, rows = stream_snapshot(stream)
    return [message], version, rows


def custom_view_update(
    stream: Stream, version: int, reason: str, rounds: list[dict], before: dict
) -> tuple[dict, dict]:
    """A custom view's update at `version`: its rows recomputed and diffed against `before`."""
    after = _rows_now(stream, Tournament.objects.get(pk=stream.tournament_id))
    diff = _rows_diff(before, after) or {"rows": [], "removed": []}
    message = {"type": "update", "version": version, "reason": reason, "rounds": rounds} | diff
    return message, after


def private_message(*, tournament_id: int, user) -> dict:
    tournament = Tournament.objects.get(pk=tournament_id)
    return {"type": "private", "models": selectors.live_private_status(tournament=tournament, user=user)}


# --- Publishing --------------------------------------------------------------------------


def _live_state(tournament, previous: dict) -> dict:
    """What the live pages show now, in the stored (JSON) shape."""
    views = {}
    for metric, last_n in standard_views():
        rows = selectors.live_leaderboard_rows(tournament=tournament, metric=metric, last_n=last_n)
        views[view_key(metric, last_n)] = {str(r["model_id"]): r for r in rows}
    # A round last published unsettled stays tracked until its settlement has been sent.
    unsettled = {
        int(n) for n, facts in previous.get("rounds", {}).items() if facts["state"] != "settled"
    }
    rounds, round_rows = {}, {}
    for rnd in selectors.live_rounds_tracked(tournament=tournament, also=unsettled):
        rounds[str(rnd.number)] = selectors.live_round_facts(round=rnd)
        round_rows[str(rnd.number)] = {
            str(r["model_id"]): r for r in selectors.live_round_rows(round=rnd)
        }
    # Through JSON once so values compare equal to the stored state (lists, not tuples).
    return json.loads(json.dumps({"views": views, "rounds": rounds, "round_rows": round_rows}))


def _state_diff(previous: dict, current: dict) -> dict | None:
    diff: dict = {}
    rounds = {
        n: facts
        for n, facts in current["rounds"].items()
        if previous.get("rounds", {}).get(n) != facts
    }
    if rounds:
        diff["rounds"] = rounds
    for section in ("views", "round_rows"):
        parts = {}
        for key, rows in current[section].items():
            part = _rows_diff(previous.get(section, {}).get(key, {}), rows)
            if part:
                parts[key] = part
        if parts:
            diff[section] = parts
    return diff or None


def _without_settled(state: dict) -> dict:
    """Settled rounds never change again: once their settlement is published, stop tracking."""
    settled = {n for n, facts in state["rounds"].items() if facts["state"] == "settled"}
    return state | {
        "rounds": {n: f for n, f in state["rounds"].items() if n not in settled},
        "round_rows": {n: r for n, r in state["round_rows"].items() if n not in settled},
    }


def _owners_affected(tournament, diff: dict) -> list[int]:
    model_ids: set[int] = set()
    for section in ("views", "round_rows"):
        for part in diff.get(section, {}).values():
            model_ids.update(r["model_id"] for r in part["rows"])
            model_ids.update(part["removed"])
    numbers = [int(n) for n in diff.get("rounds", {})]
    cond = Q(id__in=model_ids)
    if numbers:
        cond |= Q(submissions__round__number__in=numbers)
    return sorted(
        set(
            ModelSlot.objects.filter(cond, tournament=tournament).values_list("owner_id", flat=True)
        )
    )


def leaderboard_publish(*, tournament_id: int, reason: str) -> int | None:
    """Publish what changed on a tournament's live pages since the last publish.

    Returns the new version, or None when nothing changed (then nothing is stored or sent).
    Safe to run concurrently and repeatedly: the feed row lock serializes publishes.
    """
    tournament = Tournament.objects.filter(pk=tournament_id).first()
    if tournament is None:
        return None
    LeaderboardFeed.objects.get_or_create(tournament=tournament)
    with transaction.atomic():
        feed = LeaderboardFeed.objects.select_for_update().get(tournament=tournament)
        previous = feed.state or {}
        current = _live_state(tournament, previous)
        diff = _state_diff(previous, current)
        if diff is None:
            return None
        feed.version += 1
        feed.state = _without_settled(current)
        feed.save(update_fields=["version", "state", "updated_at"])
        version = feed.version
        LeaderboardUpdate.objects.create(
            tournament=tournament, version=version, reason=reason[:40], payload=diff
        )
        LeaderboardUpdate.objects.filter(
            tournament=tournament, version__lte=version - settings.ARENA_LIVE_LOG_SIZE
        ).delete()
        messages = _stream_messages(tournament, version, reason, diff, current)
        messages += [
            (private_group(tournament.slug, owner_id), {"type": "private.refresh"})
            for owner_id in _owners_affected(tournament, diff)
        ]
        transaction.on_commit(lambda: deliver(messages))
    return version


def _stream_messages(tournament, version: int, reason: str, diff: dict, current: dict):
    slug = tournament.slug
    messages = []
    for metric, last_n in standard_views():
        stream = Stream(tournament.id, slug, "leaderboard", metric, last_n)
        text = json.dumps(update_message(stream, version, reason, diff))
        messages.append(
            (stream.groups()[0], {"type": "live.update", "version": version, "text": text})
        )
    messages.append(
        (
            leaderboard_custom_group(slug),
            {
                "type": "live.recompute",
                "version": version,
                "reason": reason,
                "rounds": list(diff.get("rounds", {}).values()),
            },
        )
    )
    for number in sorted(set(current["rounds"]) | set(diff.get("rounds", {})), key=int):
        stream = Stream(tournament.id, slug, "round", round_number=int(number))
        text = json.dumps(update_message(stream, version, reason, diff))
        messages.append(
            (stream.groups()[0], {"type": "live.update", "version": version, "text": text})
        )
    return messages


# --- Delivery ----------------------------------------------------------------------------

# A push is best effort (a missed one is made good by the feed's versions, gap repair and the
# client's resume), and the thread waiting for it may be serving a request: a channel layer
# that stops answering must cost requests little. One push waits at most PUSH_TIMEOUT_S;
# after a failure this process drops its pushes on that layer for PAUSE_AFTER_FAILURE_S
# instead of making every request wait out the timeout again.
PUSH_TIMEOUT_S = 0.5
PAUSE_AFTER_FAILURE_S = 10.0
# How long a thread waits for a loop that is not its own to take a push at all.
HANDOFF_TIMEOUT_S = 10.0

# The event loop of this process's ASGI server, noted on every connection (config/asgi.py).
# Sync code in that process (request threads, `manage.py up`'s scheduler thread) sends on it:
# the in-memory channel layer's queues belong to it (asyncio queues are not thread-safe), and
# a Redis layer keeps its connections on it.
_server_loop: asyncio.AbstractEventLoop | None = None


def note_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop
    _server_loop = loop


def _usable(loop: asyncio.AbstractEventLoop | None) -> bool:
    return loop is not None and loop.is_running() and not loop.is_closed()


@dataclass
class _Pause:
    until: float = 0.0
    dropped: int = 0  # messages not sent while paused


_pauses: "weakref.WeakKeyDictionary[object, _Pause]" = weakref.WeakKeyDictionary()


def _pause_for(layer) -> _Pause:
    pause = _pauses.get(layer)
    if pause is None:
        pause = _pauses[layer] = _Pause()
    return pause


_push_loops: dict[int, asyncio.AbstractEventLoop] = {}
_push_loop_lock = threading.Lock()


def _push_loop() -> asyncio.AbstractEventLoop:
    """This process's own event loop for pushes, running on a daemon thread: for a process
    with no ASGI server (a Celery worker). The channel layer keeps its Redis connection on it
    from one push to the next; `async_to_sync` would start a new loop, layer and connection
    for every push (docs/performance.md). One per process: a forked child starts its own."""
    pid = os.getpid()
    with _push_loop_lock:
        loop = _push_loops.get(pid)
        if loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="arena-push", daemon=True).start()
            _push_loops.clear()
            _push_loops[pid] = loop
    return loop


def deliver(messages: list[tuple[str, dict]], *, wait: bool = True) -> None:
    """Send `messages` (group, message) with the channel layer's group_send, in order within
    each group. From sync code the sends run on an event loop: the ASGI server's in a process
    that has one, where `wait=False` lets a request thread hand them over and go on (for
    messages whose order does not matter, such as a private view's refresh); otherwise this
    process's push loop on a Redis layer, or a loop of their own (async_to_sync) on the
    in-memory one. A failed push is logged, never raised, and pauses pushes (see above)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    pause = _pause_for(layer)
    if time.monotonic() < pause.until:
        pause.dropped += len(messages)
        return

    async def send_all() -> None:
        if len(messages) == 1:  # the common case (a private refresh): no gather's tasks
            sends = layer.group_send(*messages[0])
        else:
            # Each group gets one message per publish, so sending to the groups concurrently
            # keeps every group's own order (channels-redis sends them in turn per shard).
            sends = asyncio.gather(*(layer.group_send(group, message) for group, message in messages))
        await asyncio.wait_for(sends, PUSH_TIMEOUT_S)

    def done(future) -> None:
        error = None if future.cancelled() else future.exception()
        if error is not None:
            _push_failed(pause, len(messages), error)

    try:
        server = _server_loop
        if _usable(server):
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is server:  # sync code on the loop itself: it cannot block
                server.create_task(send_all()).add_done_callback(done)
                return
            future = asyncio.run_coroutine_threadsafe(send_all(), server)
            if wait:
                future.result(timeout=HANDOFF_TIMEOUT_S)
            else:
                future.add_done_callback(done)
        elif isinstance(layer, InMemoryChannelLayer):
            async_to_sync(send_all)()
        else:
            asyncio.run_coroutine_threadsafe(send_all(), _push_loop()).result(timeout=HANDOFF_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - a failed push must never undo or fail a committed change
        _push_failed(pause, len(messages), error)


def _push_failed(pause: _Pause, count: int, error: BaseException) -> None:
    pause.until = time.monotonic() + PAUSE_AFTER_FAILURE_S
    log.error("push of %d message(s) failed", count, exc_info=error)
    log.warning(
        "the channel layer did not take a push: this process drops its pushes for %.0f s",
        PAUSE_AFTER_FAILURE_S,
    )
