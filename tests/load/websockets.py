"""Fan-out of a live leaderboard update to many subscribers on one ASGI process.

    python -m tests.load.websockets [--clients 1000] [--updates 3] [--server uvicorn|daphne]

Starts the production profile (fresh PostgreSQL database, its own Redis database, one ASGI
server process on a free port: uvicorn as README's Production section runs it, or
`daphne config.asgi:application`), creates a tournament with 20 scored
models, connects N websocket clients to its leaderboard (each resumes and receives its
snapshot), then pushes updates the way a Celery worker does, from a process of its own — a
score changes, then `live.publish.leaderboard_publish` diffs, stores and sends through
channels-redis — and measures,
per update, how many clients received it and the delivery latency from the start of the
publish to each client's receipt. Prints the figures (and one JSON line); stops everything.

Clients and server share this machine's cores, so the latencies include the clients' own
time to read N frames: they are an upper bound on what remote browsers would see.
Traffic goes only to 127.0.0.1; the run is bounded in clients, updates and time.
"""

import argparse
import asyncio
import json
import shutil
import time
from datetime import timedelta

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from tests.load.common import (
    django_for,
    process_cpu_s,
    raise_open_file_limit,
    require_services,
    summary_ms,
    workdir,
)
from tests.production.stack import create_stack

TARGET_P99_MS = 250.0
N_MODELS = 20


def setup_tournament() -> tuple[int, int, list[int]]:
    """A tournament whose round 1 is scoring, with N_MODELS scored models; first publish done."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from live import publish
    from tournaments.models import ModelSlot, Round, RoundState, Score
    from tournaments.services.tournaments import tournament_create

    now = timezone.now()
    sponsor = User.objects.create_user(username="load-sponsor", password=None)
    tournament = tournament_create(
        sponsor=sponsor, name="Load Leaderboard", slug="load-board",
        first_round_at=now - timedelta(hours=2), score_days=4,
    )
    rnd = Round.objects.create(
        tournament=tournament, number=1, state=RoundState.SCORING, scored_days=1,
        opens_at=now - timedelta(hours=2), closes_at=now - timedelta(hours=1),
        resolves_at=now + timedelta(days=3), rules=tournament.rules_snapshot(),
    )
    model_ids = []
    for i in range(N_MODELS):
        owner = User.objects.create_user(username=f"load-modeler-{i:02d}", password=None)
        model = ModelSlot.objects.create(owner=owner, tournament=tournament, name=f"model-{i:02d}", stake=10**18 * (i + 1))
        Score.objects.create(round=rnd, model=model, day=1, corr=0.001 * i, mmc=0.0, computed_at=now)
        model_ids.append(model.id)
    publish.leaderboard_publish(tournament_id=tournament.id, reason="setup")
    return tournament.id, rnd.id, model_ids


def bump_score(round_id: int, model_id: int, corr: float) -> None:
    from tournaments.models import Score

    Score.objects.filter(round_id=round_id, model_id=model_id).update(corr=corr)


PUSHED: list[float] = []  # perf_counter when the publish handed its messages to the layer


def publisher_child() -> None:
    """`--publisher-child`: the publishing side, in a process of its own as a Celery worker
    is, so its work does not compete with the subscribers' receive stamps for one GIL. Reads
    one JSON request per line, changes the score and publishes; answers with the version
    and its perf_counter stamps (CLOCK_MONOTONIC: comparable across processes on Linux)."""
    import sys

    import django

    django.setup()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        bump_score(request["round_id"], request["model_id"], request["corr"])
        t0 = time.perf_counter()
        version = publish(request["tournament_id"])
        t1 = time.perf_counter()
        pushed = PUSHED.pop() if PUSHED else t1
        print(json.dumps({"version": version, "t0": t0, "pushed": pushed, "t1": t1}), flush=True)


class Publisher:
    """The parent's handle on the publisher process."""

    def __init__(self, stack):
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.load.websockets", "--publisher-child"],
            env=stack.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def publish(self, **request) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def publish(tournament_id: int) -> int | None:
    from live import publish as feed

    deliver = feed.deliver

    def timed(messages):
        # Measurement only: note when the push starts, then deliver exactly as always.
        PUSHED.append(time.perf_counter())
        deliver(messages)

    feed.deliver = timed
    try:
        return feed.leaderboard_publish(tournament_id=tournament_id, reason="scored")
    finally:
        feed.deliver = deliver


class Client(asyncio.Protocol):
    """One subscriber: the `websockets` package's sans-I/O protocol on a bare asyncio
    connection, so the receipt time is stamped when the bytes arrive (before any parsing),
    not after 999 other clients' frames have been decoded in the same process."""

    def __init__(self, uri: str, origin: str):
        self.protocol = ClientProtocol(parse_uri(uri), origin=origin)
        self.received: dict[int, float] = {}  # version → perf_counter at arrival
        self.synced = asyncio.Event()
        self.started = time.perf_counter()
        self.connect_s: float | None = None
        self.error: str | None = None
        self.transport = None
        self.defer = False
        self.pending: list[tuple[float, bytes]] = []

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.protocol.send_request(self.protocol.connect())
        self.flush()

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        if self.defer:
            # While an update fans out, only stamp and keep the bytes: parsing 1,000 frames
            # in these callbacks would delay the stamps of the sockets read after them.
            self.pending.append((at, data))
            return
        self.feed(at, data)

    def process_pending(self) -> None:
        pending, self.pending = self.pending, []
        for at, data in pending:
            self.feed(at, data)

    def feed(self, at: float, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if event.status_code != 101:
                    self.fail(f"handshake answered {event.status_code}")
                    return
                self.protocol.send_text(json.dumps({"type": "resume", "since": 0}).encode())
            elif isinstance(event, Frame) and event.opcode == Opcode.TEXT:
                message = json.loads(event.data)
                if message["type"] == "update":
                    self.received[message["version"]] = at
                elif message["type"] == "synced":
                    self.connect_s = at - self.started
                    self.synced.set()
            elif isinstance(event, Frame) and event.opcode == Opcode.CLOSE:
                self.fail(f"closed by the server ({self.protocol.close_code})")
        self.flush()

    def connection_lost(self, exc) -> None:
        if not self.synced.is_set():
            self.fail(f"connection lost: {exc}")

    def fail(self, why: str) -> None:
        self.error = self.error or why
        self.synced.set()

    def flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.protocol.send_close()
            self.flush()
            self.transport.close()


async def connect_client(loop, client: Client, port: int, gate: asyncio.Semaphore) -> None:
    async with gate:
        client.started = time.perf_counter()
        try:
            await loop.create_connection(lambda: client, "127.0.0.1", port)
            await asyncio.wait_for(client.synced.wait(), timeout=60)
        except Exception as exc:  # noqa: BLE001 - counted and reported, not fatal to the run
            client.fail(f"{type(exc).__name__}: {exc}")


async def drive(
    stack, ports: list[int], tournament_id: int, round_id: int, model_ids: list[int],
    n_clients: int, n_updates: int, publisher: Publisher, server: str,
) -> dict:
    loop = asyncio.get_running_loop()
    path = "/ws/tournaments/load-board/leaderboard/"
    # Clients spread round-robin over the ASGI processes, as a proxy in front would.
    clients = [
        Client(f"ws://127.0.0.1:{ports[i % len(ports)]}{path}", f"http://127.0.0.1:{ports[i % len(ports)]}")
        for i in range(n_clients)
    ]
    servers = stack.server_pids(server)  # uvicorn: its supervisor and workers
    gate = asyncio.Semaphore(100)  # handshakes in flight: a browser crowd, not a SYN flood
    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(
            *(connect_client(loop, c, ports[i % len(ports)], gate) for i, c in enumerate(clients))
        ),
        timeout=300,
    )
    connect_all_s = time.perf_counter() - started
    connected = [c for c in clients if c.error is None and c.connect_s is not None]
    errors = [c.error for c in clients if c.error]
    await asyncio.sleep(1.0)  # let the server settle after the connection burst

    updates = []
    for i in range(n_updates):
        for c in connected:
            c.defer = True
        cpu0 = sum(process_cpu_s(pid) for pid in servers)
        # The last-ranked model jumps to the top: every row's rank changes.
        stamps = await asyncio.to_thread(
            publisher.publish, tournament_id=tournament_id, round_id=round_id,
            model_id=model_ids[i % len(model_ids)], corr=0.1 + 0.01 * i,
        )
        version, t0, t1, pushed = stamps["version"], stamps["t0"], stamps["t1"], stamps["pushed"]
        deadline = time.perf_counter() + 10.0
        # Parse nothing until every client has bytes waiting (or time is up): parsing in
        # this loop would hold back the arrival stamps of the sockets not yet read.
        while not all(c.pending for c in connected) and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        while True:
            for c in connected:
                c.process_pending()
            done = sum(version in c.received for c in connected)
            if done == len(connected) or time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.005)
        for c in connected:
            c.defer = False
        got = [c.received[version] - t0 for c in connected if version in c.received]
        cpu = sum(process_cpu_s(pid) for pid in servers) - cpu0
        from_push = [c.received[version] - pushed for c in connected if version in c.received]
        updates.append(
            {
                "version": version,
                "received": len(got),
                "subscribers": len(connected),
                "publish_ms": round((t1 - t0) * 1000, 1),
                "push_ms": round((t1 - pushed) * 1000, 1),
                "latency": summary_ms(got),
                "latency_from_push": summary_ms(from_push),
                "server_cpu_ms": round(cpu * 1000),
            }
        )
        await asyncio.sleep(0.5)

    for c in clients:
        c.close()
    await asyncio.sleep(0.5)
    return {
        "clients": n_clients,
        "connected": len(connected),
        "connect_errors": errors[:5],
        "connect_all_s": round(connect_all_s, 2),
        "connect_and_snapshot": summary_ms([c.connect_s for c in connected]),
        "updates": updates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument(
        "--servers", type=int, default=1,
        help="server processes sharing the subscribers (the target is for 1; more shows scale-out)",
    )
    parser.add_argument(
        "--server", choices=["uvicorn", "daphne"], default="uvicorn",
        help="the ASGI server: uvicorn (README, Production) or daphne",
    )
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs and files")
    parser.add_argument("--publisher-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher_child:
        publisher_child()
        return
    if not 1 <= args.clients <= 5000 or not 1 <= args.updates <= 20 or not 1 <= args.servers <= 8:
        parser.error("--clients 1..5000, --updates 1..20 and --servers 1..8 keep the run bounded")
    limit = raise_open_file_limit(2 * args.clients + 1024)
    require_services()
    work = workdir("websockets")
    # Every subscriber connects from 127.0.0.1: lift the per-address socket limit.
    stack = create_stack(work, extra_env={"ARENA_WS_MAX_PER_ADDRESS": "0"})
    try:
        # daphne: a process per port, spread round-robin; uvicorn: its workers share one port.
        ports = stack.start_servers(args.server, args.servers)
        stack.wait_http(ports=ports)
        django_for(stack)
        tournament_id, round_id, model_ids = setup_tournament()
        publisher = Publisher(stack)
        for k in range(2):
            # Warm the publisher (imports, connections, query paths) before anyone listens:
            # a worker that has been running for a while is warm, too.
            publisher.publish(
                tournament_id=tournament_id, round_id=round_id, model_id=model_ids[-1 - k],
                corr=-0.05 - 0.01 * k,
            )
        try:
            result = asyncio.run(
                drive(
                    stack, ports, tournament_id, round_id, model_ids, args.clients, args.updates,
                    publisher, args.server,
                )
            )
        finally:
            publisher.stop()
        stack.check_alive()
    finally:
        stack.stop()
        if args.keep:
            print(f"process logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    where = f"one {args.server} process" if args.servers == 1 else f"{args.servers} {args.server} processes"
    print(f"Live leaderboard fan-out: {args.clients} subscribers on {where} "
          f"(PostgreSQL + channels-redis), open-file limit {limit}")
    c = result["connect_and_snapshot"]
    print(f"  connected and synced: {result['connected']}/{args.clients} in {result['connect_all_s']} s "
          f"(per client p50 {c.get('p50_ms')} ms, p99 {c.get('p99_ms')} ms)")
    if result["connect_errors"]:
        print(f"  connect errors (first): {result['connect_errors']}")
    ok = result["connected"] == args.clients
    for u in result["updates"]:
        lat = u["latency"]
        hit = u["received"] == u["subscribers"] and lat.get("p99_ms", 1e9) <= TARGET_P99_MS
        ok = ok and hit
        push = u["latency_from_push"]
        print(f"  update v{u['version']}: received by {u['received']}/{u['subscribers']}; "
              f"from publish start (diff, store, push) p50 {lat.get('p50_ms')} ms, "
              f"p99 {lat.get('p99_ms')} ms, max {lat.get('max_ms')} ms; "
              f"from push p50 {push.get('p50_ms')} ms, p99 {push.get('p99_ms')} ms; "
              f"publish {u['publish_ms']} ms (its push {u['push_ms']} ms), {args.server} CPU {u['server_cpu_ms']} ms  "
              f"[{'ok' if hit else 'MISSED'}]")
    print(f"  target (all receive, p99 <= {TARGET_P99_MS:.0f} ms): {'met' if ok else 'MISSED'}")
    print(json.dumps({"server": args.server, **result}))


if __name__ == "__main__":
    main()
