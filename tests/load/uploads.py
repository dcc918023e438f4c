"""Concurrent prediction uploads against the production profile.

    python -m tests.load.uploads [--uploads 200] [--rows 5000] [--server daphne|uvicorn|both]
                                 [--servers N] [--sequential]

Starts the production profile (fresh PostgreSQL database, its own Redis database, the ASGI
server — uvicorn with N worker processes on one port, or N daphne processes on a port each —
and a Celery worker, on free ports), opens a round whose live data has `--rows` ids, registers
one model (with its own API key) per upload, then sends every upload at once through the HTTP
API — each a distinct predictions file, sealed to the round's public key when the round
publishes one — and measures each request's latency. Afterwards it checks the database and the
blob store: every accepted upload (201) is stored exactly once, under the CID the response
named, with exactly the bytes sent; nothing that was refused was stored. Prints the figures
(and one JSON line), with the CPU the server processes used meanwhile; stops everything.
`--server both` measures daphne, then uvicorn, in the same run (same database and round, each
with its own models and files). `--sequential` sends the same uploads one after another
instead, for the cost of one upload with nothing else going on.

Traffic goes only to 127.0.0.1; the run is bounded in uploads, rows and time.
"""

import argparse
import asyncio
import json
import os
import shutil
import time
from datetime import timedelta

import httpx

from tests.builders import csv_bytes, make_frame, predictions_csv
from tests.load import rawhttp
from tests.load.common import (
    MachineSampler,
    cpu_used_since,
    django_for,
    process_cpu_s,
    processes_cpu_s,
    raise_open_file_limit,
    require_services,
    summary_ms,
    workdir,
)
from tests.production.stack import create_stack

TARGET_P99_MS = 1000.0
SLUG = "load-uploads"


def default_servers() -> int:
    """One ASGI process per core, as README's Production section runs them: each process
    serves requests under one GIL, so a CPU-bound burst needs one per core."""
    return max(1, min(8, os.cpu_count() or 1))


def setup_round(n_models: int, n_rows: int) -> tuple[list[str], list[dict]]:
    """An open round with `n_rows` live ids, and `n_models` modelers with a model and a key."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from accounts.services import api_key_create
    from tournaments.services.datasets import dataset_upload
    from tournaments.services.lifecycle import round_open, round_schedule_next
    from tournaments.services.model_slots import model_create
    from tournaments.services.tournaments import tournament_create

    now = timezone.now()
    sponsor = User.objects.create_user(username="load-sponsor", password=None)
    tournament = tournament_create(
        sponsor=sponsor, name="Load Uploads", slug=SLUG, first_round_at=now - timedelta(minutes=1),
        round_interval=timedelta(days=1), submission_window=timedelta(hours=2),
    )
    rnd = round_schedule_next(tournament=tournament, now=now)
    live = make_frame(n=n_rows, with_target=False, seed=3, prefix="live")
    dataset_upload(tournament=tournament, by=sponsor, kind="live", round=rnd, data=csv_bytes(live), filename="live.csv")
    round_open(round=rnd, now=now)
    modelers = []
    for i in range(n_models):
        owner = User.objects.create_user(username=f"uploader-{i:03d}", password=None)
        model = model_create(owner=owner, tournament=tournament, name=f"upload-model-{i:03d}")
        key = api_key_create(user=owner, name="load", scopes=["submit", "read"]).raw_key
        modelers.append({"model_id": model.id, "key": key})
    return live["id"].tolist(), modelers


def seal_uploads(round_info: dict, modelers: list[dict], ids: list[str]) -> None:
    """Each modeler's file, prepared before the clock starts (a client seals locally)."""
    public_key = round_info.get("public_key")
    for i, m in enumerate(modelers):
        csv = predictions_csv(ids, seed=1000 + i)  # distinct content: distinct CIDs
        if public_key:
            from arena_client.sealing import seal, submission_info

            info = submission_info(round_info["tournament"], round_info["number"], m["model_id"])
            m["data"], m["filename"] = seal(csv, bytes.fromhex(public_key), info), "predictions.csv.sealed"
        else:
            m["data"], m["filename"] = csv, "predictions.csv"
        m["sealed"] = bool(public_key)


def _raw_request(port: int, m: dict) -> bytes:
    """The upload as arena_client.api.submit sends it (the envelope as the raw body), as
    bytes ready to write."""
    return rawhttp.build_request(
        "POST", f"127.0.0.1:{port}", f"/api/models/{m['model_id']}/submissions",
        {"Authorization": f"Bearer {m['key']}", "Content-Type": "application/octet-stream",
         "Content-Disposition": f'attachment; filename="{m["filename"]}"'},
        m["data"],
    )


async def _send_httpx(client: httpx.AsyncClient, port: int, m: dict) -> None:
    url = f"http://127.0.0.1:{port}/api/models/{m['model_id']}/submissions"
    auth = {"Authorization": f"Bearer {m['key']}"}
    if m["sealed"]:
        response = await client.post(url, content=m["data"], headers=auth | {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{m["filename"]}"',
        })
    else:
        response = await client.post(url, headers=auth, files={"file": (m["filename"], m["data"])})
    m["status"] = response.status_code
    json_body = response.headers.get("content-type", "").startswith("application/json")
    m["body"] = response.json() if json_body else response.text[:300]


async def upload_all(
    ports: list[int], modelers: list[dict], servers: list[int], sequential: bool = False,
    client_kind: str = "raw",
) -> dict:
    """Send every upload (at once, or one by one with `sequential`) and time each.
    `client_kind` "raw" writes prepared bytes (tests/load/rawhttp.py), "httpx" uses httpx;
    both open one connection per upload, spread round-robin over `ports` as a proxy would."""
    limits = httpx.Limits(max_connections=len(modelers), max_keepalive_connections=0)
    use_raw = client_kind == "raw" and all(m["sealed"] for m in modelers)
    prepared = [_raw_request(ports[i % len(ports)], m) if use_raw else None for i, m in enumerate(modelers)]
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        start = asyncio.Event()

        async def one(i: int, m: dict) -> None:
            await start.wait()
            port = ports[i % len(ports)]
            t0 = time.perf_counter()
            try:
                if use_raw:
                    response = await rawhttp.send("127.0.0.1", port, prepared[i])
                    m["status"] = response.status
                    json_body = response.headers.get("content-type", "").startswith("application/json")
                    m["body"] = response.json() if json_body else response.body[:300].decode(errors="replace")
                else:
                    await _send_httpx(client, port, m)
            except (TimeoutError, httpx.HTTPError, OSError, asyncio.IncompleteReadError) as exc:
                m["status"], m["body"] = None, f"{type(exc).__name__}: {exc}"
            m["latency"] = time.perf_counter() - t0

        sampler = MachineSampler()

        def cpu_now() -> tuple[dict[int, float], float, dict[int, float]]:
            return ({pid: process_cpu_s(pid) for pid in servers}, time.process_time(),
                    processes_cpu_s("postgres"))

        if sequential:
            # One at a time: what one upload costs the server, with nothing else going on.
            start.set()
            (server_cpu0, client_cpu0, database_cpu0), began = cpu_now(), time.perf_counter()
            for i, m in enumerate(modelers):
                await one(i, m)
        else:
            tasks = [asyncio.create_task(one(i, m)) for i, m in enumerate(modelers)]
            await asyncio.sleep(0.2)  # every request is ready; then they all go at once
            with sampler:
                (server_cpu0, client_cpu0, database_cpu0), began = cpu_now(), time.perf_counter()
                start.set()
                await asyncio.gather(*tasks)
        wall = time.perf_counter() - began
        server_cpu1, client_cpu1, database_cpu1 = cpu_now()
        return {
            "wall_s": wall,
            "server_cpu_s": cpu_used_since(server_cpu0, server_cpu1),
            # How evenly the burst spread over the server processes (uvicorn's workers share
            # one listening socket; daphne's ports are chosen round-robin).
            # Processes that used no CPU (uvicorn's supervisor serves nothing) are left out.
            "server_cpu_by_process_s": sorted(
                (cpu for cpu in (round(server_cpu1[pid] - server_cpu0.get(pid, 0.0), 2) for pid in server_cpu1)
                 if cpu > 0),
                reverse=True,
            ),
            "client_cpu_s": client_cpu1 - client_cpu0,
            "database_cpu_s": cpu_used_since(database_cpu0, database_cpu1),
            "client": "raw" if use_raw else "httpx",
            "machine": sampler.summary(),
        }


def verify(modelers: list[dict]) -> dict:
    """Accepted uploads stored exactly once with the bytes sent; refused ones not at all."""
    from arena_client.cid import cid_for_bytes

    from tournaments.blobs import blob_store
    from tournaments.models import Submission

    rows = list(
        Submission.objects.filter(round__tournament__slug=SLUG, model_id__in=[m["model_id"] for m in modelers])
        .values("id", "model_id", "cid")
    )
    by_model: dict[int, list[dict]] = {}
    for row in rows:
        by_model.setdefault(row["model_id"], []).append(row)
    accepted = [m for m in modelers if m["status"] == 201]
    lost, duplicated, mismatched, unexpected = [], [], [], []
    for m in accepted:
        stored = by_model.get(m["model_id"], [])
        if not stored:
            lost.append(m["model_id"])
        elif len(stored) > 1:
            duplicated.append(m["model_id"])
        else:
            row = stored[0]
            blob = blob_store().get(row["cid"])
            if (row["id"], row["cid"]) != (m["body"]["id"], m["body"]["cid"]) or blob != m["data"] or cid_for_bytes(blob) != row["cid"]:
                mismatched.append(m["model_id"])
    for m in modelers:
        if m["status"] != 201 and by_model.get(m["model_id"]):
            unexpected.append(m["model_id"])  # refused, yet stored
    return {
        "stored_rows": len(rows),
        "accepted": len(accepted),
        "lost": lost,
        "duplicated": duplicated,
        "mismatched": mismatched,
        "stored_but_refused": unexpected,
    }


async def warm(ports: list[int], processes: int) -> None:
    """A few rounds of concurrent reads before the clock starts, so every server process
    (uvicorn's workers share one port) has served requests and opened database connections:
    the burst then measures a running server, not its start-up."""
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(3):
            await asyncio.gather(*(
                client.get(f"http://127.0.0.1:{ports[i % len(ports)]}/api/tournaments")
                for i in range(4 * processes)
            ))


def report(args, kind: str, batch: list[dict], burst: dict, check: dict, round_info: dict, limit: int) -> None:
    statuses: dict[str, int] = {}
    for m in batch:
        statuses[str(m["status"])] = statuses.get(str(m["status"]), 0) + 1
    errors = [m["body"] for m in batch if m["status"] != 201][:3]
    latency = summary_ms([m["latency"] for m in batch])
    accepted_latency = summary_ms([m["latency"] for m in batch if m["status"] == 201])
    size = sum(len(m["data"]) for m in batch) / len(batch)
    lost_or_wrong = check["lost"] + check["duplicated"] + check["mismatched"] + check["stored_but_refused"]
    met = not lost_or_wrong and statuses.get("201") == args.uploads and latency["p99_ms"] <= TARGET_P99_MS
    met = met and not args.sequential  # the target is for a simultaneous burst
    where = {
        "daphne": "one daphne process" if args.servers == 1 else f"{args.servers} daphne processes (one port each)",
        "uvicorn": f"uvicorn, {args.servers} worker process{'es' if args.servers > 1 else ''} on one port",
    }[kind]
    per_upload_ms = 1000 * burst["server_cpu_s"] / args.uploads
    print(f"Prediction uploads: {args.uploads} {'one at a time' if args.sequential else 'at once'}, {args.rows} rows each "
          f"({size / 1024:.0f} KiB {'sealed' if round_info.get('public_key') else 'CSV'}), {where} "
          f"(PostgreSQL + Redis), open-file limit {limit}")
    print(f"  statuses: {statuses}; all answered in {burst['wall_s']:.2f} s; CPU meanwhile: {kind} "
          f"{burst['server_cpu_s']:.2f} s ({per_upload_ms:.1f} ms per upload; by process "
          f"{' / '.join(f'{cpu:.2f}' for cpu in burst['server_cpu_by_process_s'])} s), this script's client "
          f"({burst['client']}) {burst['client_cpu_s']:.2f} s, PostgreSQL {burst['database_cpu_s']:.2f} s "
          f"({1000 * burst['database_cpu_s'] / args.uploads:.1f} ms per upload)")
    if burst["machine"]:
        machine = burst["machine"]
        print(f"  machine CPU busy (100 ms windows): mean {machine['mean_cores']} cores, lowest "
              f"{machine['min_cores']}; {machine['stalled_windows']} window(s) under 0.5 cores (stalls)")
    print(f"  latency: p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms, max {latency['max_ms']} ms "
          f"(accepted only: p50 {accepted_latency.get('p50_ms')} ms, p99 {accepted_latency.get('p99_ms')} ms)")
    if errors:
        print(f"  first errors: {errors}")
    print(f"  stored exactly once: {check['accepted'] - len(lost_or_wrong)}/{check['accepted']} accepted "
          f"(lost {len(check['lost'])}, duplicated {len(check['duplicated'])}, wrong bytes/CID "
          f"{len(check['mismatched'])}, stored though refused {len(check['stored_but_refused'])})")
    verdict = "not judged (the target is for uploads at once)" if args.sequential else "met" if met else "MISSED"
    print(f"  target (zero lost, p99 <= {TARGET_P99_MS:.0f} ms): {verdict}")
    print(json.dumps({"server": kind, "uploads": args.uploads, "rows": args.rows, "servers": args.servers,
                      "sequential": args.sequential, "client": burst["client"], "statuses": statuses, "wall_s": round(burst["wall_s"], 2),
                      "server_cpu_s": round(burst["server_cpu_s"], 2), "server_cpu_ms_per_upload": round(per_upload_ms, 1),
                      "server_cpu_by_process_s": burst["server_cpu_by_process_s"],
                      "client_cpu_s": round(burst["client_cpu_s"], 2),
                      "database_cpu_s": round(burst["database_cpu_s"], 2), "machine": burst["machine"], "latency": latency,
                      "accepted_latency": accepted_latency, "check": check, "met": met}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument(
        "--server", choices=["daphne", "uvicorn", "both"], default="daphne",
        help="the ASGI server for HTTP; 'both' measures daphne, then uvicorn, in the same run "
        "(same database and round, each with its own models)",
    )
    parser.add_argument(
        "--servers", type=int, default=None,
        help="server processes sharing the uploads: daphne processes (one port each, spread "
        "round-robin as a proxy would) or uvicorn workers (default: one per core, "
        f"{default_servers()} here)",
    )
    parser.add_argument(
        "--sequential", action="store_true",
        help="send the uploads one after another (per-upload cost) instead of all at once",
    )
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw",
        help="'raw' writes each prepared request to its own connection (tests/load/rawhttp.py: "
        "least client CPU on the servers' cores); 'httpx' sends them with httpx",
    )
    parser.add_argument("--keep", action="store_true", help="keep the processes' logs and files")
    args = parser.parse_args()
    if args.servers is None:
        args.servers = default_servers()
    if not 1 <= args.uploads <= 1000 or not 10 <= args.rows <= 100_000 or not 1 <= args.servers <= 8:
        parser.error("--uploads 1..1000, --rows 10..100000 and --servers 1..8 keep the run bounded")
    kinds = ["daphne", "uvicorn"] if args.server == "both" else [args.server]
    limit = raise_open_file_limit(4 * args.uploads + 1024)
    require_services()
    work = workdir("uploads")
    stack = create_stack(work)
    results = []
    try:
        stack.start_worker()
        stack.wait_worker()
        django_for(stack)
        ids, all_modelers = setup_round(args.uploads * len(kinds), args.rows)
        round_info = None
        for k, kind in enumerate(kinds):
            ports = stack.start_servers(kind, args.servers)
            stack.wait_http(ports=ports)
            if round_info is None:
                round_info = httpx.get(f"http://127.0.0.1:{ports[0]}/api/tournaments/{SLUG}/rounds/1", timeout=30).json()
                seal_uploads(round_info, all_modelers, ids)
            asyncio.run(warm(ports, args.servers))
            batch = all_modelers[k * args.uploads:(k + 1) * args.uploads]
            pids = stack.server_pids(kind)
            burst = asyncio.run(upload_all(ports, batch, pids, args.sequential, args.client))
            stack.check_alive()
            results.append((kind, batch, burst, verify(batch)))
            for name in [name for name in stack.procs if name.startswith(kind)]:
                stack.stop_process(name)
    finally:
        stack.stop()
        if args.keep:
            print(f"process logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    for kind, batch, burst, check in results:
        report(args, kind, batch, burst, check, round_info, limit)


if __name__ == "__main__":
    main()
