"""Instructions the server process spends per upload, counted by valgrind (callgrind).

    python -m tests.load.instructions [--uploads 30] [--without push|touch] [--keep-profile FILE]

Timings on this project's shared two-core machine vary by 20–30 % from one run to the next
(docs/performance.md), which hides a change worth 5 %. Instructions do not vary with the
machine: this script prepares a round and sealed uploads on a fresh production-profile
database (as tests.load.uploads does), then drives the ASGI application in a process of its
own under `valgrind --tool=callgrind`, with counting switched on only for the measured
uploads (after three to warm up), and prints instructions per upload. The uploads go
through the same ASGI application an ASGI server runs (Django's handler, the upload lane,
PostgreSQL, the blob store, the private refresh over Redis), without the HTTP server and its
sockets. SHA-256 is shown apart: under valgrind OpenSSL runs it without the CPU's SHA
instructions, so it counts ~4 M instructions per 137 KiB envelope that take ~0.08 ms natively.

`--without push` or `--without touch` switches off the private refresh's push or the API
key's last-use update in the measured process, to count what each costs.
"""

import argparse
import asyncio
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.load.common import django_for, require_services, workdir
from tests.load.uploads import SLUG, seal_uploads, setup_round
from tests.production.stack import create_stack

ROOT = Path(__file__).resolve().parents[2]
WARM_UPLOADS = 3
SIGNAL_POLL_S = 0.05


# --- The measured process ------------------------------------------------------------------


def _scope(upload: dict) -> dict:
    """The ASGI scope of the upload as `arena submit` sends it (the envelope as the body)."""
    body = upload["data"]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": f"/api/models/{upload['model_id']}/submissions", "raw_path": b"",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {upload['key']}".encode()),
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(body)).encode()),
            (b"content-disposition", f'attachment; filename="{upload["filename"]}"'.encode()),
        ],
    }


async def _upload(application, upload: dict) -> None:
    requested = False

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": upload["data"], "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects

    sent = []

    async def send(message: dict) -> None:
        sent.append(message)

    await application(_scope(upload), receive, send)
    if sent[0]["status"] != 201:
        raise SystemExit(f"upload refused: {sent[0]['status']} {sent[1]['body'][:300]!r}")


async def _wait_for(path: Path) -> None:
    while not path.exists():
        await asyncio.sleep(SIGNAL_POLL_S)


def _switch_off(part: str | None) -> None:
    if part == "push":
        from tournaments import signals

        # live/receivers.py connects each receiver under a dispatch_uid.
        assert signals.submission_changed.disconnect(dispatch_uid="live.submission_changed")
    elif part == "touch":
        from tournaments.apis import upload_lane

        upload_lane.api_key_touch = lambda api_key: None


def drive(work: Path) -> None:
    """Run in the measured process: warm up, say so, wait for counting to be switched on,
    upload, say so, wait to be told to exit."""
    prepared = pickle.loads((work / "uploads.pickle").read_bytes())
    os.environ.update(prepared["env"])
    from config.asgi import application

    _switch_off(prepared["without"])

    async def run() -> None:
        uploads = prepared["uploads"]
        for upload in uploads[:WARM_UPLOADS]:
            await _upload(application, upload)
        (work / "ready").touch()
        await _wait_for(work / "go")
        for upload in uploads[WARM_UPLOADS:]:
            await _upload(application, upload)
        await asyncio.sleep(0.2)  # the private refreshes' pushes, handed to this loop
        (work / "done").touch()
        await _wait_for(work / "exit")

    asyncio.run(run())


# --- The measuring process -----------------------------------------------------------------


def _wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise SystemExit(f"the measured process exited ({proc.returncode}) before {path.name}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path.name}")
        time.sleep(SIGNAL_POLL_S * 4)


def _totals(profile: Path) -> tuple[int, int]:
    """All instructions in a callgrind profile, and those in libcrypto (SHA-256 here)."""
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(profile)],
        capture_output=True, text=True, check=True,
    ).stdout
    total = int(re.search(r"^([\d,]+) .*PROGRAM TOTALS", text, re.M).group(1).replace(",", ""))
    crypto = sum(
        int(m.group(1).replace(",", ""))
        for m in re.finditer(r"^\s*([\d,]+) \([^\n]*libcrypto\.so", text, re.M)
    )
    return total, crypto


def measure(work: Path, env: dict) -> tuple[int, int]:
    out = work / "callgrind.out"
    with open(work / "valgrind.log", "wb") as log:
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
             sys.executable, "-m", "tests.load.instructions", "--drive", str(work)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
    try:
        _wait_for_file(work / "ready", proc)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
        (work / "go").touch()
        _wait_for_file(work / "done", proc)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        (work / "exit").touch()
        proc.wait(timeout=120)
    return _totals(Path(f"{out}.1"))  # the dump taken when the uploads were done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--without", choices=["push", "touch"], default=None)
    parser.add_argument("--keep-profile", type=Path, default=None,
                        help="copy the callgrind profile here (for callgrind_annotate --inclusive=yes)")
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive)
        return
    if not 1 <= args.uploads <= 200 or not 10 <= args.rows <= 100_000:
        parser.error("--uploads 1..200 and --rows 10..100000 keep the run bounded")
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (Debian package valgrind)")
    require_services()
    work = workdir("instructions")
    stack = create_stack(work)
    try:
        django_for(stack)
        ids, modelers = setup_round(args.uploads + WARM_UPLOADS, args.rows)
        from tournaments.models import Round

        public_key = Round.objects.get(tournament__slug=SLUG, number=1).round_key.public_key
        seal_uploads({"tournament": SLUG, "number": 1, "public_key": public_key}, modelers, ids)
        (work / "uploads.pickle").write_bytes(
            pickle.dumps({"env": stack.env, "uploads": modelers, "without": args.without})
        )
        total, crypto = measure(work, {**os.environ, **stack.env})
        if args.keep_profile:
            shutil.copyfile(work / "callgrind.out.1", args.keep_profile)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    per_upload = total / args.uploads
    sha = crypto / args.uploads
    print(f"Instructions per upload, server process, {args.uploads} uploads of {args.rows} rows "
          f"({len(modelers[0]['data']) / 1024:.0f} KiB sealed) driven in-process under callgrind"
          f"{f', without the {args.without}' if args.without else ''}:")
    print(f"  {per_upload / 1e6:.2f} M in all; {sha / 1e6:.2f} M of them in libcrypto (SHA-256 without "
          f"SHA-NI under valgrind); {(per_upload - sha) / 1e6:.2f} M without it")
    print(json.dumps({"uploads": args.uploads, "rows": args.rows, "without": args.without,
                      "instructions_per_upload": round(per_upload), "libcrypto_per_upload": round(sha)}))


if __name__ == "__main__":
    main()
